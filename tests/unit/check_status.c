/* SPDX-License-Identifier: Apache-2.0 */
/* States and results: wire names, LwM2M mapping, error mapping, and the status message codec. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fota/status.h"
#include "testutil.h"

/* The wire names are a protocol: spelled out here, not derived from the code under test. */
static const char *const state_wire[FOTA_STATE__COUNT] = {
    "idle",    "downloading", "downloaded",  "verifying", "installing", "rebooting",
    "testing", "confirmed",   "rolled_back", "failed",	  "deferred",	"offline",
};

static const struct {
	const char *name;
	int lwm2m;
} result_wire[FOTA_RESULT__COUNT] = {
    {"none", 0},
    {"success", 1},
    {"no_space", 2},
    {"no_memory", 3},
    {"connection_lost", 4},
    {"integrity", 5},
    {"signature", 5},
    {"unsupported", 6},
    {"expired", 8},
    {"rollback", 8},
    {"invalid", 6},
    {"stalled", 4},
    {"install_failed", 8},
    {"health_check_failed", 8},
    {"aborted", 8},
};

START_TEST(test_state_names)
{
	enum fota_state s;
	struct fota_error err = {0};

	ck_assert_str_eq(fota_state_name((enum fota_state)_i), state_wire[_i]);
	ck_assert_int_eq(fota_state_parse(state_wire[_i], &s, &err), FOTA_OK);
	ck_assert_int_eq(s, _i);
}
END_TEST

START_TEST(test_result_names)
{
	enum fota_result r;
	struct fota_error err = {0};

	ck_assert_str_eq(fota_result_name((enum fota_result)_i), result_wire[_i].name);
	ck_assert_int_eq(fota_result_parse(result_wire[_i].name, &r, &err), FOTA_OK);
	ck_assert_int_eq(r, _i);
	ck_assert_int_eq(fota_result_lwm2m((enum fota_result)_i), result_wire[_i].lwm2m);
}
END_TEST

