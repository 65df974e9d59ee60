/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 through OpenSSL EVP, hex codec, constant-time compare. */
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fota/digest.h"

struct fota_sha256_ctx {
	EVP_MD_CTX *md;
};

void fota_sha256(const void *data, size_t len, uint8_t out[FOTA_SHA256_LEN])
{
	unsigned int n = FOTA_SHA256_LEN;

	/* EVP_Digest only fails on allocation failure; abort rather than return a wrong hash. */
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		abort();
}

struct fota_sha256_ctx *fota_sha256_new(void)
{
	struct fota_sha256_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->md = EVP_MD_CTX_new();
	if (ctx->md == NULL || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx->md);
		free(ctx);
		return NULL;
	}
	return ctx;
}

void fota_sha256_update(struct fota_sha256_ctx *ctx, const void *data, size_t len)
{
	if (EVP_DigestUpdate(ctx->md, data, len) != 1)
		abort();
}

void fota_sha256_final(struct fota_sha256_ctx *ctx, uint8_t out[FOTA_SHA256_LEN])
{
	unsigned int n = FOTA_SHA256_LEN;

	if (EVP_DigestFinal_ex(ctx->md, out, &n) != 1 ||
	    EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1)
		abort();
}

void fota_sha256_free(struct fota_sha256_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

void fota_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

fota_err fota_hex_decode(const char *hex, uint8_t *out, size_t n, struct fota_error *err)
{
	size_t i;

	for (i = 0; i < 2 * n; i++) {
		if (hex[i] == '\0' || hexval(hex[i]) < 0)
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "expected %zu hex digits, bad character at %zu",
					      2 * n, i);
	}
	if (hex[2 * n] != '\0')
		return fota_error_set(err, FOTA_ERR_PARSE, "expected %zu hex digits, got more",
				      2 * n);
	for (i = 0; i < n; i++)
		out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	return FOTA_OK;
}

bool fota_digest_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
