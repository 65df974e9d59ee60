/* SPDX-License-Identifier: Apache-2.0 */
/* Group assignments: the document's rules and the device's decision to apply one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/assignment.h"
#include "fota/trust.h"
#include "testutil.h"

#define NOW 1800000000 /* 2027-01-15T08:00:00Z */

#define DOC(seq, dev, groups, created, expires)                                                    \
	"{\"schema\":\"fota-assignment/1\",\"assignment_seq\":" seq ",\"device\":\"" dev           \
	"\",\"created\":\"" created "\",\"expires\":\"" expires "\",\"groups\":" groups "}"
#define GOOD                                                                                       \
	DOC("3", "gw-1", "[\"lab\",\"canary\"]", "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z")

static fota_err parse(const char *doc, struct fota_assignment *a, struct fota_error *err)
{
	return fota_assignment_parse((const uint8_t *)doc, strlen(doc), a, err);
}

START_TEST(test_good_round_trip)
{
	struct fota_assignment a, b;
	struct fota_error err = {0};
	char *j1 = NULL, *j2 = NULL;

	ck_assert_msg(parse(GOOD, &a, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_uint_eq(a.assignment_seq, 3);
	ck_assert_str_eq(a.device, "gw-1");
	ck_assert_uint_eq(a.n_groups, 2);
	ck_assert_str_eq(a.groups[0], "lab");
	ck_assert_str_eq(a.groups[1], "canary");
	ck_assert_int_eq(a.expires - a.created, 365 * 86400);
	ck_assert_int_eq(fota_assignment_to_json(&a, &j1, &err), FOTA_OK);
	ck_assert_int_eq(parse(j1, &b, &err), FOTA_OK);
	ck_assert_int_eq(fota_assignment_to_json(&b, &j2, &err), FOTA_OK);
	ck_assert_str_eq(j1, j2);
	free(j1);
	free(j2);
}
END_TEST

START_TEST(test_no_groups_is_an_answer)
{
	struct fota_assignment a;
	struct fota_error err = {0};

	ck_assert_msg(parse(DOC("1", "gw-1", "[]", "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z"),
			    &a, &err) == FOTA_OK,
		      "%s", err.msg);
	ck_assert_uint_eq(a.n_groups, 0);
}
END_TEST

static const struct {
	const char *doc;
	fota_err want;
	const char *says;
} bad_cases[] = {
    {"{\"schema\":\"fota-directive/1\"}", FOTA_ERR_FIELD, "schema 'fota-directive/1'"},
    {DOC("0", "gw-1", "[]", "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z"), FOTA_ERR_FIELD,
     "assignment_seq"},
    {DOC("1", "gw/1", "[]", "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z"), FOTA_ERR_FIELD,
     "device"},
    {DOC("1", "gw-1", "[\"a+\"]", "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z"), FOTA_ERR_FIELD,
     "groups[0] 'a+'"},
    {DOC("1", "gw-1", "[\"a\",\"b\",\"a\"]", "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z"),
     FOTA_ERR_FIELD, "'a' is named twice"},
    {DOC("1", "gw-1", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]",
	 "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z"),
     FOTA_ERR_TOO_BIG, "groups"},
    {DOC("1", "gw-1", "[7]", "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z"), FOTA_ERR_FIELD,
     "groups[0]"},
    {DOC("1", "gw-1", "\"lab\"", "2027-01-15T07:00:00Z", "2028-01-15T07:00:00Z"), FOTA_ERR_FIELD,
     "groups"},
    {DOC("1", "gw-1", "[]", "2027-01-15T07:00:00Z", "2027-01-15T07:00:00Z"), FOTA_ERR_FIELD,
     "is not after created"},
    {"{\"schema\":\"fota-assignment/1\",\"assignment_seq\":1,\"device\":\"gw-1\","
     "\"created\":\"2027-01-15T07:00:00Z\",\"expires\":\"2028-01-15T07:00:00Z\"}",
     FOTA_ERR_FIELD, "groups"},
    {"[1,2]", FOTA_ERR_PARSE, "not a JSON object"},
};

START_TEST(test_bad)
{
	struct fota_assignment a;
	struct fota_error err = {0};
	fota_err rc = parse(bad_cases[_i].doc, &a, &err);

	tu_assert_rejected(rc, bad_cases[_i].want, &err,
			   "assignment rejected: ", bad_cases[_i].says, bad_cases[_i].doc);
	ck_assert_uint_eq(a.assignment_seq, 0); /* nothing half-filled */
}
END_TEST

START_TEST(test_size_limit)
{
	size_t n = FOTA_MAX_ASSIGNMENT_BYTES + 1;
	char *doc = malloc(n + 1);
	struct fota_assignment a;
	struct fota_error err = {0};

	memset(doc, ' ', n);
	memcpy(doc, GOOD, strlen(GOOD));
	doc[n] = '\0';
	ck_assert_int_eq(fota_assignment_parse((const uint8_t *)doc, n, &a, &err),
			 FOTA_ERR_TOO_BIG);
	ck_assert_int_eq(fota_assignment_parse((const uint8_t *)doc, n - 1, &a, &err), FOTA_OK);
	free(doc);
}
END_TEST

static const struct {
	const char *key;
	const char *device;
	uint64_t last_seq;
	int64_t now;
	fota_err want;
	const char *says;
} accept_cases[] = {
    {"orch-1", "gw-1", 0, NOW, FOTA_OK, ""},
    {"orch-1", "gw-1", 2, NOW, FOTA_OK, ""},
    {"rel-2", "gw-1", 0, NOW, FOTA_ERR_WRONG_ROLE, "assignment rejected"},
    {"orch-1", "gw-2", 0, NOW, FOTA_ERR_FIELD, "names device 'gw-1', this is 'gw-2'"},
    {"orch-1", "gw-1", 3, NOW, FOTA_ERR_ROLLBACK, "not newer than 3"},
    {"orch-1", "gw-1", 9, NOW, FOTA_ERR_ROLLBACK, "not newer than 9"},
    {"orch-1", "gw-1", 0, NOW + 366LL * 86400, FOTA_ERR_EXPIRED, "expired at"},
};

START_TEST(test_accept)
{
	struct fota_trust *trust = tu_trust();
	struct fota_assignment a;
	struct fota_error err = {0};
	char *env = tu_sign(accept_cases[_i].key, GOOD);
	fota_err rc;

	rc = fota_assignment_accept(trust, (const uint8_t *)env, strlen(env),
				    accept_cases[_i].device, accept_cases[_i].last_seq,
				    accept_cases[_i].now, &a, &err);
	if (accept_cases[_i].want == FOTA_OK) {
		ck_assert_msg(rc == FOTA_OK, "%s", err.msg);
		ck_assert_uint_eq(a.assignment_seq, 3);
		ck_assert_str_eq(a.groups[1], "canary");
	} else {
		tu_assert_rejected(rc, accept_cases[_i].want, &err, "assignment ",
				   accept_cases[_i].says, accept_cases[_i].key);
		ck_assert_uint_eq(a.n_groups, 0);
	}
	/* A tampered payload never verifies. */
	env[strlen(env) / 3] ^= 1;
	ck_assert_int_ne(fota_assignment_accept(trust, (const uint8_t *)env, strlen(env), "gw-1", 0,
						NOW, &a, &err),
			 FOTA_OK);
	free(env);
	fota_trust_free(trust);
}
END_TEST

static Suite *assignment_suite(void)
{
	Suite *s = suite_create("assignment");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_good_round_trip);
	tcase_add_test(tc, test_no_groups_is_an_answer);
	tcase_add_loop_test(tc, test_bad, 0, TU_N(bad_cases));
	tcase_add_test(tc, test_size_limit);
	tcase_add_loop_test(tc, test_accept, 0, TU_N(accept_cases));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(assignment_suite());
}
