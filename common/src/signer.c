/* SPDX-License-Identifier: Apache-2.0 */
/* Signing side of the envelope: private keys and JWS JSON serialization output; only the
 * orchestrator and the signing tool link it. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "fota/b64url.h"
#include "fota/limits.h"
#include "fota/signer.h"
#include "keys.h"

struct fota_signer {
	EVP_PKEY *key;
	enum fota_alg alg;
	char kid[FOTA_MAX_KID_LEN + 1];
};

/* File name without directory and extension: the default key id of a PEM file. */
static void kid_from_path(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/');
	const char *dot;
	size_t len;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (len >= n)
		len = n - 1;
	memcpy(out, base, len);
	out[len] = '\0';
}

/* cJSON keeps its own copies of strings; the private scalar must not outlive the tree. */
static void jwk_wipe(cJSON *jwk)
{
	cJSON *d = cJSON_GetObjectItemCaseSensitive(jwk, "d");

	if (cJSON_IsString(d))
		OPENSSL_cleanse(d->valuestring, strlen(d->valuestring));
}

fota_err fota_signer_load(const char *path, const char *kid, struct fota_signer **out,
			  struct fota_error *err)
{
	struct fota_signer *signer = NULL;
	char *text = NULL, default_kid[FOTA_MAX_KID_LEN + 2];
	const char *p;
	size_t len = 0;
	cJSON *jwk = NULL;
	fota_err rc;

	if (path == NULL || out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "signer load: invalid argument");
	*out = NULL;
	rc = fota__file_read(path, FOTA_MAX_KEY_FILE_BYTES, &text, &len, err);
	if (rc != FOTA_OK)
		return rc;
	signer = calloc(1, sizeof(*signer));
	if (signer == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory loading %s", path);
		goto out;
	}
	kid_from_path(path, default_kid, sizeof(default_kid));
	for (p = text; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
		;
	if (*p == '{') {
		const cJSON *kid_item;

		jwk = cJSON_ParseWithLength(text, len);
		if (jwk == NULL) {
			rc = fota_error_set(err, FOTA_ERR_PARSE, "%s: JWK is not valid JSON", path);
			goto out;
		}
		rc = fota__key_from_jwk(jwk, FOTA__KEY_PRIVATE, &signer->key, err);
		if (rc != FOTA_OK) {
			fota_error_prefix(err, path);
			goto out;
		}
		kid_item = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
		if (kid == NULL && cJSON_IsString(kid_item))
			kid = kid_item->valuestring;
	} else {
		rc = fota__key_from_pem(text, len, FOTA__KEY_PRIVATE, &signer->key, err);
		if (rc != FOTA_OK) {
			fota_error_prefix(err, path);
			goto out;
		}
	}
	if (kid == NULL)
		kid = default_kid;
	if (!fota__kid_valid(kid)) {
		char shown[48];

		rc = fota_error_set(err, FOTA_ERR_FIELD, "%s: key id '%s' invalid", path,
				    fota__printable(kid, shown, sizeof(shown)));
		goto out;
	}
	memcpy(signer->kid, kid, strlen(kid) + 1);
	rc = fota__key_alg(signer->key, &signer->alg, err);
	if (rc != FOTA_OK)
		goto out;
	*out = signer;
	signer = NULL;
out:
	if (jwk != NULL) {
		jwk_wipe(jwk);
		cJSON_Delete(jwk);
	}
	OPENSSL_cleanse(text, len);
	free(text);
	fota_signer_free(signer);
	return rc;
}

void fota_signer_free(struct fota_signer *signer)
{
	if (signer == NULL)
		return;
	/* EVP_PKEY_free clears the private scalar itself. */
	EVP_PKEY_free(signer->key);
	OPENSSL_cleanse(signer, sizeof(*signer));
	free(signer);
}

enum fota_alg fota_signer_alg(const struct fota_signer *signer)
{
	return signer->alg;
}

const char *fota_signer_kid(const struct fota_signer *signer)
{
	return signer->kid;
}

/* Produces the raw JWS signature: R||S for ES256 (RFC 7518 3.4), the 64 bytes for Ed25519. */
static fota_err sign_raw(const struct fota_signer *signer, const uint8_t *msg, size_t len,
			 uint8_t out[FOTA__MAX_SIG_LEN], struct fota_error *err)
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	unsigned char *buf = NULL;
	size_t sig_len = 0;
	fota_err rc = FOTA_OK;

	md = EVP_MD_CTX_new();
	if (md == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory signing");
		goto out;
	}
	if (EVP_DigestSignInit_ex(md, NULL, signer->alg == FOTA_ALG_ES256 ? "SHA256" : NULL, NULL,
				  NULL, signer->key, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, msg, len) != 1) {
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, "cannot start %s signature with key '%s'",
				    fota_alg_name(signer->alg), signer->kid);
		goto out;
	}
	buf = OPENSSL_malloc(sig_len);
	if (buf == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory signing");
		goto out;
	}
	if (EVP_DigestSign(md, buf, &sig_len, msg, len) != 1) {
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, "%s signature with key '%s' failed",
				    fota_alg_name(signer->alg), signer->kid);
		goto out;
	}
	if (signer->alg == FOTA_ALG_ES256) {
		const unsigned char *p = buf;
		const BIGNUM *r, *s;

		es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
		if (es == NULL) {
			rc = fota_error_set(err, FOTA_ERR_CRYPTO, "unparsable ECDSA signature");
			goto out;
		}
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) {
			rc = fota_error_set(err, FOTA_ERR_CRYPTO, "ECDSA signature out of range");
			goto out;
		}
	} else {
		if (sig_len != FOTA__EDDSA_SIG_LEN) {
			rc = fota_error_set(err, FOTA_ERR_CRYPTO, "Ed25519 signature is %zu bytes",
					    sig_len);
			goto out;
		}
		memcpy(out, buf, sig_len);
	}
