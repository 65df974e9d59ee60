/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A content key wrapped to one device: JWE (RFC 7516) compact serialization with alg
 * ECDH-ES+A256KW (RFC 7518 4.6: ephemeral P-256 key in the protected header "epk", Concat KDF,
 * AES key wrap), enc A256GCM, kid = the device id. The JWE's plaintext is the raw content key.
 * Nothing else is accepted: other algorithms, curves, "zip", unknown header members, more
 * than five parts or input over FOTA_MAX_JWE_BYTES are refused with the reason.
 */
#ifndef FOTA_JWE_H
#define FOTA_JWE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "fota/error.h"
#include "fota/limits.h"

/* Wraps cek (1..FOTA_MAX_JWE_CEK_LEN bytes) to recipient_pub, a P-256 public key (a private key
 * works too; only its public half is used). kid is written as the header's "kid" (1..64
 * printable ASCII). *compact_out is malloc'd, NUL-terminated (caller frees). */
fota_err fota_jwe_wrap_key(EVP_PKEY *recipient_pub, const uint8_t *cek, size_t cek_len,
			   const char *kid, char **compact_out, struct fota_error *err);

/* Unwraps a compact JWE of len bytes (need not be NUL-terminated) with recipient_priv, the
 * P-256 private key it was wrapped to, into out (out_cap bytes), setting *out_len. A JWE
 * wrapped to another key, or altered, gives FOTA_ERR_SIGNATURE "content key does not unwrap";
 * malformed input FOTA_ERR_PARSE / FOTA_ERR_ALG / FOTA_ERR_TOO_BIG naming the part. out is
 * wiped on any error. */
fota_err fota_jwe_unwrap_key(EVP_PKEY *recipient_priv, const char *compact, size_t len,
			     uint8_t *out, size_t out_cap, size_t *out_len, struct fota_error *err);

#endif
