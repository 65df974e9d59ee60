/* SPDX-License-Identifier: Apache-2.0 */
/* Key documents: the document's rules and the device's decision to use one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/key_doc.h"
#include "fota/trust.h"
#include "testutil.h"

#define DOC(seq, dev, id, jwe)                                                                     \
	"{\"type\":\"fota-key/1\",\"device\":\"" dev "\",\"image_id\":\"" id "\",\"seq\":" seq     \
	",\"jwe\":" jwe "}"
#define GOOD DOC("3", "gw-1", "8f434346648f6b96", "\"aGVhZGVy.a2V5.aXY.Y3Q.dGFn\"")

static fota_err parse(const char *doc, struct fota_key_doc *k, struct fota_error *err)
{
	return fota_key_doc_parse((const uint8_t *)doc, strlen(doc), k, err);
}

START_TEST(test_good_round_trip)
{
	struct fota_key_doc a, b;
	struct fota_error err = {0};
	char *j1 = NULL, *j2 = NULL;

	ck_assert_msg(parse(GOOD, &a, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_uint_eq(a.seq, 3);
	ck_assert_str_eq(a.device, "gw-1");
	ck_assert_str_eq(a.image_id, "8f434346648f6b96");
	ck_assert_str_eq(a.jwe, "aGVhZGVy.a2V5.aXY.Y3Q.dGFn");
	ck_assert_int_eq(fota_key_doc_to_json(&a, &j1, &err), FOTA_OK);
	ck_assert_str_eq(j1, GOOD);
	ck_assert_int_eq(parse(j1, &b, &err), FOTA_OK);
	ck_assert_int_eq(fota_key_doc_to_json(&b, &j2, &err), FOTA_OK);
	ck_assert_str_eq(j1, j2);
	free(j1);
	free(j2);
}
END_TEST

static const struct {
	const char *doc;
	fota_err want;
	const char *says;
} bad_cases[] = {
    {"{\"type\":\"fota-assignment/1\"}", FOTA_ERR_FIELD, "type 'fota-assignment/1'"},
    {"{\"device\":\"gw-1\"}", FOTA_ERR_FIELD, "type missing"},
    {DOC("0", "gw-1", "8f434346648f6b96", "\"a.b.c.d.e\""), FOTA_ERR_FIELD, "seq 0 out of range"},
    {DOC("1", "gw/1", "8f434346648f6b96", "\"a.b.c.d.e\""), FOTA_ERR_FIELD, "device"},
    {DOC("1", "gw-1", "8F434346648F6B96", "\"a.b.c.d.e\""), FOTA_ERR_FIELD,
     "image_id is not 16 lower-case hex digits"},
    {DOC("1", "gw-1", "8f434346", "\"a.b.c.d.e\""), FOTA_ERR_FIELD, "image_id"},
    {DOC("1", "gw-1", "8f434346648f6b96", "\"\""), FOTA_ERR_FIELD, "jwe"},
    {DOC("1", "gw-1", "8f434346648f6b96", "7"), FOTA_ERR_FIELD, "jwe is not a string"},
    {DOC("1", "gw-1", "8f434346648f6b96", "\"a\\nb\""), FOTA_ERR_FIELD, "jwe"},
    {"[1,2]", FOTA_ERR_PARSE, "not a JSON object"},
};

START_TEST(test_bad)
{
	struct fota_key_doc k;
	struct fota_error err = {0};
	fota_err rc = parse(bad_cases[_i].doc, &k, &err);

	tu_assert_rejected(rc, bad_cases[_i].want, &err,
			   "key document rejected: ", bad_cases[_i].says, bad_cases[_i].doc);
	ck_assert_uint_eq(k.seq, 0); /* nothing half-filled */
}
END_TEST

START_TEST(test_size_limits)
{
	size_t n = FOTA_MAX_KEY_DOC_BYTES + 1;
	char *doc = malloc(n + 1), *jwe = malloc(FOTA_MAX_JWE_BYTES + 4);
	struct fota_key_doc k;
	struct fota_error err = {0};

	memset(doc, ' ', n);
	memcpy(doc, GOOD, strlen(GOOD));
	doc[n] = '\0';
	ck_assert_int_eq(fota_key_doc_parse((const uint8_t *)doc, n, &k, &err), FOTA_ERR_TOO_BIG);
	ck_assert_int_eq(fota_key_doc_parse((const uint8_t *)doc, n - 1, &k, &err), FOTA_OK);
	/* A JWE one byte over its own limit, in a document under its limit. */
	jwe[0] = '"';
	memset(jwe + 1, 'A', FOTA_MAX_JWE_BYTES + 1);
	strcpy(jwe + FOTA_MAX_JWE_BYTES + 2, "\"");
	snprintf(doc, n, DOC("1", "gw-1", "8f434346648f6b96", "%s"), jwe);
	ck_assert_int_eq(parse(doc, &k, &err), FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "jwe longer than 2048 bytes"));
	free(doc);
	free(jwe);
}
END_TEST

static const struct {
	const char *key;
	const char *device;
	uint64_t last_seq;
	fota_err want;
	const char *says;
} accept_cases[] = {
    {"orch-1", "gw-1", 0, FOTA_OK, ""},
    {"orch-1", "gw-1", 3, FOTA_OK, ""}, /* the same document again */
    {"rel-2", "gw-1", 0, FOTA_ERR_WRONG_ROLE, "key document rejected"},
    {"orch-1", "gw-2", 0, FOTA_ERR_FIELD, "names device 'gw-1', this is 'gw-2'"},
    {"orch-1", "gw-1", 4, FOTA_ERR_ROLLBACK, "older than 4, the one in use"},
};

START_TEST(test_accept)
{
	struct fota_trust *trust = tu_trust();
	struct fota_key_doc k;
	struct fota_error err = {0};
	char *env = tu_sign(accept_cases[_i].key, GOOD);
	fota_err rc;

	rc = fota_key_doc_accept(trust, (const uint8_t *)env, strlen(env), accept_cases[_i].device,
				 accept_cases[_i].last_seq, &k, &err);
	if (accept_cases[_i].want == FOTA_OK) {
		ck_assert_msg(rc == FOTA_OK, "%s", err.msg);
		ck_assert_uint_eq(k.seq, 3);
		ck_assert_str_eq(k.image_id, "8f434346648f6b96");
	} else {
		tu_assert_rejected(rc, accept_cases[_i].want, &err, "key document ",
				   accept_cases[_i].says, accept_cases[_i].key);
		ck_assert_uint_eq(k.seq, 0);
	}
	/* A tampered payload never verifies. */
	env[strlen(env) / 3] ^= 1;
	ck_assert_int_ne(
	    fota_key_doc_accept(trust, (const uint8_t *)env, strlen(env), "gw-1", 0, &k, &err),
	    FOTA_OK);
	free(env);
	fota_trust_free(trust);
}
END_TEST

static Suite *key_doc_suite(void)
{
	Suite *s = suite_create("key_doc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_good_round_trip);
	tcase_add_loop_test(tc, test_bad, 0, TU_N(bad_cases));
	tcase_add_test(tc, test_size_limits);
	tcase_add_loop_test(tc, test_accept, 0, TU_N(accept_cases));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(key_doc_suite());
}
