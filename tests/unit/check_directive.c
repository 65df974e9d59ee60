/* SPDX-License-Identifier: Apache-2.0 */
/* Campaign directives from tests/data/directive, limits, and the admission bucket properties. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/directive.h"
#include "testutil.h"

#define DATA FOTA_TEST_DATA "/directive/"

static uint8_t *slurp(const char *name, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), DATA "%s", name);
	return tu_read_file(path, len);
}

static void load(const char *name, struct fota_directive *d)
{
	struct fota_error err = {0};
	size_t len;
	uint8_t *buf = slurp(name, &len);

	ck_assert_msg(fota_directive_parse(buf, len, d, &err) == FOTA_OK, "%s: %s", name, err.msg);
	free(buf);
}

START_TEST(test_good_fields)
{
	struct fota_directive d;
	char hex[FOTA_SHA256_HEX_LEN + 1];

	load("good.json", &d);
	ck_assert_uint_eq(d.directive_seq, 7);
	ck_assert_str_eq(d.campaign_id, "spring-2026");
	ck_assert_str_eq(d.group, "eu-gateways");
	ck_assert_int_eq(d.expires - d.created, 30 * 86400);
	ck_assert_int_eq(d.not_before, d.created + 12 * 3600);
	ck_assert_int_gt(d.not_after, d.not_before);
	ck_assert_int_eq(d.state, FOTA_CAMPAIGN_ACTIVE);
	fota_hex_encode(d.manifest_sha256, FOTA_SHA256_LEN, hex);
	ck_assert_str_eq(hex, "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4");
	ck_assert_ptr_nonnull(d.manifest_jws);
	ck_assert_uint_eq(d.manifest_jws_len, strlen(d.manifest_jws));
	ck_assert(strncmp(d.manifest_jws, "{\"payload\":", 11) == 0);
	ck_assert(!d.admit_all);
	ck_assert_uint_eq(d.admit_percent, 10);
	ck_assert_str_eq(d.salt, "spring-2026-7f3a");
	ck_assert_uint_eq(d.n_admit_devices, 2);
	ck_assert_str_eq(d.admit_devices[1], "gw-0002");
	ck_assert_str_eq(fota_campaign_state_name(d.state), "active");
	ck_assert_str_eq(fota_campaign_state_name((enum fota_campaign_state)5), "unknown");
	fota_directive_clear(&d);
	ck_assert_ptr_null(d.manifest_jws);
	fota_directive_clear(&d); /* twice is harmless */
	fota_directive_clear(NULL);
}
END_TEST

static const char *const good_files[] = {"good.json", "good-all.json", "good-devices-only.json",
					 "good-daily.json"};

START_TEST(test_round_trip)
{
	struct fota_directive a, b;
	struct fota_error err = {0};
	char *j1 = NULL, *j2 = NULL;

	load(good_files[_i], &a);
	ck_assert_int_eq(fota_directive_to_json(&a, &j1, &err), FOTA_OK);
	ck_assert_msg(fota_directive_parse((uint8_t *)j1, strlen(j1), &b, &err) == FOTA_OK, "%s",
		      err.msg);
	ck_assert_int_eq(fota_directive_to_json(&b, &j2, &err), FOTA_OK);
	ck_assert_str_eq(j1, j2);
	ck_assert_uint_eq(a.directive_seq, b.directive_seq);
	ck_assert_int_eq(a.not_before, b.not_before);
	ck_assert_int_eq(a.not_after, b.not_after);
	ck_assert_int_eq(a.daily.set, b.daily.set);
	ck_assert_uint_eq(a.daily.start_min, b.daily.start_min);
	ck_assert_uint_eq(a.daily.end_min, b.daily.end_min);
	ck_assert_str_eq(a.daily.tz, b.daily.tz);
	ck_assert_int_eq(a.admit_all, b.admit_all);
	ck_assert_uint_eq(a.n_admit_devices, b.n_admit_devices);
	ck_assert_str_eq(a.manifest_jws, b.manifest_jws);
	fota_directive_clear(&a);
	fota_directive_clear(&b);
	free(j1);
	free(j2);
}
END_TEST

