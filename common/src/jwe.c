/* SPDX-License-Identifier: Apache-2.0 */
/* JWE compact, ECDH-ES+A256KW with A256GCM (RFC 7516, RFC 7518 4.6): a content key wrapped to
 * one P-256 key, and nothing else. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fota/b64url.h"
#include "fota/jwe.h"
#include "json.h"
#include "keys.h"

#define PFX "wrapped key rejected: "
#define ALG "ECDH-ES+A256KW"
#define ENC "A256GCM"
#define NO_UNWRAP "content key does not unwrap"

#define KEK_LEN 32  /* A256KW */
#define JCEK_LEN 32 /* A256GCM */
#define WRAPPED_LEN (JCEK_LEN + 8)
#define IV_LEN 12
#define TAG_LEN 16
#define COORD_LEN 32
/* apu / apv: party information; ours are absent, others' are short. */
#define MAX_PARTY_INFO 64

struct party_info {
	uint8_t *apu, *apv;
	size_t apu_len, apv_len;
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool is_p256(const EVP_PKEY *key)
{
	enum fota_alg alg;

	return key != NULL && fota__key_alg(key, &alg, NULL) == FOTA_OK && alg == FOTA_ALG_ES256;
}

/* Z: the x coordinate of priv * peer. */
static fota_err ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[COORD_LEN], struct fota_error *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	size_t n = COORD_LEN;
	fota_err rc = FOTA_OK;

	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) != 1 || EVP_PKEY_derive(ctx, z, &n) != 1 ||
	    n != COORD_LEN)
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, PFX "ECDH key agreement failed");
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Concat KDF (NIST SP 800-56A) with SHA-256 as RFC 7518 4.6.2 sets it up for a 256-bit key:
 * one round, SHA-256(1 || Z || AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo). */
static fota_err concat_kdf(const uint8_t z[COORD_LEN], const struct party_info *pi,
			   uint8_t kek[KEK_LEN], struct fota_error *err)
{
	uint8_t be[4];
	unsigned int n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	put_be32(be, 1);
	ok = ok && EVP_DigestUpdate(md, be, 4) == 1 && EVP_DigestUpdate(md, z, COORD_LEN) == 1;
	put_be32(be, (uint32_t)strlen(ALG));
	ok = ok && EVP_DigestUpdate(md, be, 4) == 1 && EVP_DigestUpdate(md, ALG, strlen(ALG)) == 1;
	put_be32(be, (uint32_t)pi->apu_len);
	ok = ok && EVP_DigestUpdate(md, be, 4) == 1 &&
	     (pi->apu_len == 0 || EVP_DigestUpdate(md, pi->apu, pi->apu_len) == 1);
	put_be32(be, (uint32_t)pi->apv_len);
	ok = ok && EVP_DigestUpdate(md, be, 4) == 1 &&
	     (pi->apv_len == 0 || EVP_DigestUpdate(md, pi->apv, pi->apv_len) == 1);
	put_be32(be, KEK_LEN * 8);
	ok = ok && EVP_DigestUpdate(md, be, 4) == 1 && EVP_DigestFinal_ex(md, kek, &n) == 1 &&
	     n == KEK_LEN;
	EVP_MD_CTX_free(md);
	return ok ? FOTA_OK : fota_error_set(err, FOTA_ERR_CRYPTO, PFX "key derivation failed");
}

