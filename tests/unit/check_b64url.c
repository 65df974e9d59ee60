/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the base64url codec: RFC 4648 vectors, round trips and every refusal. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fota/b64url.h"
#include "testutil.h"

static const struct {
	const char *plain;
	const char *encoded;
} vectors[] = {
    /* RFC 4648 section 10, without padding. */
    {"", ""},
    {"f", "Zg"},
    {"fo", "Zm8"},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg"},
    {"fooba", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy"},
    /* The two characters that differ from standard base64. */
    {"\xfb\xff\xbf", "-_-_"},
    {"\xff\xfe", "__4"},
};

START_TEST(test_vectors)
{
	const char *plain = vectors[_i].plain;
	size_t len = strlen(plain), out_len = 99;
	char *enc = fota_b64url_encode((const uint8_t *)plain, len);
	struct fota_error err = {0};
	uint8_t *dec = NULL;

	ck_assert_ptr_nonnull(enc);
	ck_assert_str_eq(enc, vectors[_i].encoded);
	ck_assert_int_eq(fota_b64url_decode(enc, strlen(enc), &dec, &out_len, &err), FOTA_OK);
	ck_assert_uint_eq(out_len, len);
	ck_assert_mem_eq(dec, plain, len);
	ck_assert_uint_eq(dec[len], 0);
	free(enc);
	free(dec);
}
END_TEST

START_TEST(test_round_trip_all_lengths)
{
	uint8_t buf[300];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof(buf); len++) {
		char *enc = fota_b64url_encode(buf, len);
		uint8_t *dec = NULL;
		size_t out_len = 0;

		ck_assert_ptr_nonnull(enc);
		ck_assert_uint_eq(strlen(enc), (len * 4 + 2) / 3);
		ck_assert_int_eq(fota_b64url_decode(enc, strlen(enc), &dec, &out_len, NULL),
				 FOTA_OK);
		ck_assert_uint_eq(out_len, len);
		ck_assert_mem_eq(dec, buf, len);
		free(enc);
		free(dec);
	}
}
END_TEST

static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *reason;
} bad[] = {
    {"Zg==", 0, "padded"},	{"Zg=", 0, "padded"},	     {"Zm9v=", 0, "impossible"},
    {"Zm8=", 0, "padded"},	{"Zm+v", 0, "'+'"},	     {"Zm/v", 0, "'/'"},
    {"Zm9 v", 0, "impossible"}, {"Z 9v", 0, "0x20"},	     {"Zm9v\n", 0, "impossible"},
    {"Zm9vYg\n\n", 0, "0x0a"},	{"Z", 0, "impossible"},	     {"Zm9vY", 0, "impossible"},
    {"Zh", 0, "trailing bits"}, {"Zm9", 0, "trailing bits"}, {"Zm\0v", 4, "0x00"},
    {"Zm\xc3\xa9", 0, "0xc3"},
};

START_TEST(test_refusals)
{
	const char *in = bad[_i].in;
	size_t len = bad[_i].len ? bad[_i].len : strlen(in), out_len = 7;
	struct fota_error err = {0};
	uint8_t *dec = (uint8_t *)"sentinel";

	ck_assert_int_eq(fota_b64url_decode(in, len, &dec, &out_len, &err), FOTA_ERR_PARSE);
	ck_assert_int_eq(err.code, FOTA_ERR_PARSE);
	ck_assert_ptr_null(dec);
	ck_assert_uint_eq(out_len, 0);
	ck_assert_msg(strstr(err.msg, bad[_i].reason) != NULL, "case %d: '%s' lacks '%s'", _i,
		      err.msg, bad[_i].reason);
}
END_TEST

START_TEST(test_decode_uses_len_not_nul)
{
	uint8_t *dec = NULL;
	size_t out_len = 0;

	/* Only the first four characters count; the garbage after them is never read. */
	ck_assert_int_eq(fota_b64url_decode("Zm9v!!!!", 4, &dec, &out_len, NULL), FOTA_OK);
	ck_assert_uint_eq(out_len, 3);
	ck_assert_mem_eq(dec, "foo", 3);
	free(dec);
}
END_TEST

static Suite *b64url_suite(void)
{
	Suite *s = suite_create("b64url");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_vectors, 0, (int)(sizeof(vectors) / sizeof(vectors[0])));
	tcase_add_test(tc, test_round_trip_all_lengths);
	tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_decode_uses_len_not_nul);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(b64url_suite());
}
