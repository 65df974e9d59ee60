/* SPDX-License-Identifier: Apache-2.0 */
/* Shared JSON rules: strict loading, duplicate members, the 2^53 integer bound, exact integer
 * printing, string limits and the typed getters every document codec relies on. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/src/json.h"
#include "fota/limits.h"
#include "testutil.h"

#define PFX "doc rejected: "

/* Every failure message starts with the caller's prefix and names the reason. */
static void assert_err(fota_err rc, fota_err want, const struct fota_error *err, const char *why)
{
	tu_assert_rejected(rc, want, err, PFX, why, "json");
	if (want != FOTA_OK)
		ck_assert_int_eq(err->code, want);
}

static fota_err load(const char *json, size_t max, cJSON **root, struct fota_error *err)
{
	return fota__json_load((const uint8_t *)json, strlen(json), max, root, PFX, err);
}

struct load_case {
	const char *json;
	fota_err code;
	const char *msg;
};

/* A load gave the case's outcome, and a root exactly when it succeeded; frees the root. */
static void assert_loaded(fota_err rc, cJSON *root, const struct load_case *c,
			  const struct fota_error *err)
{
	assert_err(rc, c->code, err, c->msg);
	if (rc == FOTA_OK)
		ck_assert_ptr_nonnull(root);
	else
		ck_assert_ptr_null(root);
	cJSON_Delete(root);
}

static const struct load_case load_cases[] = {
    {"{\"a\":1,\"b\":2}", FOTA_OK, ""},
    {"{\"a\":1,\"A\":2}", FOTA_OK, ""}, /* names compare case-sensitively */
    {"{\"a\":{\"a\":1}}", FOTA_OK, ""}, /* same name at different depths is fine */
    {"{\"a\":1,\"a\":2}", FOTA_ERR_PARSE, "duplicate member 'a'"},
    {"{\"a\":1,\"b\":2,\"c\":3,\"b\":4}", FOTA_ERR_PARSE, "duplicate member 'b'"},
    {"{\"o\":{\"x\":1,\"x\":1}}", FOTA_ERR_PARSE, "duplicate member 'x'"},
    {"{\"l\":[{\"ok\":1},{\"y\":1,\"y\":2}]}", FOTA_ERR_PARSE, "duplicate member 'y'"},
    {"{\"l\":[[{\"deep\":1,\"deep\":1}]]}", FOTA_ERR_PARSE, "duplicate member 'deep'"},
    {"", FOTA_ERR_PARSE, "empty document"},
    {"[1,2]", FOTA_ERR_PARSE, "not a JSON object"},
    {"\"s\"", FOTA_ERR_PARSE, "not a JSON object"},
    {"{\"a\":1} x", FOTA_ERR_PARSE, "malformed JSON"},
    {"{\"a\":1}{}", FOTA_ERR_PARSE, "malformed JSON"},
    {"{\"a\":}", FOTA_ERR_PARSE, "malformed JSON near byte"},
    {"{\"a\":\"x\\u0000y\"}", FOTA_ERR_PARSE, "\\u0000 escape"},
    {"{\"a\":\"x\\\\u0000\"}", FOTA_OK, ""}, /* an escaped backslash, then plain text */
};

START_TEST(test_load_cases)
{
	struct fota_error err = {0};
	cJSON *root = (cJSON *)1;
	fota_err rc = load(load_cases[_i].json, 4096, &root, &err);

	assert_loaded(rc, root, &load_cases[_i], &err);
}
END_TEST

/* Exactly RFC 8259: every input a lenient reader (cJSON) takes but the grammar refuses is
 * refused with the offset of the first byte that cannot continue a JSON text, and what the
 * grammar allows is read. */
