/* SPDX-License-Identifier: Apache-2.0 */
/* Builds OpenSSL keys from PEM and JWK, keeps the JWS algorithm allow-list and checks raw JWS
 * signatures; the one place that knows how JOSE key and signature formats map onto EVP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "fota/b64url.h"
#include "fota/limits.h"
#include "json.h"
#include "keys.h"

#define P256_COORD_LEN 32
#define ED25519_KEY_LEN 32

const char *fota_alg_name(enum fota_alg alg)
{
	switch (alg) {
	case FOTA_ALG_ES256:
		return "ES256";
	case FOTA_ALG_EDDSA:
		return "EdDSA";
	}
	return "unknown";
}

const char *fota__printable(const char *s, char *out, size_t n)
{
	size_t i = 0, len;

	if (n == 0)
		return "";
	len = strlen(s);
	for (; i < len && i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[i] = '\0';
	/* Mark truncation so a shortened name is not mistaken for a real one. */
	if (i < len && n > 4)
		memcpy(out + n - 4, "...", 4);
	return out;
}

fota_err fota__alg_parse(const char *name, enum fota_alg *out, struct fota_error *err)
{
	char shown[40];

	/* Exact, case-sensitive match: "es256" or "EDDSA" are not JWS algorithm names. */
	if (strcmp(name, "ES256") == 0) {
		*out = FOTA_ALG_ES256;
		return FOTA_OK;
	}
	if (strcmp(name, "EdDSA") == 0) {
		*out = FOTA_ALG_EDDSA;
		return FOTA_OK;
	}
	return fota_error_set(err, FOTA_ERR_ALG, "alg '%s' not allowed (ES256 or EdDSA)",
			      fota__printable(name, shown, sizeof(shown)));
}

int fota__kid_valid(const char *kid)
{
	size_t len = strlen(kid);

	if (len == 0 || len > FOTA_MAX_KID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)kid[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '\\' || c == '/')
			return 0;
	}
	return 1;
}

fota_err fota__key_alg(const EVP_PKEY *key, enum fota_alg *out, struct fota_error *err)
{
	char group[64];

	if (EVP_PKEY_is_a(key, "ED25519")) {
		*out = FOTA_ALG_EDDSA;
		return FOTA_OK;
	}
	if (EVP_PKEY_is_a(key, "EC")) {
		/* Named curves only: a key with explicit parameters has no group name. */
		if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), NULL) != 1) {
			ERR_clear_error();
			return fota_error_set(err, FOTA_ERR_ALG,
					      "EC key without a named curve (P-256 needed)");
		}
		if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)
			return fota_error_set(err, FOTA_ERR_ALG,
					      "EC key on curve %s, only P-256 is allowed", group);
		*out = FOTA_ALG_ES256;
		return FOTA_OK;
	}
	return fota_error_set(err, FOTA_ERR_ALG, "key type %s not allowed (P-256 or Ed25519)",
			      EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?");
}

/* OpenSSL only validates the structure at import; these checks catch a point off the curve
 * or a private key that does not belong to the public one before anything trusts the key. */
static fota_err key_check(EVP_PKEY *key, enum fota__key_part part, struct fota_error *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	fota_err rc = FOTA_OK;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (ctx == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory checking key");
		goto out;
	}
	if (EVP_PKEY_public_check(ctx) != 1) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "public key is not a valid curve point");
		goto out;
	}
	if (part == FOTA__KEY_PRIVATE && EVP_PKEY_pairwise_check(ctx) != 1) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "private key does not match its public key");
		goto out;
	}
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

/* Never let OpenSSL prompt on a terminal for a passphrase: a daemon has no one to ask. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

fota_err fota__key_from_pem(const char *pem, size_t len, enum fota__key_part part, EVP_PKEY **out,
			    struct fota_error *err)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	enum fota_alg alg;
	fota_err rc;

	*out = NULL;
	if (len > FOTA_MAX_KEY_FILE_BYTES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "PEM is %zu bytes, limit %d", len,
				      FOTA_MAX_KEY_FILE_BYTES);
	if (part == FOTA__KEY_PUBLIC && contains(pem, len, "PRIVATE KEY"))
		return fota_error_set(
		    err, FOTA_ERR_FIELD,
		    "PEM holds a private key; a trust store takes public keys only");
	if (part == FOTA__KEY_PRIVATE && contains(pem, len, "ENCRYPTED"))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "encrypted PEM private keys are not supported");
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory reading PEM");
		goto out;
	}
	if (part == FOTA__KEY_PUBLIC)
		key = PEM_read_bio_PUBKEY_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
	else
		key = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
	if (key == NULL) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, "no %s in PEM",
				    part == FOTA__KEY_PUBLIC ? "PUBLIC KEY (SubjectPublicKeyInfo)"
							     : "private key (PKCS#8 or EC)");
		goto out;
	}
	rc = fota__key_alg(key, &alg, err);
	if (rc != FOTA_OK)
		goto out;
	rc = key_check(key, part, err);
	if (rc != FOTA_OK)
		goto out;
	*out = key;
	key = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

/* A fixed-size base64url member; RFC 7518 6.2.1.2 requires full-length coordinates. */
static fota_err jwk_bytes(const cJSON *jwk, const char *name, uint8_t *out, size_t want,
			  struct fota_error *err)
{
	const char *s = fota__json_find_string(jwk, name);
	uint8_t *buf = NULL;
	size_t n = 0;
	fota_err rc;

