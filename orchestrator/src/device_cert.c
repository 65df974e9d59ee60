/* SPDX-License-Identifier: Apache-2.0 */
/* A device's certificate: read, checked against the device CA before the registry keeps it,
 * and its public key for wrapping content keys. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "fota/limits.h"
#include "fota/timeutil.h"

#include "device_cert.h"

fota_err orch_device_cert_read(const char *path, char *pem, size_t cap, struct fota_error *err)
{
	FILE *fp = fopen(path, "r");
	size_t n;
	fota_err rc = FOTA_OK;

	pem[0] = '\0';
	if (!fp)
		return fota_error_set(err, FOTA_ERR_IO, "cannot open certificate %s", path);
	n = fread(pem, 1, cap - 1, fp);
	if (ferror(fp))
		rc = fota_error_set(err, FOTA_ERR_IO, "cannot read certificate %s", path);
	else if (n == cap - 1 && fgetc(fp) != EOF)
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "certificate %s is over %zu bytes", path,
				    cap - 1);
	pem[rc == FOTA_OK ? n : 0] = '\0';
	fclose(fp);
	return rc;
}

/* The one certificate of pem: the registry keeps a device's own certificate, and any
 * intermediate CA belongs in the device CA file. */
static fota_err parse_pem(const char *pem, X509 **leaf, struct fota_error *err)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *more = NULL;
	fota_err rc = FOTA_OK;

	*leaf = NULL;
	if (!b)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	*leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!*leaf)
		rc = fota_error_set(err, FOTA_ERR_FIELD, "not a PEM certificate");
	else if ((more = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "more than one certificate (give the device's own; "
				    "intermediate CAs go in the device CA file)");
	if (rc) {
		X509_free(*leaf);
		*leaf = NULL;
	}
	X509_free(more);
	ERR_clear_error();
	BIO_free(b);
	return rc;
}

static bool is_p256(X509 *cert)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	char curve[32];

	return pk && EVP_PKEY_is_a(pk, "EC") &&
	       EVP_PKEY_get_utf8_string_param(pk, "group", curve, sizeof(curve), NULL) == 1 &&
	       strcmp(curve, "prime256v1") == 0;
}

fota_err orch_device_cert_check(const char *pem, const char *ca_path, const char *id, int64_t now,
				struct fota_error *err)
{
	X509 *leaf = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	char cn[256];
	fota_err rc;

	rc = parse_pem(pem, &leaf, err);
	if (rc)
		goto out;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn,
				      (int)sizeof(cn)) < 0)
		cn[0] = '\0';
	if (strcmp(cn, id) != 0) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "the certificate's CN '%s' is not the device id '%s'", cn, id);
		goto out;
	}
	if (!is_p256(leaf)) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "the certificate's key is not EC P-256 (content keys are "
				    "wrapped to it with ECDH-ES)");
		goto out;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!store || !ctx) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (X509_STORE_load_file(store, ca_path) != 1) {
		rc = fota_error_set(err, FOTA_ERR_IO, "cannot read the device CA %s", ca_path);
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
		goto out;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
	if (X509_verify_cert(ctx) != 1) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "the certificate does not verify against %s: %s", ca_path,
				    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	return rc;
}

fota_err orch_device_cert_pubkey(const char *pem, EVP_PKEY **out, struct fota_error *err)
{
	X509 *leaf = NULL;
	fota_err rc = parse_pem(pem, &leaf, err);

	*out = NULL;
	if (rc == FOTA_OK && !(*out = X509_get_pubkey(leaf)))
		rc = fota_error_set(err, FOTA_ERR_FIELD, "the certificate has no usable key");
	X509_free(leaf);
	return rc;
}

fota_err orch_device_cert_describe(const char *pem, char *out, size_t size, struct fota_error *err)
{
	X509 *leaf = NULL;
	fota_err rc = parse_pem(pem, &leaf, err);
	char cn[FOTA_MAX_SEGMENT_LEN + 1] = "", t[FOTA_TIME_STR_LEN] = "?";
	struct tm tm;

	out[0] = '\0';
	if (rc)
		return rc;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn,
				      (int)sizeof(cn)) < 0)
		cn[0] = '\0';
	if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1)
		fota_time_format((int64_t)timegm(&tm), t);
	snprintf(out, size, "CN %s, valid until %s", cn, t);
	X509_free(leaf);
	return FOTA_OK;
}