static const struct {
	const char *json;
	const char *msg; /* "" when the input is valid */
} strict_cases[] = {
    /* numbers */
    {"{\"n\":060}", "malformed JSON near byte 6"},
    {"{\"n\":0960}", "malformed JSON near byte 6"},
    {"{\"n\":-01}", "malformed JSON near byte 7"},
    {"{\"n\":61.}", "malformed JSON near byte 8"},
    {"{\"n\":1.e5}", "malformed JSON near byte 7"},
    {"{\"n\":.5}", "malformed JSON near byte 5"},
    {"{\"n\":-.5}", "malformed JSON near byte 6"},
    {"{\"n\":+1}", "malformed JSON near byte 5"},
    {"{\"n\":1e}", "malformed JSON near byte 7"},
    {"{\"n\":1e+}", "malformed JSON near byte 8"},
    {"{\"n\":0x10}", "malformed JSON near byte 6"},
    {"{\"n\":-}", "malformed JSON near byte 6"},
    {"{\"n\":NaN}", "malformed JSON near byte 5"},
    {"{\"n\":Infinity}", "malformed JSON near byte 5"},
    {"{\"n\":0}", ""},
    {"{\"n\":-0}", ""},
    {"{\"n\":42.0}", ""},
    {"{\"n\":4.2e1}", ""},
    {"{\"n\":1E+5}", ""},
    {"{\"n\":1.5e-3}", ""},
    /* whitespace is space, tab, line feed and carriage return only */
    {"{\f\"n\":1}", "malformed JSON near byte 1"},
    {"{\"n\":1}\f", "malformed JSON near byte 7"},
    {"\v{\"n\":1}", "malformed JSON near byte 0"},
    {"{\"n\":1\x01}", "malformed JSON near byte 6"},
    {"\xc2\xa0{}", "malformed JSON near byte 0"},
    {"\xef\xbb\xbf{}", "malformed JSON near byte 0"}, /* no byte order mark */
    {" \t\r\n{ \"n\" : 1 }\r\n\t ", ""},
    /* structure: one value, nothing after it, no extensions */
    {"{}{\"alg\":\"none\"}", "malformed JSON near byte 2"},
    {"{\"a\":1,}", "malformed JSON near byte 7"},
    {"{'a':1}", "malformed JSON near byte 1"},
    {"{a:1}", "malformed JSON near byte 1"},
    {"{\"a\":1/*c*/}", "malformed JSON near byte 6"},
    {"{\"a\" 1}", "malformed JSON near byte 5"},
    {"{\"a\":tru}", "malformed JSON near byte 8"},
    {"{\"a\":True}", "malformed JSON near byte 5"},
    {"{\"a\":[1,]}", "malformed JSON near byte 8"},
    {"{\"a\":[1 2]}", "malformed JSON near byte 8"},
    {"{\"a\":1", "malformed JSON near byte 6"},
    /* strings: escaped control characters, valid escapes and UTF-8 only */
    {"{\"s\":\"a\tb\"}", "malformed JSON near byte 7"},
    {"{\"s\":\"a\nb\"}", "malformed JSON near byte 7"},
    {"{\"s\":\"\\x41\"}", "malformed JSON near byte 7"},
    {"{\"s\":\"\\u12G4\"}", "malformed JSON near byte 10"},
    {"{\"s\":\"\\udc00\"}", "malformed JSON near byte 6"},
    {"{\"s\":\"\\ud800\"}", "malformed JSON near byte 12"},
    {"{\"s\":\"\\ud800\\u0041\"}", "malformed JSON near byte 12"},
    {"{\"s\":\"\xc0\xaf\"}", "malformed JSON near byte 6"},	    /* overlong '/' */
    {"{\"s\":\"\xed\xa0\x80\"}", "malformed JSON near byte 7"},	    /* UTF-8 surrogate */
    {"{\"s\":\"\xf4\x90\x80\x80\"}", "malformed JSON near byte 7"}, /* above U+10FFFF */
    {"{\"s\":\"\xe2\x82\"}", "malformed JSON near byte 8"},	    /* cut short */
    {"{\"s\":\"\x80\"}", "malformed JSON near byte 6"},
    {"{\"s\":\"\xff\"}", "malformed JSON near byte 6"},
    {"{\"s\":\"\\ud83d\\ude00 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"}", ""},
    {"{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00E9\"}", ""},
    /* NUL in any spelling, checked before the grammar */
    {"{\"kid\":\"orch-1\\u0000evil\"}", "\\u0000 escape in a string"},
};

START_TEST(test_strict_cases)
{
	struct fota_error err = {0};
	cJSON *root = (cJSON *)1;
	fota_err rc = load(strict_cases[_i].json, 4096, &root, &err);

	if (strict_cases[_i].msg[0] == '\0') {
		ck_assert_msg(rc == FOTA_OK, "'%s': %s", strict_cases[_i].json, err.msg);
		ck_assert_ptr_nonnull(root);
	} else {
		ck_assert_msg(rc == FOTA_ERR_PARSE, "'%s' accepted", strict_cases[_i].json);
		ck_assert_str_eq(err.msg + strlen(PFX), strict_cases[_i].msg);
		ck_assert_ptr_null(root);
	}
	cJSON_Delete(root);
}
END_TEST

