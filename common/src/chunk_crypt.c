/* SPDX-License-Identifier: Apache-2.0 */
/* AES-256-GCM per chunk of an encrypted payload: nonce and AAD as docs/protocol.md lays out. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fota/chunk_crypt.h"
#include "fota/digest.h"
#include "fota/limits.h"

_Static_assert(FOTA_MAX_DATA_PAYLOAD == FOTA_MAX_CHUNK_SIZE + FOTA_CHUNK_TAG_LEN,
	       "a data frame has room for the largest chunk and its tag");

#define AAD_LEN (FOTA_IMAGE_ID_HEX_LEN + 1 + 8 + 4)

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static fota_err chunk_params(const char *image_id, uint32_t kind, uint64_t index,
			     uint8_t nonce[FOTA_CHUNK_NONCE_LEN], uint8_t aad[AAD_LEN],
			     struct fota_error *err)
{
	if (image_id == NULL ||
	    strnlen(image_id, FOTA_IMAGE_ID_HEX_LEN + 1) != FOTA_IMAGE_ID_HEX_LEN)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "chunk %llu: image id is not %d characters",
				      (unsigned long long)index, FOTA_IMAGE_ID_HEX_LEN);
	put_be(nonce, kind, 4);
	put_be(nonce + 4, index, 8);
	memcpy(aad, image_id, FOTA_IMAGE_ID_HEX_LEN);
	aad[FOTA_IMAGE_ID_HEX_LEN] = 0;
	put_be(aad + FOTA_IMAGE_ID_HEX_LEN + 1, index, 8);
	put_be(aad + FOTA_IMAGE_ID_HEX_LEN + 9, kind, 4);
	return FOTA_OK;
}

/* One GCM pass; the EVP interface takes int lengths, which a chunk (<= 1 MiB) always fits. */
static fota_err gcm(bool seal, const uint8_t key[FOTA_CONTENT_KEY_LEN], const char *image_id,
		    uint32_t kind, uint64_t index, const uint8_t *in, size_t len, uint8_t *out,
		    uint8_t tag[FOTA_CHUNK_TAG_LEN], struct fota_error *err)
{
	uint8_t nonce[FOTA_CHUNK_NONCE_LEN], aad[AAD_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, fin = 0;
	fota_err rc = chunk_params(image_id, kind, index, nonce, aad, err);

	if (rc != FOTA_OK)
		return rc;
	if (len > (size_t)INT32_MAX)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "chunk %llu: %zu bytes is too long",
				      (unsigned long long)index, len);
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, FOTA_CHUNK_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, seal) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, AAD_LEN) != 1 ||
	    (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1) ||
	    (!seal &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, FOTA_CHUNK_TAG_LEN, tag) != 1)) {
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, "chunk %llu: AES-GCM setup failed",
				    (unsigned long long)index);
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) {
		/* Only an open gets here with valid parameters: the tag did not verify. */
		rc = fota_error_set(err, seal ? FOTA_ERR_CRYPTO : FOTA_ERR_DIGEST,
				    seal ? "chunk %llu: AES-GCM failed"
					 : "chunk %llu: GCM tag mismatch",
				    (unsigned long long)index);
		goto out;
	}
	if (seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, FOTA_CHUNK_TAG_LEN, tag) != 1)
		rc = fota_error_set(err, FOTA_ERR_CRYPTO, "chunk %llu: AES-GCM tag unavailable",
				    (unsigned long long)index);
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

fota_err fota_chunk_seal(const uint8_t key[FOTA_CONTENT_KEY_LEN], const char *image_id,
			 uint32_t kind, uint64_t index, const uint8_t *in, size_t len, uint8_t *out,
			 struct fota_error *err)
{
	if (key == NULL || out == NULL || (in == NULL && len > 0))
		return fota_error_set(err, FOTA_ERR_INVAL, "chunk %llu: no key, input or output",
				      (unsigned long long)index);
	return gcm(true, key, image_id, kind, index, in, len, out, out + len, err);
}

fota_err fota_chunk_open(const uint8_t key[FOTA_CONTENT_KEY_LEN], const char *image_id,
			 uint32_t kind, uint64_t index, const uint8_t *in, size_t len, uint8_t *out,
			 struct fota_error *err)
{
	uint8_t tag[FOTA_CHUNK_TAG_LEN];
	size_t n;
	fota_err rc;

	if (key == NULL || in == NULL || out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "chunk %llu: no key, input or output",
				      (unsigned long long)index);
	if (len < FOTA_CHUNK_TAG_LEN)
		return fota_error_set(
		    err, FOTA_ERR_DIGEST,
		    "chunk %llu: GCM tag mismatch (%zu bytes, shorter than the tag)",
		    (unsigned long long)index, len);
	n = len - FOTA_CHUNK_TAG_LEN;
	memcpy(tag, in + n, FOTA_CHUNK_TAG_LEN);
	rc = gcm(false, key, image_id, kind, index, in, n, out, tag, err);
	/* GCM decrypts before it authenticates: plaintext of a forged chunk must not linger. */
	if (rc != FOTA_OK)
		OPENSSL_cleanse(out, n);
	return rc;
}
