/* SPDX-License-Identifier: Apache-2.0 */
/* Repair request codec: round trip, totals, and every limit the parser enforces. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/request.h"
#include "testutil.h"

START_TEST(test_round_trip)
{
	struct fota_request a = {
	    .image_id = {0x8f, 0x43, 0x43, 0x46, 0x64, 0x8f, 0x6b, 0x96},
	    .want_table = true,
	    .ranges = {{0, 4}, {10, 1}, {32767, 1}},
	    .n_ranges = 3,
	};
	struct fota_request b;
	struct fota_error err = {0};
	char *json = NULL;

	ck_assert_int_eq(fota_request_to_json(&a, &json, &err), FOTA_OK);
	ck_assert_str_eq(json, "{\"image\":\"8f434346648f6b96\",\"table\":true,"
			       "\"ranges\":[[0,4],[10,1],[32767,1]]}");
	ck_assert_int_eq(fota_request_parse((const uint8_t *)json, strlen(json), &b, &err),
			 FOTA_OK);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	ck_assert_uint_eq(fota_request_total_chunks(&b), 6);
	ck_assert_uint_eq(fota_request_total_chunks(NULL), 0);
	free(json);
}
END_TEST

static const struct {
	const char *json;
	fota_err code;
	const char *msg;
} cases[] = {
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[0,1]]}", FOTA_OK, ""},
    {"{\"image\":\"8f434346648f6b96\",\"table\":true,\"ranges\":[]}", FOTA_OK, ""},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[32512,256]]}", FOTA_OK, ""},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[],\"extra\":1}", FOTA_ERR_FIELD,
     "asks for nothing"},
    {"{\"ranges\":[[0,1]]}", FOTA_ERR_FIELD, "image missing"},
    {"{\"image\":\"8F434346648F6B96\",\"ranges\":[[0,1]]}", FOTA_ERR_FIELD,
     "image is not 16 lower-case hex digits"},
    {"{\"image\":\"8f434346648f6b9\",\"ranges\":[[0,1]]}", FOTA_ERR_FIELD, "image is not 16"},
    {"{\"image\":\"8f434346648f6b96\"}", FOTA_ERR_FIELD, "ranges missing"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":{}}", FOTA_ERR_FIELD, "ranges is not an array"},
    {"{\"image\":\"8f434346648f6b96\",\"table\":1,\"ranges\":[[0,1]]}", FOTA_ERR_FIELD,
     "table is not true or false"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[0,0]]}", FOTA_ERR_FIELD,
     "ranges[0] count 0 out of range 1..256"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[0,257]]}", FOTA_ERR_FIELD,
     "ranges[0] count 257 out of range 1..256"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[0,200],[300,57]]}", FOTA_ERR_TOO_BIG,
     "asks for 257 chunks, limit 256"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[32767,2]]}", FOTA_ERR_FIELD,
     "ranges[0] [32767, 2] ends past chunk 32768"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[4294967295,1]]}", FOTA_ERR_FIELD,
     "ranges[0] first 4294967295 out of range 0..32767"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[-1,1]]}", FOTA_ERR_FIELD, "is not an integer"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[0.5,1]]}", FOTA_ERR_FIELD, "is not an integer"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[1]]}", FOTA_ERR_FIELD,
     "ranges[0] is not [first, count]"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[1,2,3]]}", FOTA_ERR_FIELD,
     "ranges[0] is not [first, count]"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[0,1],5]}", FOTA_ERR_FIELD,
     "ranges[1] is not [first, count]"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[\"0\",1]]}", FOTA_ERR_FIELD,
     "ranges[0] first is not a number"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[0,1]],\"ranges\":[]}", FOTA_ERR_PARSE,
     "duplicate member 'ranges'"},
    {"{\"image\":\"8f434346648f6b96\",\"ranges\":[[0,1]]", FOTA_ERR_PARSE, "malformed JSON"},
};

START_TEST(test_cases)
{
	struct fota_request r;
	struct fota_error err = {0};
	fota_err rc =
	    fota_request_parse((const uint8_t *)cases[_i].json, strlen(cases[_i].json), &r, &err);

	tu_assert_rejected(rc, cases[_i].code, &err, "request rejected: ", cases[_i].msg,
			   cases[_i].json);
	if (rc == FOTA_OK)
		return;
	ck_assert_uint_eq(r.n_ranges, 0);
}
END_TEST

/* Builds {"image":..,"ranges":[[0,1],[2,1],...]} with n ranges. */
static char *ranges_json(int n)
{
	size_t cap = 64 + (size_t)n * 16;
	char *s = malloc(cap);
	size_t off;

	ck_assert_ptr_nonnull(s);
	off = (size_t)snprintf(s, cap, "{\"image\":\"8f434346648f6b96\",\"ranges\":[");
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s[%d,1]", i ? "," : "", 2 * i);
	snprintf(s + off, cap - off, "]}");
	return s;
}