/* {"a":[[...]]} with levels containers in all. */
static void nested(char *json, int levels)
{
	size_t n = (size_t)sprintf(json, "{\"a\":");

	for (int i = 1; i < levels; i++)
		json[n++] = '[';
	for (int i = 1; i < levels; i++)
		json[n++] = ']';
	json[n++] = '}';
	json[n] = '\0';
}

/* Nesting is bounded so that no input can exhaust the stack of the reader. */
START_TEST(test_depth_limit)
{
	struct fota_error err = {0};
	char json[2 * FOTA_MAX_JSON_DEPTH + 16];
	cJSON *root = NULL;

	nested(json, FOTA_MAX_JSON_DEPTH);
	ck_assert_msg(load(json, sizeof(json), &root, &err) == FOTA_OK, "%s", err.msg);
	cJSON_Delete(root);
	nested(json, FOTA_MAX_JSON_DEPTH + 1);
	assert_err(load(json, sizeof(json), &root, &err), FOTA_ERR_TOO_BIG, &err,
		   "nested deeper than 32 levels near byte 36");
	ck_assert_ptr_null(root);
}
END_TEST

START_TEST(test_load_bytes)
{
	struct fota_error err = {0};
	const char doc[] = "{\"a\":1}";
	const uint8_t nul[] = {'{', '}', '\0'};
	cJSON *root = NULL;

	/* The limit is inclusive and applies before any parsing. */
	ck_assert_int_eq(load(doc, sizeof(doc) - 1, &root, &err), FOTA_OK);
	cJSON_Delete(root);
	assert_err(load(doc, sizeof(doc) - 2, &root, &err), FOTA_ERR_TOO_BIG, &err,
		   "7 bytes, limit 6");
	ck_assert_ptr_null(root);
	assert_err(fota__json_load(nul, sizeof(nul), 16, &root, PFX, &err), FOTA_ERR_PARSE, &err,
		   "NUL byte");
	assert_err(fota__json_load(NULL, 3, 16, &root, PFX, &err), FOTA_ERR_INVAL, &err,
		   "no input");
	/* Exactly len bytes are read: a document cut short is malformed, not read past. */
	assert_err(fota__json_load((const uint8_t *)doc, 5, 16, &root, PFX, &err), FOTA_ERR_PARSE,
		   &err, "malformed JSON");
}
END_TEST

/* A document names its kind first; another kind, or none, is refused before any member. */
static const struct load_case kind_cases[] = {
    {"{\"schema\":\"fota.doc/v1\",\"x\":1}", FOTA_OK, ""},
    {"{\"schema\":\"fota.doc/v2\"}", FOTA_ERR_FIELD, "schema 'fota.doc/v2' is not 'fota.doc/v1'"},
    {"{\"type\":\"fota.doc/v1\"}", FOTA_ERR_FIELD, "schema missing"},
    {"{\"schema\":7}", FOTA_ERR_FIELD, "schema"},
    {"{\"schema\":\"\"}", FOTA_ERR_FIELD, "schema"},
    {"{\"schema\":\"fota.doc/v1\",\"schema\":\"x\"}", FOTA_ERR_PARSE, "duplicate member"},
    {"{\"schema\":\"fota.doc/v1\",\"pad\":\"too long for the limit\"}", FOTA_ERR_TOO_BIG,
     "limit 48"},
};

START_TEST(test_load_kind_cases)
{
	struct fota_error err = {0};
	cJSON *root = (cJSON *)1;
	const char *json = kind_cases[_i].json;
	fota_err rc = fota__json_load_kind((const uint8_t *)json, strlen(json), 48, "schema",
					   "fota.doc/v1", &root, PFX, &err);

	assert_loaded(rc, root, &kind_cases[_i], &err);
}
END_TEST