/* AES key wrap (RFC 3394) one way or the other; false when an unwrap's integrity check fails. */
static bool aes_kw(bool wrap, const uint8_t kek[KEK_LEN], const uint8_t *in, size_t in_len,
		   uint8_t *out, size_t want)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok;

	if (ctx == NULL)
		return false;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_wrap(), NULL, kek, NULL, wrap) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) == 1 &&
	     EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && (size_t)(n + fin) == want;
	ERR_clear_error();
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* A256GCM over the content key with the JWE's protected header (its base64url text) as AAD. */
static bool gcm(bool seal, const uint8_t key[JCEK_LEN], const uint8_t iv[IV_LEN], const char *aad,
		size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok = ctx != NULL &&
		  EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) == 1 &&
		  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) == 1 &&
		  EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, seal) == 1 &&
		  EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)aad_len) == 1 &&
		  EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
		  (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
		  EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 &&
		  (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);

	ERR_clear_error();
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

static fota_err coordinate(const EVP_PKEY *key, const char *name, uint8_t out[COORD_LEN])
{
	BIGNUM *bn = NULL;
	int ok = EVP_PKEY_get_bn_param(key, name, &bn) == 1 &&
		 BN_bn2binpad(bn, out, COORD_LEN) == COORD_LEN;

	BN_free(bn);
	return ok ? FOTA_OK : FOTA_ERR_CRYPTO;
}

/* {"alg":..,"enc":..,"kid":..,"epk":{"kty":"EC","crv":"P-256","x":..,"y":..}} as base64url. */
static char *protected_header(const EVP_PKEY *epk, const char *kid)
{
	uint8_t x[COORD_LEN], y[COORD_LEN];
	char *xs = NULL, *ys = NULL, *json = NULL, *b64 = NULL;
	cJSON *root = NULL, *jwk;

	if (coordinate(epk, OSSL_PKEY_PARAM_EC_PUB_X, x) != FOTA_OK ||
	    coordinate(epk, OSSL_PKEY_PARAM_EC_PUB_Y, y) != FOTA_OK)
		return NULL;
	xs = fota_b64url_encode(x, sizeof(x));
	ys = fota_b64url_encode(y, sizeof(y));
	root = cJSON_CreateObject();
	if (xs != NULL && ys != NULL && root != NULL && cJSON_AddStringToObject(root, "alg", ALG) &&
	    cJSON_AddStringToObject(root, "enc", ENC) &&
	    cJSON_AddStringToObject(root, "kid", kid) &&
	    (jwk = cJSON_AddObjectToObject(root, "epk")) != NULL &&
	    cJSON_AddStringToObject(jwk, "kty", "EC") &&
	    cJSON_AddStringToObject(jwk, "crv", "P-256") && cJSON_AddStringToObject(jwk, "x", xs) &&
	    cJSON_AddStringToObject(jwk, "y", ys) && (json = cJSON_PrintUnformatted(root)) != NULL)
		b64 = fota_b64url_encode((const uint8_t *)json, strlen(json));
	free(xs);
	free(ys);
	free(json);
	cJSON_Delete(root);
	return b64;
}

fota_err fota_jwe_wrap_key(EVP_PKEY *recipient_pub, const uint8_t *cek, size_t cek_len,
			   const char *kid, char **compact_out, struct fota_error *err)
{
	static const struct party_info none = {0};
	uint8_t z[COORD_LEN], kek[KEK_LEN], jcek[JCEK_LEN], wrapped[WRAPPED_LEN], iv[IV_LEN],
	    tag[TAG_LEN], ct[FOTA_MAX_JWE_CEK_LEN];
	char *parts[5] = {NULL};
	EVP_PKEY *eph = NULL;
	size_t total = 0;
	fota_err rc;

	if (compact_out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "wrapping a key: no output");
	*compact_out = NULL;
	if (!is_p256(recipient_pub))
		return fota_error_set(err, FOTA_ERR_ALG, "wrapping a key: recipient is not P-256");
	if (cek == NULL || cek_len == 0 || cek_len > FOTA_MAX_JWE_CEK_LEN)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "wrapping a key: key of %zu bytes, 1..%d", cek_len,
				      FOTA_MAX_JWE_CEK_LEN);
	if (kid == NULL || !fota__kid_valid(kid))
		return fota_error_set(err, FOTA_ERR_INVAL, "wrapping a key: kid is not a key id");
	eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (eph == NULL) {
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, "wrapping a key: no ephemeral key");
		goto out;
	}
	rc = ecdh(eph, recipient_pub, z, err);
	if (rc == FOTA_OK)
		rc = concat_kdf(z, &none, kek, err);
	if (rc != FOTA_OK)
		goto out;
	if (RAND_priv_bytes(jcek, sizeof(jcek)) != 1 || RAND_bytes(iv, sizeof(iv)) != 1 ||
	    !aes_kw(true, kek, jcek, sizeof(jcek), wrapped, sizeof(wrapped))) {
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, "wrapping a key: AES key wrap failed");
		goto out;
	}
	parts[0] = protected_header(eph, kid);
	if (parts[0] == NULL ||
	    !gcm(true, jcek, iv, parts[0], strlen(parts[0]), cek, cek_len, ct, tag)) {
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, "wrapping a key: A256GCM failed");
		goto out;
	}
	parts[1] = fota_b64url_encode(wrapped, sizeof(wrapped));
	parts[2] = fota_b64url_encode(iv, sizeof(iv));
	parts[3] = fota_b64url_encode(ct, cek_len);
	parts[4] = fota_b64url_encode(tag, sizeof(tag));
	for (size_t i = 0; i < 5; i++) {
		if (parts[i] == NULL) {
			rc = fota_error_set(err, FOTA_ERR_NOMEM, "wrapping a key: out of memory");
			goto out;
		}
		total += strlen(parts[i]) + 1;
	}
	*compact_out = malloc(total);
	if (*compact_out == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "wrapping a key: out of memory");
		goto out;
	}
	snprintf(*compact_out, total, "%s.%s.%s.%s.%s", parts[0], parts[1], parts[2], parts[3],
		 parts[4]);
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(jcek, sizeof(jcek));
	OPENSSL_cleanse(ct, sizeof(ct));
	for (size_t i = 0; i < 5; i++)
		free(parts[i]);
	EVP_PKEY_free(eph);
	return rc;
}