struct bad_case {
	const char *file;
	fota_err code;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
    {"bad-schema.json", FOTA_ERR_FIELD, "schema 'fota-manifest/1' is not 'fota-directive/1'"},
    {"bad-seq-zero.json", FOTA_ERR_FIELD, "directive_seq 0 out of range"},
    {"bad-seq-fraction.json", FOTA_ERR_FIELD, "directive_seq 7.25 is not an integer"},
    {"bad-seq-above-2-53.json", FOTA_ERR_FIELD,
     "directive_seq 9007199254740993 is not an integer in 0..9007199254740991"},
    {"bad-seq-leading-zero.json", FOTA_ERR_PARSE, "malformed JSON near byte 54"},
    {"bad-form-feed.json", FOTA_ERR_PARSE, "malformed JSON near byte 52"},
    {"bad-campaign-slash.json", FOTA_ERR_FIELD, "campaign 'spring/2026' is not 1..64"},
    {"bad-group-wildcard.json", FOTA_ERR_FIELD, "group '+' is not"},
    {"bad-group-too-long.json", FOTA_ERR_TOO_BIG, "group longer than 64 bytes"},
    {"bad-expires-before-created.json", FOTA_ERR_FIELD,
     "expires 2026-11-26T11:59:59Z is not after created 2026-11-26T12:00:00Z"},
    {"bad-window-order.json", FOTA_ERR_FIELD,
     "window.not_after 2026-11-26T00:00:00Z is not after window.not_before"},
    {"bad-window-time.json", FOTA_ERR_FIELD, "window.not_before '2026-11-31T00:00:00Z' has day"},
    {"bad-daily-format.json", FOTA_ERR_FIELD, "daily window: '1:00-5:00' is not HH:MM-HH:MM"},
    {"bad-daily-empty.json", FOTA_ERR_FIELD, "'03:00-03:00' is empty"},
    {"bad-daily-tz.json", FOTA_ERR_FIELD, "'../../etc/passwd' is not a time zone name"},
    {"bad-daily-no-tz.json", FOTA_ERR_FIELD, "window.tz missing"},
    {"bad-state.json", FOTA_ERR_FIELD, "state 'running' is not active, paused or aborted"},
    {"bad-manifest-sha256-short.json", FOTA_ERR_FIELD, "manifest_sha256 is not 64"},
    {"bad-manifest-missing.json", FOTA_ERR_FIELD, "manifest missing"},
    {"bad-manifest-not-string.json", FOTA_ERR_FIELD, "manifest is not a string"},
    {"bad-manifest-empty.json", FOTA_ERR_FIELD, "manifest is empty"},
    {"bad-admission-missing.json", FOTA_ERR_FIELD, "admission missing"},
    {"bad-admission-all-and-percent.json", FOTA_ERR_FIELD,
     "admission.all excludes devices, percent and salt"},
    {"bad-admission-percent-over.json", FOTA_ERR_FIELD,
     "admission.percent 101 out of range 0..100"},
    {"bad-admission-percent-missing.json", FOTA_ERR_FIELD, "admission.percent missing"},
    {"bad-admission-no-salt.json", FOTA_ERR_FIELD, "admission.salt missing for percent 10"},
    {"bad-admission-device-invalid.json", FOTA_ERR_FIELD,
     "admission.devices[1] 'gw#2' is not a valid device id"},
    {"bad-duplicate-member.json", FOTA_ERR_PARSE, "duplicate member 'state'"},
    {"bad-trailing-garbage.json", FOTA_ERR_PARSE, "malformed JSON"},
};

START_TEST(test_bad_file)
{
	const struct bad_case *c = &bad_cases[_i];
	struct fota_directive d;
	struct fota_error err = {0};
	size_t len;
	uint8_t *buf = slurp(c->file, &len);
	fota_err rc = fota_directive_parse(buf, len, &d, &err);

	free(buf);
	fota_directive_clear(&d);
	tu_assert_rejected(rc, c->code, &err, "directive rejected: ", c->msg, c->file);
}
END_TEST

START_TEST(test_every_bad_file_in_table)
{
	tu_assert_table_covers_dir(DATA, bad_cases, TU_N(bad_cases), sizeof(bad_cases[0]),
				   offsetof(struct bad_case, file));
}
END_TEST