	if (s == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "JWK member \"%s\" missing", name);
	rc = fota_b64url_decode(s, strlen(s), &buf, &n, err);
	if (rc != FOTA_OK)
		return fota_error_prefix(err, name);
	if (n != want) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "JWK member \"%s\" is %zu bytes, %zu needed", name, n, want);
	} else {
		memcpy(out, buf, n);
	}
	OPENSSL_cleanse(buf, n);
	free(buf);
	return rc;
}

static fota_err key_fromdata(const char *type, const OSSL_PARAM *params, enum fota__key_part part,
			     EVP_PKEY **out, struct fota_error *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	fota_err rc = FOTA_OK;

	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (ctx == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory building %s key", type);
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out,
			      part == FOTA__KEY_PRIVATE ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      (OSSL_PARAM *)params) != 1) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "JWK does not describe a valid %s key",
				    type);
		goto out;
	}
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static fota_err jwk_p256(const cJSON *jwk, enum fota__key_part part, EVP_PKEY **out,
			 struct fota_error *err)
{
	uint8_t point[1 + 2 * P256_COORD_LEN], d[P256_COORD_LEN];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *priv = NULL;
	fota_err rc;

	point[0] = 0x04; /* uncompressed SEC1 point: 04 || x || y */
	rc = jwk_bytes(jwk, "x", point + 1, P256_COORD_LEN, err);
	if (rc == FOTA_OK)
		rc = jwk_bytes(jwk, "y", point + 1 + P256_COORD_LEN, P256_COORD_LEN, err);
	if (rc == FOTA_OK && part == FOTA__KEY_PRIVATE)
		rc = jwk_bytes(jwk, "d", d, sizeof(d), err);
	if (rc != FOTA_OK)
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point))) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory building P-256 key");
		goto out;
	}
	if (part == FOTA__KEY_PRIVATE) {
		priv = BN_secure_new();
		if (priv == NULL || BN_bin2bn(d, sizeof(d), priv) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) {
			rc =
			    fota_error_set(err, FOTA_ERR_NOMEM, "out of memory building P-256 key");
			goto out;
		}
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory building P-256 key");
		goto out;
	}
	rc = key_fromdata("EC", params, part, out, err);
out:
	OPENSSL_cleanse(d, sizeof(d));
	BN_clear_free(priv);
	/* A secure BIGNUM makes the builder put the private scalar in secure memory, which
	 * OSSL_PARAM_free clears. */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

static fota_err jwk_ed25519(const cJSON *jwk, enum fota__key_part part, EVP_PKEY **out,
			    struct fota_error *err)
{
	uint8_t x[ED25519_KEY_LEN], d[ED25519_KEY_LEN];
	OSSL_PARAM params[3];
	fota_err rc;

	rc = jwk_bytes(jwk, "x", x, sizeof(x), err);
	if (rc == FOTA_OK && part == FOTA__KEY_PRIVATE)
		rc = jwk_bytes(jwk, "d", d, sizeof(d), err);
	if (rc != FOTA_OK)
		goto out;
	/* Parameters that point at these stack buffers rather than a builder's copy, so the
	 * private key exists in exactly one place we wipe. */
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, x, sizeof(x));
	params[1] = part == FOTA__KEY_PRIVATE
			? OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, d, sizeof(d))
			: OSSL_PARAM_construct_end();
	params[2] = OSSL_PARAM_construct_end();
	rc = key_fromdata("ED25519", params, part, out, err);
out:
	OPENSSL_cleanse(d, sizeof(d));
	return rc;
}

fota_err fota__key_from_jwk(const cJSON *jwk, enum fota__key_part part, EVP_PKEY **out,
			    struct fota_error *err)
{
	const char *kty, *crv, *alg_name, *use;
	enum fota_alg want, alg;
	EVP_PKEY *key = NULL;
	char shown[40];
	fota_err rc;

