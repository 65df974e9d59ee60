/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of keys.c and trust.c (not installed): key loading (PEM, JWK) for P-256 and
 * Ed25519, the JWS alg allow-list, raw signature verification and the trust store lookup that
 * envelope.c and signer.c share. */
#ifndef FOTA_KEYS_H
#define FOTA_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "fota/error.h"
#include "fota/trust.h"

/* Raw JWS signature sizes: ES256 is R||S, two 32-byte big-endian integers (RFC 7518 3.4). */
#define FOTA__ES256_SIG_LEN 64
#define FOTA__EDDSA_SIG_LEN 64
#define FOTA__MAX_SIG_LEN 64

enum fota__key_part {
	FOTA__KEY_PUBLIC,  /* public half only; private members of the input are ignored */
	FOTA__KEY_PRIVATE, /* private key required */
};

/* The JWS allow-list: "ES256" and "EdDSA"; anything else is FOTA_ERR_ALG "alg 'x' not allowed". */
fota_err fota__alg_parse(const char *name, enum fota_alg *out, struct fota_error *err);

/* Which JWS alg a loaded key signs with; FOTA_ERR_ALG for any other key type or curve. */
fota_err fota__key_alg(const EVP_PKEY *key, enum fota_alg *out, struct fota_error *err);

/* PEM: SubjectPublicKeyInfo for FOTA__KEY_PUBLIC (a private key PEM is refused, so secrets do
 * not end up in a device trust store by mistake); PKCS#8 or traditional EC for
 * FOTA__KEY_PRIVATE (encrypted PEM is refused, never prompted for). *out: caller frees. */
fota_err fota__key_from_pem(const char *pem, size_t len, enum fota__key_part part, EVP_PKEY **out,
			    struct fota_error *err);

/* JWK object (kty EC/crv P-256 with x, y; kty OKP/crv Ed25519 with x; "d" for private keys).
 * An "alg" member must agree with the key type, a "use" member must be "sig". */
fota_err fota__key_from_jwk(const cJSON *jwk, enum fota__key_part part, EVP_PKEY **out,
			    struct fota_error *err);

/* Verifies a raw JWS signature (R||S for ES256) over msg. FOTA_ERR_SIGNATURE if it does not. */
fota_err fota__key_verify(EVP_PKEY *key, enum fota_alg alg, const uint8_t *msg, size_t msg_len,
			  const uint8_t *sig, size_t sig_len, struct fota_error *err);

/* Key ids: 1..FOTA_MAX_KID_LEN printable ASCII characters without quotes, backslash or '/'
 * (they become file names and appear in messages). */
int fota__kid_valid(const char *kid);

/* Copies s into out (size n) for an error message: truncated, non-printables as '?'. */
const char *fota__printable(const char *s, char *out, size_t n);

/* Reads a whole file of at most max bytes, NUL-terminated; *out is malloc'd (caller frees). */
fota_err fota__file_read(const char *path, size_t max, char **out, size_t *len,
			 struct fota_error *err);

/* Finds kid in any role. FOTA_ERR_UNKNOWN_KEY if absent. *key stays owned by the store. */
fota_err fota__trust_find(const struct fota_trust *trust, const char *kid, enum fota_role *role,
			  enum fota_alg *alg, EVP_PKEY **key);

#endif