static const struct {
	const char *value;
	uint64_t min, max;
	fota_err code;
	uint64_t want;
	const char *msg;
} int_cases[] = {
    {"0", 0, FOTA__JSON_MAX_INT, FOTA_OK, 0, ""},
    {"9007199254740991", 0, FOTA__JSON_MAX_INT, FOTA_OK, 9007199254740991ull, ""},
    {"9007199254740992", 0, UINT64_MAX, FOTA_ERR_FIELD, 0,
     "n 9007199254740992 is not an integer in 0..9007199254740991"},
    /* The document's own digits, not the double they round to (...992). */
    {"9007199254740993", 0, UINT64_MAX, FOTA_ERR_FIELD, 0,
     "n 9007199254740993 is not an integer in 0..9007199254740991"},
    {"12345678901234567890123456789012345678901234567890", 0, UINT64_MAX, FOTA_ERR_FIELD, 0,
     "n 1234567890123456789012345678901234567890... is not an integer"},
    {"1e300", 0, UINT64_MAX, FOTA_ERR_FIELD, 0, "n 1e300 is not an integer"},
    {"18446744073709551615", 0, UINT64_MAX, FOTA_ERR_FIELD, 0, "is not an integer"},
    {"-1", 0, 10, FOTA_ERR_FIELD, 0, "n -1 is not an integer"},
    {"1.5", 0, 10, FOTA_ERR_FIELD, 0, "n 1.5 is not an integer"},
    {"2.0", 0, 10, FOTA_OK, 2, ""},
    {"\"5\"", 0, 10, FOTA_ERR_FIELD, 0, "n is not a number"},
    {"true", 0, 10, FOTA_ERR_FIELD, 0, "n is not a number"},
    {"null", 0, 10, FOTA_ERR_FIELD, 0, "n is not a number"},
    {"11", 0, 10, FOTA_ERR_FIELD, 0, "n 11 out of range 0..10"},
    {"0", 1, 10, FOTA_ERR_FIELD, 0, "n 0 out of range 1..10"},
    {"10", 1, 10, FOTA_OK, 10, ""},
};

START_TEST(test_int_cases)
{
	struct fota_error err = {0};
	char json[64];
	cJSON *root = NULL;
	uint64_t v = 0;
	fota_err rc;

	snprintf(json, sizeof(json), "{\"n\":%s}", int_cases[_i].value);
	ck_assert_int_eq(load(json, 64, &root, &err), FOTA_OK);
	rc = fota__json_get_uint(root, "n", int_cases[_i].min, int_cases[_i].max, &v, PFX, &err);
	assert_err(rc, int_cases[_i].code, &err, int_cases[_i].msg);
	if (rc == FOTA_OK)
		ck_assert_uint_eq(v, int_cases[_i].want);
	cJSON_Delete(root);
}
END_TEST

START_TEST(test_add_uint_exact)
{
	static const struct {
		uint64_t v;
		const char *text;
	} cases[] = {
	    {0, "{\"n\":0}"},
	    {9007199254740991ull, "{\"n\":9007199254740991}"},
	    {1234567890123456ull, "{\"n\":1234567890123456}"},
	    {UINT64_MAX, "{\"n\":18446744073709551615}"},
	};

	for (int i = 0; i < TU_N(cases); i++) {
		struct fota_error err = {0};
		cJSON *obj = cJSON_CreateObject();
		cJSON *back = NULL;
		uint64_t v = 0;
		char *text;

		ck_assert(fota__json_add_uint(obj, "n", cases[i].v));
		text = cJSON_PrintUnformatted(obj);
		ck_assert_str_eq(text, cases[i].text);
		/* What is written within the bound reads back as the same number. */
		if (cases[i].v <= FOTA__JSON_MAX_INT) {
			ck_assert_int_eq(load(text, 64, &back, &err), FOTA_OK);
			ck_assert_int_eq(
			    fota__json_get_uint(back, "n", 0, FOTA__JSON_MAX_INT, &v, PFX, &err),
			    FOTA_OK);
			ck_assert_uint_eq(v, cases[i].v);
		}
		cJSON_Delete(back);
		cJSON_free(text);
		cJSON_Delete(obj);
	}
}
END_TEST

static const struct {
	const char *value;
	size_t min, max;
	fota_err code;
	const char *msg;
} str_cases[] = {
    {"\"abcd\"", 1, 4, FOTA_OK, ""},
    {"\"abcde\"", 1, 4, FOTA_ERR_TOO_BIG, "s longer than 4 bytes"},
    {"\"\"", 1, 4, FOTA_ERR_FIELD, "s is empty"},
    {"\"\"", 0, 4, FOTA_OK, ""},
    {"\"a\\tb\"", 1, 4, FOTA_ERR_FIELD, "s has byte 0x09, not printable ASCII"},
    {"\"a\\u007fb\"", 1, 4, FOTA_ERR_FIELD, "s has byte 0x7f"},
    {"\"\\u00e9\"", 1, 4, FOTA_ERR_FIELD, "s has byte 0xc3"},
    {"\"~ !\"", 1, 4, FOTA_OK, ""},
    {"7", 1, 4, FOTA_ERR_FIELD, "s is not a string"},
    {"null", 1, 4, FOTA_ERR_FIELD, "s is not a string"},
};

