/* SPDX-License-Identifier: Apache-2.0 */
/* AES-256-GCM per chunk: the nonce and AAD of docs/protocol.md, and every change detected. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fota/chunk_crypt.h"
#include "testutil.h"

#define LEN 1000
#define ID "8f434346648f6b96"

static uint8_t key[FOTA_CONTENT_KEY_LEN], plain[LEN], sealed[LEN + FOTA_CHUNK_TAG_LEN], opened[LEN];

static void setup(void)
{
	ck_assert_int_eq(RAND_bytes(key, sizeof(key)), 1);
	ck_assert_int_eq(RAND_bytes(plain, sizeof(plain)), 1);
	ck_assert_int_eq(fota_chunk_seal(key, ID, FOTA_PAYLOAD_DELTA, 5, plain, LEN, sealed, NULL),
			 FOTA_OK);
}

START_TEST(test_round_trip)
{
	struct fota_error err = {0};

	ck_assert_int_eq(
	    fota_chunk_open(key, ID, FOTA_PAYLOAD_DELTA, 5, sealed, sizeof(sealed), opened, &err),
	    FOTA_OK);
	ck_assert_mem_eq(opened, plain, LEN);
	ck_assert(memcmp(sealed, plain, LEN) != 0);
}
END_TEST

/* The layout written in docs/protocol.md, rebuilt here with plain EVP calls: a second
 * implementation that reads the document, not chunk_crypt.c. */
START_TEST(test_documented_layout)
{
	uint8_t nonce[12] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5};
	uint8_t aad[16 + 1 + 8 + 4] = {0};
	uint8_t out[LEN];
	int n = 0, fin = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	memcpy(aad, ID, 16);
	aad[16 + 1 + 7] = 5;	 /* index 5, big-endian */
	aad[16 + 1 + 8 + 3] = 1; /* kind 1, big-endian */
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce), 1);
	ck_assert_int_eq(EVP_DecryptUpdate(ctx, NULL, &n, aad, sizeof(aad)), 1);
	ck_assert_int_eq(EVP_DecryptUpdate(ctx, out, &n, sealed, LEN), 1);
	ck_assert_int_eq(
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, FOTA_CHUNK_TAG_LEN, sealed + LEN), 1);
	ck_assert_int_eq(EVP_DecryptFinal_ex(ctx, out + n, &fin), 1);
	EVP_CIPHER_CTX_free(ctx);
	ck_assert_mem_eq(out, plain, LEN);
}
END_TEST

/* Each input the tag covers, changed on its own: the ciphertext, the tag, the key, the image
 * id, the payload kind and the index. */
enum change { CIPHERTEXT, TAG, KEY, IMAGE_ID, KIND, INDEX, N_CHANGES };

START_TEST(test_any_change_is_a_tag_mismatch)
{
	uint8_t k[FOTA_CONTENT_KEY_LEN], in[sizeof(sealed)];
	const char *id = ID;
	uint32_t kind = FOTA_PAYLOAD_DELTA;
	uint64_t index = 5;
	struct fota_error err = {0};

	memcpy(k, key, sizeof(k));
	memcpy(in, sealed, sizeof(in));
	switch ((enum change)_i) {
	case CIPHERTEXT:
		in[123] ^= 0x01;
		break;
	case TAG:
		in[sizeof(in) - 1] ^= 0x80;
		break;
	case KEY:
		k[0] ^= 0x01;
		break;
	case IMAGE_ID:
		id = "8f434346648f6b97";
		break;
	case KIND:
		kind = FOTA_PAYLOAD_FULL;
		break;
	case INDEX:
		index = 6;
		break;
	case N_CHANGES:
		break;
	}
	memset(opened, 0xaa, sizeof(opened));
	ck_assert_int_eq(fota_chunk_open(k, id, kind, index, in, sizeof(in), opened, &err),
			 FOTA_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err.msg, "GCM tag mismatch"));
	ck_assert_ptr_nonnull(strstr(err.msg, index == 6 ? "chunk 6" : "chunk 5"));
	/* Nothing of the (unauthenticated) plaintext is left for a caller to misuse. */
	for (size_t i = 0; i < LEN; i++)
		ck_assert_uint_eq(opened[i], 0);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct fota_error err = {0};

	ck_assert_int_eq(
	    fota_chunk_open(key, ID, 0, 0, sealed, FOTA_CHUNK_TAG_LEN - 1, opened, &err),
	    FOTA_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err.msg, "shorter than the tag"));
	ck_assert_int_eq(fota_chunk_seal(key, "8f43", 0, 0, plain, LEN, sealed, &err),
			 FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "image id is not 16 characters"));
	ck_assert_int_eq(fota_chunk_seal(NULL, ID, 0, 0, plain, LEN, sealed, &err), FOTA_ERR_INVAL);
	/* An empty chunk still carries a tag that binds it to its place. */
	ck_assert_int_eq(fota_chunk_seal(key, ID, 0, 9, plain, 0, sealed, &err), FOTA_OK);
	ck_assert_int_eq(fota_chunk_open(key, ID, 0, 9, sealed, FOTA_CHUNK_TAG_LEN, opened, &err),
			 FOTA_OK);
	ck_assert_int_eq(fota_chunk_open(key, ID, 0, 8, sealed, FOTA_CHUNK_TAG_LEN, opened, &err),
			 FOTA_ERR_DIGEST);
}
END_TEST

static Suite *chunk_crypt_suite(void)
{
	Suite *s = suite_create("chunk_crypt");
	TCase *tc = tcase_create("gcm");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_documented_layout);
	tcase_add_loop_test(tc, test_any_change_is_a_tag_mismatch, 0, N_CHANGES);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(chunk_crypt_suite());
}