/* Replaces the first occurrence of from in the good document with a generated string. */
static char *good_with(const char *from, const char *to)
{
	size_t len;
	char *doc = (char *)slurp("good.json", &len);
	char *at, *out;

	doc = realloc(doc, len + 1);
	doc[len] = '\0';
	at = strstr(doc, from);
	ck_assert_ptr_nonnull(at);
	out = malloc(len + strlen(to) + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, doc, (size_t)(at - doc));
	strcpy(out + (at - doc), to);
	strcat(out, at + strlen(from));
	free(doc);
	return out;
}

/* The manifest member's value as it appears in good.json (a JSON string, quotes included). */
static const char *manifest_value(void)
{
	static char value[1024];
	size_t len;
	char *doc = (char *)slurp("good.json", &len);
	char *start, *end;

	doc = realloc(doc, len + 1);
	doc[len] = '\0';
	start = strstr(doc, "\"manifest\": \"");
	ck_assert_ptr_nonnull(start);
	start += strlen("\"manifest\": ");
	end = strstr(start, "\",\n");
	ck_assert_ptr_nonnull(end);
	ck_assert_uint_lt((size_t)(end - start) + 1, sizeof(value));
	memcpy(value, start, (size_t)(end - start) + 1);
	value[end - start + 1] = '\0';
	free(doc);
	return value;
}

static char *device_list(size_t n)
{
	char *s = malloc(n * 12 + 32);
	size_t off = 0;

	ck_assert_ptr_nonnull(s);
	off += (size_t)sprintf(s, "\"devices\": [");
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(s + off, "%s\"d-%06zu\"", i ? "," : "", i);
	strcpy(s + off, "]");
	return s;
}

START_TEST(test_limits)
{
	struct fota_directive d;
	struct fota_error err = {0};
	char *list, *doc, *jws;
	uint8_t *big;

	list = device_list(FOTA_MAX_ADMIT_DEVICES);
	doc = good_with("\"devices\": [\n      \"gw-0001\",\n      \"gw-0002\"\n    ]", list);
	ck_assert_msg(fota_directive_parse((uint8_t *)doc, strlen(doc), &d, &err) == FOTA_OK, "%s",
		      err.msg);
	ck_assert_uint_eq(d.n_admit_devices, FOTA_MAX_ADMIT_DEVICES);
	ck_assert(fota_directive_admits(&d, "d-001023"));
	fota_directive_clear(&d);
	free(list);
	free(doc);

	list = device_list(FOTA_MAX_ADMIT_DEVICES + 1);
	doc = good_with("\"devices\": [\n      \"gw-0001\",\n      \"gw-0002\"\n    ]", list);
	ck_assert_int_eq(fota_directive_parse((uint8_t *)doc, strlen(doc), &d, &err),
			 FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "admission.devices has more than 1024 items"));
	fota_directive_clear(&d);
	free(list);
	free(doc);

	/* The embedded manifest envelope has its own, smaller limit. */
	jws = malloc(FOTA_MAX_ENVELOPE_BYTES + 4);
	jws[0] = '"';
	memset(jws + 1, 'A', FOTA_MAX_ENVELOPE_BYTES + 1);
	strcpy(jws + FOTA_MAX_ENVELOPE_BYTES + 2, "\"");
	doc = good_with(manifest_value(), jws);
	ck_assert_int_eq(fota_directive_parse((uint8_t *)doc, strlen(doc), &d, &err),
			 FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "manifest longer than 65536 bytes"));
	fota_directive_clear(&d);
	free(doc);
	free(jws);

	big = malloc(FOTA_MAX_DIRECTIVE_BYTES + 1);
	memset(big, ' ', FOTA_MAX_DIRECTIVE_BYTES + 1);
	ck_assert_int_eq(fota_directive_parse(big, FOTA_MAX_DIRECTIVE_BYTES + 1, &d, &err),
			 FOTA_ERR_TOO_BIG);
	fota_directive_clear(&d);
	free(big);
}
END_TEST

