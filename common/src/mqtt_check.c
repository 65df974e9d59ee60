/* SPDX-License-Identifier: Apache-2.0 */
/* Broker settings checked offline: URI, CA, client certificate, key, and that they match. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fota/mqtt_check.h"

static const struct {
	const char *prefix;
	bool tls;
	unsigned port;
} schemes[] = {
    {"ssl://", true, 8883},
    {"mqtts://", true, 8883},
    {"tcp://", false, 1883},
    {"mqtt://", false, 1883},
};

fota_err fota_mqtt_uri_parse(const char *uri, struct fota_mqtt_uri *out, struct fota_error *err)
{
	const char *rest = NULL, *sep, *host, *host_end, *port = NULL;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i].prefix);
		if (strncmp(uri, schemes[i].prefix, n) == 0) {
			rest = uri + n;
			out->tls = schemes[i].tls;
			out->port = schemes[i].port;
			break;
		}
	}
	if (rest == NULL) {
		sep = strstr(uri, "://");
		if (sep == NULL)
			return fota_error_set(
			    err, FOTA_ERR_FIELD,
			    "broker uri '%s' has no scheme: write ssl://HOST:8883 "
			    "(mutual TLS) or tcp://HOST:1883",
			    uri);
		return fota_error_set(
		    err, FOTA_ERR_FIELD,
		    "broker uri '%s': scheme '%.*s' is not an MQTT one: use ssl:// "
		    "(or mqtts://) for mutual TLS, tcp:// (or mqtt://) without",
		    uri, (int)(sep - uri), uri);
	}
	host = rest;
	if (*host == '[') {
		host_end = strchr(host, ']');
		if (host_end == NULL)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "broker uri '%s': IPv6 address without ']'", uri);
		host++;
		sep = host_end + 1;
	} else {
		host_end = host + strcspn(host, ":/");
		sep = host_end;
	}
	if (host_end == host)
		return fota_error_set(err, FOTA_ERR_FIELD, "broker uri '%s' names no host", uri);
	if ((size_t)(host_end - host) > FOTA_MQTT_HOST_MAX)
		return fota_error_set(err, FOTA_ERR_FIELD, "broker uri '%s': host name too long",
				      uri);
	memcpy(out->host, host, (size_t)(host_end - host));
	if (*sep == ':') {
		char *end;
		unsigned long p;

		port = sep + 1;
		errno = 0;
		p = strtoul(port, &end, 10);
		if (end == port || errno || p == 0 || p > 65535 || (*end && *end != '/'))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "broker uri '%s': port must be 1..65535", uri);
		out->port = (unsigned)p;
		sep = end;
	}
	if (*sep != '\0' && strcmp(sep, "/") != 0)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "broker uri '%s': unexpected '%s' after the host and port",
				      uri, sep);
	return FOTA_OK;
}

/* The first OpenSSL reason on the queue, or fallback; empties the queue. */
static const char *ssl_reason(const char *fallback)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : fallback;
}

/* Opens a PEM file, naming errno's reason when it cannot. */
static fota_err open_pem(const char *what, const char *path, FILE **f, struct fota_error *err)
{
	*f = fopen(path, "r");
	if (*f == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s %s: %s", what, path,
				      strerror(errno));
	return FOTA_OK;
}

static fota_err load_cert(const char *what, const char *path, X509 **out, struct fota_error *err)
{
	FILE *f;
	fota_err rc = open_pem(what, path, &f, err);

	if (rc)
		return rc;
	*out = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s %s holds no PEM certificate (%s)",
				      what, path, ssl_reason("unreadable"));
	return FOTA_OK;
}

static fota_err load_key(const char *path, EVP_PKEY **out, struct fota_error *err)
{
	FILE *f;
	fota_err rc = open_pem("key", path, &f, err);

	if (rc)
		return rc;
	*out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "key %s holds no unencrypted PEM private key (%s)", path,
				      ssl_reason("unreadable"));
	return FOTA_OK;
}

fota_err fota_mqtt_check(const struct fota_mqtt_config *cfg, char *cn, size_t cn_size,
			 struct fota_error *err)
{
	struct fota_mqtt_uri u;
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *key = NULL;
	fota_err rc;

	if (cn && cn_size)
		cn[0] = '\0';
	rc = fota_mqtt_uri_parse(cfg->uri ? cfg->uri : "", &u, err);
	if (rc)
		goto out;
	if (u.tls && (cfg->ca_file == NULL || !*cfg->ca_file)) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "broker uri '%s' is TLS but no CA file is set to check the "
				    "broker's certificate with",
				    cfg->uri);
		goto out;
	}
	if ((cfg->cert_file && *cfg->cert_file) != (cfg->key_file && *cfg->key_file)) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "client certificate and key go together");
		goto out;
	}
	if (u.tls && cfg->ca_file && (rc = load_cert("CA file", cfg->ca_file, &ca, err)))
		goto out;
	if (!u.tls || cfg->cert_file == NULL || !*cfg->cert_file)
		goto out;
	if ((rc = load_cert("certificate", cfg->cert_file, &cert, err)) ||
	    (rc = load_key(cfg->key_file, &key, err)))
		goto out;
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		rc = fota_error_set(err, FOTA_ERR_FIELD, "key %s does not match certificate %s",
				    cfg->key_file, cfg->cert_file);
		goto out;
	}
	if (cn && cn_size &&
	    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
				      (int)cn_size) < 0)
		cn[0] = '\0';
out:
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}