	*out = NULL;
	if (!cJSON_IsObject(jwk))
		return fota_error_set(err, FOTA_ERR_PARSE, "JWK is not a JSON object");
	kty = fota__json_find_string(jwk, "kty");
	crv = fota__json_find_string(jwk, "crv");
	if (kty == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "JWK member \"kty\" missing");
	if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0) {
		want = FOTA_ALG_ES256;
	} else if (strcmp(kty, "OKP") == 0 && crv != NULL && strcmp(crv, "Ed25519") == 0) {
		want = FOTA_ALG_EDDSA;
	} else {
		char shown2[24];

		return fota_error_set(err, FOTA_ERR_ALG,
				      "JWK kty '%s' crv '%s' not allowed (EC P-256 or OKP Ed25519)",
				      fota__printable(kty, shown, sizeof(shown)),
				      crv ? fota__printable(crv, shown2, sizeof(shown2)) : "");
	}
	alg_name = fota__json_find_string(jwk, "alg");
	if (alg_name != NULL) {
		rc = fota__alg_parse(alg_name, &alg, err);
		if (rc != FOTA_OK)
			return fota_error_prefix(err, "JWK");
		if (alg != want)
			return fota_error_set(err, FOTA_ERR_ALG,
					      "JWK alg '%s' does not fit a %s key", alg_name,
					      want == FOTA_ALG_ES256 ? "P-256" : "Ed25519");
	}
	use = fota__json_find_string(jwk, "use");
	if (use != NULL && strcmp(use, "sig") != 0)
		return fota_error_set(err, FOTA_ERR_FIELD, "JWK use '%s' is not \"sig\"",
				      fota__printable(use, shown, sizeof(shown)));
	if (want == FOTA_ALG_ES256)
		rc = jwk_p256(jwk, part, &key, err);
	else
		rc = jwk_ed25519(jwk, part, &key, err);
	if (rc != FOTA_OK)
		goto out;
	rc = key_check(key, part, err);
	if (rc != FOTA_OK)
		goto out;
	*out = key;
	key = NULL;
out:
	EVP_PKEY_free(key);
	return rc;
}

fota_err fota__key_verify(EVP_PKEY *key, enum fota_alg alg, const uint8_t *msg, size_t msg_len,
			  const uint8_t *sig, size_t sig_len, struct fota_error *err)
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	const unsigned char *vsig = sig;
	size_t vlen = sig_len;
	/* Set by fota__key_alg on success; initialised because the arm cross compilers at -O3
	 * cannot see that (maybe-uninitialized). */
	enum fota_alg key_alg = FOTA_ALG_ES256;
	fota_err rc;

	rc = fota__key_alg(key, &key_alg, err);
	if (rc != FOTA_OK)
		return rc;
	if (key_alg != alg)
		return fota_error_set(err, FOTA_ERR_ALG, "alg '%s' does not match a %s key",
				      fota_alg_name(alg), fota_alg_name(key_alg));
	if (sig_len != (alg == FOTA_ALG_ES256 ? FOTA__ES256_SIG_LEN : FOTA__EDDSA_SIG_LEN))
		return fota_error_set(err, FOTA_ERR_SIGNATURE, "%s signature is %zu bytes, not 64",
				      fota_alg_name(alg), sig_len);
	if (alg == FOTA_ALG_ES256) {
		int n;

		/* JOSE carries R||S; OpenSSL verifies the DER SEQUENCE of two INTEGERs. */
		es = ECDSA_SIG_new();
		r = BN_bin2bn(sig, FOTA__ES256_SIG_LEN / 2, NULL);
		s = BN_bin2bn(sig + FOTA__ES256_SIG_LEN / 2, FOTA__ES256_SIG_LEN / 2, NULL);
		if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
			rc = fota_error_set(err, FOTA_ERR_NOMEM,
					    "out of memory converting signature");
			goto out;
		}
		r = s = NULL; /* owned by es now */
		n = i2d_ECDSA_SIG(es, &der);
		if (n <= 0) {
			rc = fota_error_set(err, FOTA_ERR_CRYPTO, "cannot DER-encode signature");
			goto out;
		}
		vsig = der;
		vlen = (size_t)n;
	}
	md = EVP_MD_CTX_new();
	if (md == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory verifying signature");
		goto out;
	}
	/* Ed25519 hashes internally (PureEdDSA): no digest name. */
	if (EVP_DigestVerifyInit_ex(md, NULL, alg == FOTA_ALG_ES256 ? "SHA256" : NULL, NULL, NULL,
				    key, NULL) != 1) {
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, "cannot initialise %s verification",
				    fota_alg_name(alg));
		goto out;
	}
	if (EVP_DigestVerify(md, vsig, vlen, msg, msg_len) != 1) {
		rc = fota_error_set(err, FOTA_ERR_SIGNATURE, "%s signature does not verify",
				    fota_alg_name(alg));
		goto out;
	}
	rc = FOTA_OK;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

fota_err fota__file_read(const char *path, size_t max, char **out, size_t *len,
			 struct fota_error *err)
{
	FILE *f = NULL;
	struct stat st;
	char *buf = NULL;
	size_t n;
	fota_err rc = FOTA_OK;

	*out = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return fota_error_set(err, FOTA_ERR_IO, "cannot open %s: %s", path,
				      strerror(errno));
	if (fstat(fileno(f), &st) != 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fota_error_set(err, FOTA_ERR_IO, "%s is not a regular file", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "%s is %lld bytes, limit %zu", path,
				    (long long)st.st_size, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory reading %s", path);
		goto out;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		rc = fota_error_set(err, FOTA_ERR_IO, "cannot read %s", path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return rc;
}