/* Decodes part i (its text is [s, s + n)) of exactly want bytes (0: any length up to max). */
static fota_err part_bytes(const char *name, const char *s, size_t n, size_t want, size_t max,
			   uint8_t **out, size_t *out_len, struct fota_error *err)
{
	fota_err rc = fota_b64url_decode(s, n, out, out_len, err);

	if (rc != FOTA_OK) {
		char pfx[48];

		snprintf(pfx, sizeof(pfx), PFX "%s", name);
		return fota_error_prefix(err, pfx);
	}
	if ((want != 0 && *out_len != want) || (want == 0 && (*out_len == 0 || *out_len > max))) {
		rc = want != 0
			 ? fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is %zu bytes, not %zu", name,
					  *out_len, want)
			 : fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "%s is %zu bytes, not 1..%zu",
					  name, *out_len, max);
		OPENSSL_cleanse(*out, *out_len);
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* Only the members we write, plus the optional apu / apv of RFC 7518 4.6.1; a header member we
 * do not understand could change what the JWE means, so it is refused rather than ignored. */
static fota_err check_members(const cJSON *obj, const char *const *allowed, size_t n,
			      const char *where, struct fota_error *err)
{
	const cJSON *it;
	char shown[40];

	cJSON_ArrayForEach(it, obj)
	{
		size_t i = 0;

		while (i < n && strcmp(it->string, allowed[i]) != 0)
			i++;
		if (i == n)
			return fota_error_set(err, FOTA_ERR_CRITICAL,
					      PFX "%s member '%s' is not understood", where,
					      fota__printable(it->string, shown, sizeof(shown)));
	}
	return FOTA_OK;
}

static fota_err party_member(const cJSON *h, const char *name, uint8_t **out, size_t *len,
			     struct fota_error *err)
{
	const char *s;
	fota_err rc = fota__json_get_string(h, name, false, 0, 4 * MAX_PARTY_INFO, &s, PFX, err);

	if (rc != FOTA_OK || s == NULL || *s == '\0')
		return rc;
	return part_bytes(name, s, strlen(s), 0, MAX_PARTY_INFO, out, len, err);
}

/* The protected header: alg, enc, kid, the ephemeral key and party information. */
static fota_err parse_header(const uint8_t *json, size_t len, EVP_PKEY **epk, struct party_info *pi,
			     struct fota_error *err)
{
	static const char *const header_members[] = {"alg", "enc", "kid", "epk", "apu", "apv"};
	static const char *const epk_members[] = {"kty", "crv", "x", "y"};
	cJSON *root = NULL;
	const cJSON *jwk = NULL;
	const char *s;
	char shown[40];
	fota_err rc =
	    fota__json_load(json, len, FOTA_MAX_JWE_HEADER_BYTES, &root, PFX "header: ", err);