START_TEST(test_string_cases)
{
	struct fota_error err = {0};
	char json[64];
	cJSON *root = NULL;
	const char *s = NULL;
	fota_err rc;

	snprintf(json, sizeof(json), "{\"s\":%s}", str_cases[_i].value);
	ck_assert_int_eq(load(json, 64, &root, &err), FOTA_OK);
	rc = fota__json_get_string(root, "s", true, str_cases[_i].min, str_cases[_i].max, &s, PFX,
				   &err);
	assert_err(rc, str_cases[_i].code, &err, str_cases[_i].msg);
	if (rc == FOTA_OK)
		ck_assert_ptr_nonnull(s);
	cJSON_Delete(root);
}
END_TEST

START_TEST(test_check_text)
{
	struct fota_error err = {0};
	char buf[5] = {'a', 'b', 'c', 'd', 'e'}; /* unterminated: only max + 1 bytes are read */

	assert_err(fota__json_check_text(buf, 1, 4, "buf", PFX, &err), FOTA_ERR_TOO_BIG, &err,
		   "buf longer than 4 bytes");
	buf[4] = '\0';
	ck_assert_int_eq(fota__json_check_text(buf, 1, 4, "buf", PFX, &err), FOTA_OK);
	buf[1] = '\n';
	ck_assert_int_eq(fota__json_check_text(buf, 1, 4, "buf", PFX, NULL), FOTA_ERR_FIELD);
}
END_TEST

START_TEST(test_getters)
{
	struct fota_error err = {0};
	cJSON *root = NULL;
	const cJSON *it = NULL;
	const char *s = (const char *)1;
	bool b = false;
	int e = -1;
	int64_t t = 0;
	uint8_t hex[2];
	bool present = true;
	static const char *const colours[] = {"red", "green"};
	const char doc[] = "{\"o\":{\"k\":true,\"h\":\"0aff\",\"H\":\"0AFF\",\"c\":\"green\","
			   "\"x\":\"blue\",\"t\":\"2024-01-02T03:04:05Z\",\"bad\":\"2024\"},"
			   "\"l\":[1,2,3],\"n\":1}";

	ck_assert_int_eq(load(doc, sizeof(doc), &root, &err), FOTA_OK);
	/* Dotted paths: only the last component is looked up, the whole path is reported. */
	ck_assert_int_eq(fota__json_get_object(root, "o", true, &it, PFX, &err), FOTA_OK);
	ck_assert_ptr_eq(fota__json_member(it, "o.k"), cJSON_GetObjectItem(it, "k"));
	assert_err(fota__json_get_object(root, "n", true, &it, PFX, &err), FOTA_ERR_FIELD, &err,
		   "n is not an object");
	assert_err(fota__json_get_object(root, "gone", true, &it, PFX, &err), FOTA_ERR_FIELD, &err,
		   "gone missing");
	ck_assert_int_eq(fota__json_get_object(root, "gone", false, &it, PFX, &err), FOTA_OK);
	ck_assert_ptr_null(it);
	fota__json_get_object(root, "o", true, &it, PFX, &err);

	ck_assert_int_eq(fota__json_get_bool(it, "o.k", true, &b, PFX, &err), FOTA_OK);
	ck_assert(b);
	assert_err(fota__json_get_bool(it, "o.h", true, &b, PFX, &err), FOTA_ERR_FIELD, &err,
		   "o.h is not true or false");
	ck_assert_int_eq(fota__json_get_string(it, "o.none", false, 1, 9, &s, PFX, &err), FOTA_OK);
	ck_assert_ptr_null(s);

	ck_assert_int_eq(fota__json_get_hex(it, "o.h", true, &present, hex, 2, PFX, &err), FOTA_OK);
	ck_assert(present);
	ck_assert_uint_eq(hex[0], 0x0a);
	ck_assert_uint_eq(hex[1], 0xff);
	assert_err(fota__json_get_hex(it, "o.H", true, NULL, hex, 2, PFX, &err), FOTA_ERR_FIELD,
		   &err, "o.H is not 4 lower-case hex digits");
	assert_err(fota__json_get_hex(it, "o.h", true, NULL, hex, 1, PFX, &err), FOTA_ERR_FIELD,
		   &err, "o.h is not 2 lower-case hex digits");
	ck_assert_int_eq(fota__json_get_hex(it, "o.none", false, &present, hex, 2, PFX, &err),
			 FOTA_OK);
	ck_assert(!present);

	ck_assert_int_eq(fota__json_get_enum(it, "o.c", colours, 2, "red or green", &e, PFX, &err),
			 FOTA_OK);
	ck_assert_int_eq(e, 1);
	assert_err(fota__json_get_enum(it, "o.x", colours, 2, "red or green", &e, PFX, &err),
		   FOTA_ERR_FIELD, &err, "o.x 'blue' is not red or green");

	ck_assert_int_eq(fota__json_get_time(it, "o.t", &t, PFX, &err), FOTA_OK);
	ck_assert_int_eq(t, 1704164645);
	assert_err(fota__json_get_time(it, "o.bad", &t, PFX, &err), FOTA_ERR_FIELD, &err, "o.bad ");
	assert_err(fota__json_get_time(it, "o.k", &t, PFX, &err), FOTA_ERR_FIELD, &err,
		   "o.k is not a string");

	ck_assert_int_eq(fota__json_get_array(root, "l", true, 3, &it, PFX, &err), FOTA_OK);
	assert_err(fota__json_get_array(root, "l", true, 2, &it, PFX, &err), FOTA_ERR_TOO_BIG, &err,
		   "l has more than 2 items");
	assert_err(fota__json_get_array(root, "o", true, 9, &it, PFX, &err), FOTA_ERR_FIELD, &err,
		   "o is not an array");
	cJSON_Delete(root);
}
END_TEST