START_TEST(test_to_json_validates)
{
	struct fota_directive d;
	struct fota_error err = {0};
	char *json = NULL;

	load("good.json", &d);
	d.admit_percent = 30;
	d.salt[0] = '\0';
	ck_assert_int_eq(fota_directive_to_json(&d, &json, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "admission.salt missing"));
	ck_assert_ptr_null(json);
	strcpy(d.salt, "s");
	d.admit_all = true;
	ck_assert_int_eq(fota_directive_to_json(&d, &json, &err), FOTA_ERR_FIELD);
	d.admit_all = false;
	d.not_after = d.not_before;
	ck_assert_int_eq(fota_directive_to_json(&d, &json, &err), FOTA_ERR_FIELD);
	d.not_after = 0;
	ck_assert_int_eq(fota_directive_to_json(&d, &json, &err), FOTA_OK);
	ck_assert_ptr_null(strstr(json, "not_after"));
	ck_assert_ptr_nonnull(strstr(json, "not_before"));
	free(json);
	fota_directive_clear(&d);
}
END_TEST

START_TEST(test_bucket_known_answers)
{
	/* Independent reference: int.from_bytes(sha256(salt + b"\0" + id)[:4], "big") % 10000. */
	ck_assert_uint_eq(fota_admission_bucket("spring-2026-7f3a", "gw-0001"), 7186);
	ck_assert_uint_eq(fota_admission_bucket("s", "d"), 537);
	ck_assert_uint_eq(fota_admission_bucket("", ""), 4604);
	/* The separator keeps ("ab","c") and ("a","bc") apart. */
	ck_assert_uint_ne(fota_admission_bucket("ab", "c"), fota_admission_bucket("a", "bc"));
}
END_TEST

START_TEST(test_admits)
{
	struct fota_directive d;

	load("good.json", &d);
	ck_assert(fota_directive_admits(&d, "gw-0001"));
	d.admit_percent = 0;
	ck_assert(fota_directive_admits(&d, "gw-0002")); /* listed */
	ck_assert(!fota_directive_admits(&d, "gw-0003"));
	d.admit_percent = 100;
	ck_assert(fota_directive_admits(&d, "gw-0003"));
	ck_assert(!fota_directive_admits(&d, NULL));
	ck_assert(!fota_directive_admits(NULL, "gw-0003"));
	fota_directive_clear(&d);
	load("good-all.json", &d);
	ck_assert(fota_directive_admits(&d, "anyone"));
	fota_directive_clear(&d);
}
END_TEST

/* Deterministic generator so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#define N_IDS 10000

/* Widening a stage never drops a device, and each stage admits about its share. */
START_TEST(test_admission_property)
{
	static const uint32_t percents[] = {0, 1, 5, 10, 25, 50, 75, 90, 99, 100};
	static char ids[N_IDS][24];
	static bool in[TU_N(percents)][N_IDS];
	struct fota_directive d = {.admit_all = false};

	strcpy(d.salt, "campaign-salt-42");
	for (int i = 0; i < N_IDS; i++) {
		int len = 4 + (int)(rng() % 16);

		for (int k = 0; k < len; k++)
			ids[i][k] = "abcdefghijklmnopqrstuvwxyz0123456789-_."[rng() % 39];
		ids[i][len] = '\0';
	}
	for (int p = 0; p < TU_N(percents); p++) {
		int count = 0;
		double frac;

		d.admit_percent = percents[p];
		for (int i = 0; i < N_IDS; i++) {
			in[p][i] = fota_directive_admits(&d, ids[i]);
			count += in[p][i];
		}
		frac = (double)count / N_IDS;
		ck_assert_msg(frac >= percents[p] / 100.0 - 0.02 &&
				  frac <= percents[p] / 100.0 + 0.02,
			      "percent %u admitted %.4f", percents[p], frac);
		for (int q = 0; q < p; q++) {
			for (int i = 0; i < N_IDS; i++) {
				if (in[q][i] && !in[p][i])
					ck_abort_msg("%s admitted at %u%% but not at %u%%", ids[i],
						     percents[q], percents[p]);
			}
		}
	}
	ck_assert_int_eq(in[0][0], false);
	ck_assert_int_eq(in[TU_N(percents) - 1][0], true);
}
END_TEST

static Suite *directive_suite(void)
{
	Suite *s = suite_create("directive");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_good_fields);
	tcase_add_loop_test(tc, test_round_trip, 0, TU_N(good_files));
	tcase_add_loop_test(tc, test_bad_file, 0, TU_N(bad_cases));
	tcase_add_test(tc, test_every_bad_file_in_table);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_to_json_validates);
	tcase_add_test(tc, test_bucket_known_answers);
	tcase_add_test(tc, test_admits);
	tcase_add_test(tc, test_admission_property);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(directive_suite());
}