START_TEST(test_unknown_names)
{
	enum fota_state s;
	enum fota_result r;
	struct fota_error err = {0};

	ck_assert_str_eq(fota_state_name(FOTA_STATE__COUNT), "unknown");
	ck_assert_str_eq(fota_result_name(FOTA_RESULT__COUNT), "unknown");
	ck_assert_int_eq(fota_state_parse("Idle", &s, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown state 'Idle'"));
	ck_assert_int_eq(fota_state_parse(NULL, &s, &err), FOTA_ERR_FIELD);
	ck_assert_int_eq(fota_result_parse("ok", &r, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown result 'ok'"));
	ck_assert_int_eq(fota_result_lwm2m(FOTA_RESULT__COUNT), 8);
}
END_TEST

static const struct {
	fota_err code;
	enum fota_result result;
} err_map[] = {
    {FOTA_OK, FOTA_RESULT_NONE},
    {FOTA_ERR_NOMEM, FOTA_RESULT_NO_MEMORY},
    {FOTA_ERR_INVAL, FOTA_RESULT_INVALID},
    {FOTA_ERR_TOO_BIG, FOTA_RESULT_INVALID},
    {FOTA_ERR_PARSE, FOTA_RESULT_INVALID},
    {FOTA_ERR_FIELD, FOTA_RESULT_INVALID},
    {FOTA_ERR_ALG, FOTA_RESULT_SIGNATURE},
    {FOTA_ERR_UNKNOWN_KEY, FOTA_RESULT_SIGNATURE},
    {FOTA_ERR_WRONG_ROLE, FOTA_RESULT_SIGNATURE},
    {FOTA_ERR_SIGNATURE, FOTA_RESULT_SIGNATURE},
    {FOTA_ERR_THRESHOLD, FOTA_RESULT_SIGNATURE},
    {FOTA_ERR_EXPIRED, FOTA_RESULT_EXPIRED},
    {FOTA_ERR_ROLLBACK, FOTA_RESULT_ROLLBACK},
    {FOTA_ERR_INCOMPATIBLE, FOTA_RESULT_UNSUPPORTED},
    {FOTA_ERR_DIGEST, FOTA_RESULT_INTEGRITY},
    {FOTA_ERR_CRITICAL, FOTA_RESULT_INVALID},
    {FOTA_ERR_IO, FOTA_RESULT_INSTALL_FAILED},
    {FOTA_ERR_CRYPTO, FOTA_RESULT_INSTALL_FAILED},
    {FOTA_ERR_MQTT, FOTA_RESULT_CONNECTION_LOST},
    {FOTA_ERR_TIMEOUT, FOTA_RESULT_STALLED},
    {FOTA_ERR_STATE, FOTA_RESULT_INSTALL_FAILED},
    {FOTA_ERR_NOT_FOUND, FOTA_RESULT_INSTALL_FAILED},
    {(fota_err)99, FOTA_RESULT_INSTALL_FAILED},
};

START_TEST(test_result_from_err)
{
	ck_assert_msg(fota_result_from_err(err_map[_i].code) == err_map[_i].result, "%s -> %s",
		      fota_strerror(err_map[_i].code),
		      fota_result_name(fota_result_from_err(err_map[_i].code)));
}
END_TEST

START_TEST(test_every_err_mapped)
{
	/* A new error code must get a row above. */
	ck_assert_int_eq(TU_N(err_map), FOTA_ERR__COUNT + 1);
}
END_TEST

START_TEST(test_final)
{
	for (int s = 0; s < FOTA_STATE__COUNT; s++) {
		bool want = s == FOTA_STATE_CONFIRMED || s == FOTA_STATE_ROLLED_BACK ||
			    s == FOTA_STATE_FAILED;

		ck_assert_msg(fota_state_is_final((enum fota_state)s) == want, "%s", state_wire[s]);
	}
}
END_TEST

static struct fota_status sample(void)
{
	struct fota_status s = {
	    .device = "gw-0001",
	    .state = FOTA_STATE_DOWNLOADING,
	    .result = FOTA_RESULT_NONE,
	    .reason = "resuming after restart: 12 of 16 chunks present",
	    .campaign = "spring-2026",
	    .image_id = "8f434346648f6b96",
	    .version = "1.3.1",
	    .model = "gw-100",
	    .hw_revision = "rev-c",
	    .sequence = 9007199254740991ull,
	    .bytes_received = 786432,
	    .image_size = 1000000,
	    .chunks_present = 12,
	    .chunk_count = 16,
	    .timestamp = 1795694400,
	    .groups = {"site-a", "gw-100-stable"},
	    .n_groups = 2,
	    .unverified = 3,
	};
	return s;
}

START_TEST(test_round_trip)
{
	struct fota_status a = sample(), b;
	struct fota_error err = {0};
	char *json = NULL;

	ck_assert_int_eq(fota_status_to_json(&a, &json, &err), FOTA_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"state\":\"downloading\""));
	ck_assert_ptr_nonnull(strstr(json, "\"sequence\":9007199254740991"));
	ck_assert_ptr_nonnull(strstr(json, "\"ts\":\"2026-11-26T12:00:00Z\""));
	ck_assert_ptr_nonnull(strstr(json, "\"hw\":\"rev-c\""));
	ck_assert_ptr_nonnull(strstr(json, "\"groups\":[\"site-a\",\"gw-100-stable\"]"));
	ck_assert_ptr_nonnull(strstr(json, "\"unverified\":3"));
	ck_assert_int_eq(fota_status_parse((const uint8_t *)json, strlen(json), &b, &err), FOTA_OK);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	free(json);
}
END_TEST

START_TEST(test_minimal_and_unknown)
{
	const char *j =
	    "{\"device\":\"gw-9\",\"state\":\"offline\",\"ts\":\"2026-11-26T12:00:00Z\","
	    "\"future\":{\"x\":[1,2]}}";
	struct fota_status s;
	struct fota_error err = {0};

	ck_assert_int_eq(fota_status_parse((const uint8_t *)j, strlen(j), &s, &err), FOTA_OK);
	ck_assert_int_eq(s.state, FOTA_STATE_OFFLINE);
	ck_assert_int_eq(s.result, FOTA_RESULT_NONE);
	ck_assert_str_eq(s.image_id, "");
	ck_assert_uint_eq(s.chunk_count, 0);
	ck_assert_uint_eq(s.unverified, 0);
}
END_TEST

#define TS ",\"ts\":\"2026-11-26T12:00:00Z\"}"

static const struct {
	const char *json;
	fota_err code;
	const char *msg;
} bad[] = {
    {"{\"state\":\"idle\"" TS, FOTA_ERR_FIELD, "device missing"},
    {"{\"device\":\"gw+1\",\"state\":\"idle\"" TS, FOTA_ERR_FIELD, "device 'gw+1'"},
    {"{\"device\":\"gw-1\"" TS, FOTA_ERR_FIELD, "state missing"},
    {"{\"device\":\"gw-1\",\"state\":\"sleeping\"" TS, FOTA_ERR_FIELD, "state 'sleeping' unknown"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"result\":\"ok\"" TS, FOTA_ERR_FIELD,
     "result 'ok' unknown"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\"}", FOTA_ERR_FIELD, "ts missing"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"ts\":1795694400}", FOTA_ERR_FIELD,
     "ts is not a string"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"present\":5,\"count\":4" TS, FOTA_ERR_FIELD,
     "present 5 > count 4"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"count\":32769" TS, FOTA_ERR_FIELD,
     "count 32769 out of range"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"image\":\"8F434346648F6B96\"" TS, FOTA_ERR_FIELD,
     "image is not empty or 16 lower-case hex digits"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"image\":\"8f434346648f6b96a\"" TS, FOTA_ERR_TOO_BIG,
     "image longer than 16 bytes"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"bytes\":1.5" TS, FOTA_ERR_FIELD,
     "bytes 1.5 is not an integer"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"campaign\":\"a/b\"" TS, FOTA_ERR_FIELD,
     "campaign 'a/b'"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"reason\":\"a\\nb\"" TS, FOTA_ERR_FIELD,
     "reason has byte 0x0a"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"state\":\"failed\"" TS, FOTA_ERR_PARSE,
     "duplicate member 'state'"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\"" TS "x", FOTA_ERR_PARSE, "malformed JSON"},
    {"[]", FOTA_ERR_PARSE, "not a JSON object"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"groups\":\"a\"" TS, FOTA_ERR_FIELD,
     "groups is not an array"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"groups\":[\"a/b\"]" TS, FOTA_ERR_FIELD,
     "group 'a/b' is not a valid name"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"groups\":[\"\"]" TS, FOTA_ERR_FIELD, "groups[]"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"groups\":[\"1\",\"2\",\"3\",\"4\",\"5\","
     "\"6\",\"7\",\"8\",\"9\"]" TS,
     FOTA_ERR_TOO_BIG, "groups"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"unverified\":-1" TS, FOTA_ERR_FIELD,
     "unverified -1 is not an integer"},
    {"{\"device\":\"gw-1\",\"state\":\"idle\",\"unverified\":\"2\"" TS, FOTA_ERR_FIELD,
     "unverified is not a number"},
};

START_TEST(test_bad)
{
	struct fota_status s;
	struct fota_error err = {0};
	fota_err rc =
	    fota_status_parse((const uint8_t *)bad[_i].json, strlen(bad[_i].json), &s, &err);

	ck_assert_msg(rc == bad[_i].code, "%s: got %s (%s)", bad[_i].json, fota_strerror(rc),
		      err.msg);
	ck_assert_msg(strncmp(err.msg, "status rejected: ", 17) == 0, "'%s'", err.msg);
	ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL, "'%s' lacks '%s'", err.msg,
		      bad[_i].msg);
}
END_TEST

START_TEST(test_limits)
{
	struct fota_status s = sample();
	struct fota_error err = {0};
	char *json = NULL;
	char *big = malloc(FOTA_MAX_STATUS_BYTES + 1);
	size_t n;

	ck_assert_int_eq(fota_status_to_json(&s, &json, &err), FOTA_OK);
	n = strlen(json);
	memset(big, ' ', FOTA_MAX_STATUS_BYTES + 1);
	memcpy(big, json, n);
	ck_assert_int_eq(fota_status_parse((uint8_t *)big, FOTA_MAX_STATUS_BYTES, &s, &err),
			 FOTA_OK);
	ck_assert_int_eq(fota_status_parse((uint8_t *)big, FOTA_MAX_STATUS_BYTES + 1, &s, &err),
			 FOTA_ERR_TOO_BIG);
	free(big);
	free(json);
	json = NULL;

	s = sample();
	memset(s.reason, 'r', sizeof(s.reason)); /* unterminated */
	ck_assert_int_eq(fota_status_to_json(&s, &json, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_null(json);
	s = sample();
	s.state = FOTA_STATE__COUNT;
	ck_assert_int_eq(fota_status_to_json(&s, &json, &err), FOTA_ERR_FIELD);
	s = sample();
	strcpy(s.device, "a/b");
	ck_assert_int_eq(fota_status_to_json(&s, &json, &err), FOTA_ERR_FIELD);
	s = sample();
	s.chunks_present = 17;
	ck_assert_int_eq(fota_status_to_json(&s, &json, &err), FOTA_ERR_FIELD);
	s = sample();
	s.bytes_received = 9007199254740992ull;
	ck_assert_int_eq(fota_status_to_json(&s, &json, &err), FOTA_ERR_FIELD);
}
END_TEST

static Suite *status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_state_names, 0, FOTA_STATE__COUNT);
	tcase_add_loop_test(tc, test_result_names, 0, FOTA_RESULT__COUNT);
	tcase_add_test(tc, test_unknown_names);
	tcase_add_loop_test(tc, test_result_from_err, 0, TU_N(err_map));
	tcase_add_test(tc, test_every_err_mapped);
	tcase_add_test(tc, test_final);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_minimal_and_unknown);
	tcase_add_loop_test(tc, test_bad, 0, TU_N(bad));
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(status_suite());
}