START_TEST(test_range_count_limit)
{
	struct fota_request r;
	struct fota_error err = {0};
	char *ok = ranges_json(FOTA_MAX_REQUEST_RANGES);
	char *over = ranges_json(FOTA_MAX_REQUEST_RANGES + 1);

	ck_assert_int_eq(fota_request_parse((uint8_t *)ok, strlen(ok), &r, &err), FOTA_OK);
	ck_assert_uint_eq(r.n_ranges, FOTA_MAX_REQUEST_RANGES);
	ck_assert_int_eq(fota_request_parse((uint8_t *)over, strlen(over), &r, &err),
			 FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "ranges has more than 64 items"));
	free(ok);
	free(over);
}
END_TEST

START_TEST(test_byte_limit_and_struct)
{
	struct fota_request r = {.n_ranges = 0, .want_table = false};
	struct fota_error err = {0};
	char *json = NULL;
	uint8_t *big = malloc(FOTA_MAX_REQUEST_BYTES + 1);

	memset(big, ' ', FOTA_MAX_REQUEST_BYTES + 1);
	ck_assert_int_eq(fota_request_parse(big, FOTA_MAX_REQUEST_BYTES + 1, &r, &err),
			 FOTA_ERR_TOO_BIG);
	free(big);
	ck_assert_int_eq(fota_request_to_json(&r, &json, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_null(json);
	r.n_ranges = FOTA_MAX_REQUEST_RANGES + 1;
	ck_assert_int_eq(fota_request_to_json(&r, &json, &err), FOTA_ERR_TOO_BIG);
	r.n_ranges = 1;
	r.ranges[0] = (struct fota_range){UINT32_MAX, 2};
	ck_assert_int_eq(fota_request_to_json(&r, &json, &err), FOTA_ERR_FIELD);
	r.ranges[0] = (struct fota_range){0, 0};
	ck_assert_int_eq(fota_request_to_json(&r, &json, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "count is 0"));
}
END_TEST

START_TEST(test_clip_keeps_what_lies_below)
{
	struct fota_request r = {
	    .want_table = true, .ranges = {{0, 4}, {6, 4}, {12, 2}, {20, 1}}, .n_ranges = 4};

	ck_assert_uint_eq(fota_request_clip(&r, 8), 2 + 2 + 1);
	ck_assert_uint_eq(r.n_ranges, 2);
	ck_assert_uint_eq(r.ranges[0].first, 0);
	ck_assert_uint_eq(r.ranges[0].count, 4);
	ck_assert_uint_eq(r.ranges[1].first, 6);
	ck_assert_uint_eq(r.ranges[1].count, 2);
	ck_assert(r.want_table);
	ck_assert_uint_eq(fota_request_clip(&r, UINT32_MAX), 0);
	ck_assert_uint_eq(r.n_ranges, 2);
	ck_assert_uint_eq(fota_request_clip(&r, 0), 6);
	ck_assert_uint_eq(r.n_ranges, 0);
}
END_TEST

static Suite *request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip);
	tcase_add_loop_test(tc, test_cases, 0, TU_N(cases));
	tcase_add_test(tc, test_range_count_limit);
	tcase_add_test(tc, test_byte_limit_and_struct);
	tcase_add_test(tc, test_clip_keeps_what_lies_below);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(request_suite());
}