	if (rc != FOTA_OK)
		return rc;
	rc = check_members(root, header_members, 6, "header", err);
	if (rc == FOTA_OK)
		rc = fota__json_get_string(root, "alg", true, 1, FOTA_MAX_NAME_LEN, &s, PFX, err);
	if (rc == FOTA_OK && strcmp(s, ALG) != 0)
		rc = fota_error_set(err, FOTA_ERR_ALG, PFX "alg '%s' is not " ALG,
				    fota__printable(s, shown, sizeof(shown)));
	if (rc == FOTA_OK)
		rc = fota__json_get_string(root, "enc", true, 1, FOTA_MAX_NAME_LEN, &s, PFX, err);
	if (rc == FOTA_OK && strcmp(s, ENC) != 0)
		rc = fota_error_set(err, FOTA_ERR_ALG, PFX "enc '%s' is not " ENC,
				    fota__printable(s, shown, sizeof(shown)));
	if (rc == FOTA_OK)
		rc = fota__json_get_string(root, "kid", false, 1, FOTA_MAX_KID_LEN, &s, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_object(root, "epk", true, &jwk, PFX, err);
	if (rc == FOTA_OK)
		rc = check_members(jwk, epk_members, 4, "epk", err);
	if (rc == FOTA_OK) {
		rc = fota__key_from_jwk(jwk, FOTA__KEY_PUBLIC, epk, err);
		if (rc != FOTA_OK)
			fota_error_prefix(err, PFX "epk");
	}
	if (rc == FOTA_OK && !is_p256(*epk))
		rc = fota_error_set(err, FOTA_ERR_ALG, PFX "epk is not a P-256 key");
	if (rc == FOTA_OK)
		rc = party_member(root, "apu", &pi->apu, &pi->apu_len, err);
	if (rc == FOTA_OK)
		rc = party_member(root, "apv", &pi->apv, &pi->apv_len, err);
	cJSON_Delete(root);
	return rc;
}

fota_err fota_jwe_unwrap_key(EVP_PKEY *recipient_priv, const char *compact, size_t len,
			     uint8_t *out, size_t out_cap, size_t *out_len, struct fota_error *err)
{
	static const char *const names[5] = {"protected header", "encrypted key", "iv",
					     "ciphertext", "tag"};
	const char *part[5];
	size_t plen[5], n = 0;
	uint8_t *bytes[5] = {NULL}, z[COORD_LEN], kek[KEK_LEN], jcek[JCEK_LEN];
	size_t blen[5] = {0};
	struct party_info pi = {0};
	EVP_PKEY *epk = NULL;
	fota_err rc = FOTA_OK;

	if (out_len != NULL)
		*out_len = 0;
	if (compact == NULL || out == NULL || out_len == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no input or output");
	if (len > FOTA_MAX_JWE_BYTES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "%zu bytes > limit %d", len,
				      FOTA_MAX_JWE_BYTES);
	/* Five parts: exactly four dots, no other separator. */
	part[0] = compact;
	for (size_t i = 0; i < len; i++) {
		if (compact[i] != '.')
			continue;
		if (n == 4)
			return fota_error_set(err, FOTA_ERR_PARSE, PFX "more than 5 parts");
		plen[n] = (size_t)(compact + i - part[n]);
		part[++n] = compact + i + 1;
	}
	if (n != 4)
		return fota_error_set(err, FOTA_ERR_PARSE, PFX "%zu parts, a compact JWE has 5",
				      n + 1);
	plen[4] = (size_t)(compact + len - part[4]);
	if (!is_p256(recipient_priv)) {
		rc = fota_error_set(err, FOTA_ERR_ALG, PFX "our key is not P-256");
		goto out;
	}
	rc = part_bytes(names[0], part[0], plen[0], 0, FOTA_MAX_JWE_HEADER_BYTES, &bytes[0],
			&blen[0], err);
	if (rc == FOTA_OK)
		rc = parse_header(bytes[0], blen[0], &epk, &pi, err);
	if (rc == FOTA_OK)
		rc = part_bytes(names[1], part[1], plen[1], WRAPPED_LEN, 0, &bytes[1], &blen[1],
				err);
	if (rc == FOTA_OK)
		rc = part_bytes(names[2], part[2], plen[2], IV_LEN, 0, &bytes[2], &blen[2], err);
	if (rc == FOTA_OK)
		rc = part_bytes(names[3], part[3], plen[3], 0, FOTA_MAX_JWE_CEK_LEN, &bytes[3],
				&blen[3], err);
	if (rc == FOTA_OK)
		rc = part_bytes(names[4], part[4], plen[4], TAG_LEN, 0, &bytes[4], &blen[4], err);
	if (rc == FOTA_OK && blen[3] > out_cap)
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "key of %zu bytes, room for %zu",
				    blen[3], out_cap);
	if (rc == FOTA_OK)
		rc = ecdh(recipient_priv, epk, z, err);
	if (rc == FOTA_OK)
		rc = concat_kdf(z, &pi, kek, err);
	if (rc != FOTA_OK)
		goto out;
	/* Wrapped to another key (or altered): the key wrap's integrity check fails. */
	if (!aes_kw(false, kek, bytes[1], blen[1], jcek, JCEK_LEN)) {
		rc = fota_error_set(err, FOTA_ERR_SIGNATURE,
				    NO_UNWRAP " (the key wrap does not open with this key)");
		goto out;
	}
	if (!gcm(false, jcek, bytes[2], part[0], plen[0], bytes[3], blen[3], out, bytes[4])) {
		rc = fota_error_set(err, FOTA_ERR_SIGNATURE, NO_UNWRAP " (A256GCM tag mismatch)");
		goto out;
	}
	*out_len = blen[3];
out:
	if (rc != FOTA_OK && out != NULL)
		OPENSSL_cleanse(out, out_cap);
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(jcek, sizeof(jcek));
	for (size_t i = 0; i < 5; i++)
		free(bytes[i]);
	free(pi.apu);
	free(pi.apv);
	EVP_PKEY_free(epk);
	return rc;
}
