/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 and hex helpers over OpenSSL EVP; constant-time digest comparison. */
#ifndef FOTA_DIGEST_H
#define FOTA_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"

#define FOTA_SHA256_LEN 32
#define FOTA_SHA256_HEX_LEN 64
/* An image id is the first 8 bytes of the image SHA-256, 16 hex chars on topics. */
#define FOTA_IMAGE_ID_LEN 8
#define FOTA_IMAGE_ID_HEX_LEN 16

void fota_sha256(const void *data, size_t len, uint8_t out[FOTA_SHA256_LEN]);

/* Incremental hashing; _new returns NULL on allocation failure. */
struct fota_sha256_ctx;
struct fota_sha256_ctx *fota_sha256_new(void);
void fota_sha256_update(struct fota_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest and resets ctx for reuse. */
void fota_sha256_final(struct fota_sha256_ctx *ctx, uint8_t out[FOTA_SHA256_LEN]);
void fota_sha256_free(struct fota_sha256_ctx *ctx);

/* Lower-case hex; out must hold 2 * n + 1 bytes. */
void fota_hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2 * n hex digits (either case) into out; anything else is FOTA_ERR_PARSE. */
fota_err fota_hex_decode(const char *hex, uint8_t *out, size_t n, struct fota_error *err);

/* Constant-time equality of two digests. */
bool fota_digest_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