START_TEST(test_small_helpers)
{
	cJSON *o = cJSON_Parse("{\"s\":\"v\",\"n\":1}");
	cJSON *back = NULL;
	struct fota_error err = {0};
	int64_t t = 0;
	char *text;

	ck_assert_str_eq(fota__json_find_string(o, "s"), "v");
	ck_assert_ptr_null(fota__json_find_string(o, "n"));
	ck_assert_ptr_null(fota__json_find_string(o, "S"));
	cJSON_Delete(o);

	ck_assert(fota__json_is_hex("09af", 4));
	ck_assert(!fota__json_is_hex("09aF", 4));
	ck_assert(!fota__json_is_hex("09af0", 4));
	ck_assert(!fota__json_is_hex("09a", 4));

	ck_assert(fota__json_time_ok(0));
	ck_assert(fota__json_time_ok(253402300799)); /* 9999-12-31T23:59:59Z */
	ck_assert(!fota__json_time_ok(253402300800));
	ck_assert(!fota__json_time_ok(-1));

	o = cJSON_CreateObject();
	ck_assert(fota__json_add_time(o, "t", 1704164645));
	text = cJSON_PrintUnformatted(o);
	ck_assert_str_eq(text, "{\"t\":\"2024-01-02T03:04:05Z\"}");
	ck_assert_int_eq(load(text, 64, &back, &err), FOTA_OK);
	ck_assert_int_eq(fota__json_get_time(back, "t", &t, PFX, &err), FOTA_OK);
	ck_assert_int_eq(t, 1704164645);
	cJSON_Delete(back);
	cJSON_free(text);
	cJSON_Delete(o);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_load_cases, 0, TU_N(load_cases));
	tcase_add_test(tc, test_load_bytes);
	tcase_add_loop_test(tc, test_load_kind_cases, 0, TU_N(kind_cases));
	tcase_add_loop_test(tc, test_strict_cases, 0, TU_N(strict_cases));
	tcase_add_test(tc, test_depth_limit);
	tcase_add_loop_test(tc, test_int_cases, 0, TU_N(int_cases));
	tcase_add_test(tc, test_add_uint_exact);
	tcase_add_loop_test(tc, test_string_cases, 0, TU_N(str_cases));
	tcase_add_test(tc, test_check_text);
	tcase_add_test(tc, test_getters);
	tcase_add_test(tc, test_small_helpers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(json_suite());
}