out:
	ERR_clear_error();
	ECDSA_SIG_free(es);
	OPENSSL_free(buf);
	EVP_MD_CTX_free(md);
	return rc;
}

/* Returns a new {"protected","signature"} pair for one signer, added to `into`. */
static fota_err sign_one(const struct fota_signer *signer, const char *payload_b64, cJSON *into,
			 struct fota_error *err)
{
	cJSON *header = NULL;
	char *header_json = NULL, *prot_b64 = NULL, *sig_b64 = NULL;
	uint8_t *input = NULL, sig[FOTA__MAX_SIG_LEN];
	size_t prot_len, payload_len;
	fota_err rc;

	header = cJSON_CreateObject();
	if (header == NULL || !cJSON_AddStringToObject(header, "alg", fota_alg_name(signer->alg)) ||
	    !cJSON_AddStringToObject(header, "kid", signer->kid) ||
	    (header_json = cJSON_PrintUnformatted(header)) == NULL ||
	    (prot_b64 = fota_b64url_encode((const uint8_t *)header_json, strlen(header_json))) ==
		NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory building header");
		goto out;
	}
	prot_len = strlen(prot_b64);
	payload_len = strlen(payload_b64);
	input = malloc(prot_len + 1 + payload_len);
	if (input == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory signing");
		goto out;
	}
	memcpy(input, prot_b64, prot_len);
	input[prot_len] = '.';
	memcpy(input + prot_len + 1, payload_b64, payload_len);
	rc = sign_raw(signer, input, prot_len + 1 + payload_len, sig, err);
	if (rc != FOTA_OK)
		goto out;
	sig_b64 = fota_b64url_encode(sig, FOTA__ES256_SIG_LEN);
	if (sig_b64 == NULL || !cJSON_AddStringToObject(into, "protected", prot_b64) ||
	    !cJSON_AddStringToObject(into, "signature", sig_b64)) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory building envelope");
		goto out;
	}
out:
	cJSON_Delete(header);
	cJSON_free(header_json);
	free(prot_b64);
	free(sig_b64);
	free(input);
	return rc;
}

fota_err fota_envelope_sign(struct fota_signer *const *signers, size_t n_signers,
			    const uint8_t *payload, size_t len, int flattened, char **out_json,
			    struct fota_error *err)
{
	cJSON *root = NULL, *sigs = NULL;
	char *payload_b64 = NULL;
	fota_err rc = FOTA_OK;

	if (out_json != NULL)
		*out_json = NULL;
	if (signers == NULL || out_json == NULL || (payload == NULL && len > 0))
		return fota_error_set(err, FOTA_ERR_INVAL, "envelope sign: invalid argument");
	if (n_signers == 0 || n_signers > FOTA_MAX_SIGNATURES)
		return fota_error_set(err, FOTA_ERR_INVAL, "%zu signers, 1..%d allowed", n_signers,
				      FOTA_MAX_SIGNATURES);
	if (flattened && n_signers != 1)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "flattened serialization holds one signature, not %zu",
				      n_signers);
	for (size_t i = 0; i < n_signers; i++) {
		if (signers[i] == NULL)
			return fota_error_set(err, FOTA_ERR_INVAL, "signer %zu is NULL", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(signers[i]->kid, signers[j]->kid) == 0)
				return fota_error_set(err, FOTA_ERR_INVAL,
						      "signer %zu repeats key id '%s'", i,
						      signers[i]->kid);
	}
	payload_b64 = fota_b64url_encode(payload ? payload : (const uint8_t *)"", len);
	root = cJSON_CreateObject();
	if (payload_b64 == NULL || root == NULL ||
	    !cJSON_AddStringToObject(root, "payload", payload_b64)) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory building envelope");
		goto out;
	}
	if (flattened) {
		rc = sign_one(signers[0], payload_b64, root, err);
		if (rc != FOTA_OK)
			goto out;
	} else {
		sigs = cJSON_AddArrayToObject(root, "signatures");
		if (sigs == NULL) {
			rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory building envelope");
			goto out;
		}
		for (size_t i = 0; i < n_signers; i++) {
			cJSON *one = cJSON_CreateObject();

			if (one == NULL || !cJSON_AddItemToArray(sigs, one)) {
				cJSON_Delete(one);
				rc = fota_error_set(err, FOTA_ERR_NOMEM,
						    "out of memory building envelope");
				goto out;
			}
			rc = sign_one(signers[i], payload_b64, one, err);
			if (rc != FOTA_OK)
				goto out;
		}
	}
	*out_json = cJSON_PrintUnformatted(root);
	if (*out_json == NULL)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory printing envelope");
out:
	cJSON_Delete(root);
	free(payload_b64);
	return rc;
}
