/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for named time zones (TZif transitions and footer rule) and daily windows. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/daily_window.h"
#include "fota/timeutil.h"
#include "fota/tzone.h"
#include "testutil.h"

static const char *zoneinfo(void)
{
	static char dir[512];

	snprintf(dir, sizeof(dir), "%s/zoneinfo", FOTA_TEST_DATA);
	return dir;
}

static struct fota_tz *berlin(void)
{
	struct fota_tz *tz = NULL;
	struct fota_error err = {0};

	setenv("FOTA_ZONEINFO", zoneinfo(), 1);
	ck_assert_msg(fota_tz_load("Europe/Berlin", &tz, &err) == FOTA_OK, "%s", err.msg);
	return tz;
}

static int64_t at(const char *rfc3339)
{
	int64_t t = 0;
	struct fota_error err = {0};

	ck_assert_msg(fota_time_parse(rfc3339, &t, &err) == FOTA_OK, "%s: %s", rfc3339, err.msg);
	return t;
}

static const struct {
	const char *name;
	bool ok;
} names[] = {
    {"Europe/Berlin", true},
    {"UTC", true},
    {"America/Argentina/Buenos_Aires", true},
    {"Etc/GMT+5", true},
    {"", false},
    {"/etc/passwd", false},
    {"../etc/passwd", false},
    {"Europe//Berlin", false},
    {"Europe/./Berlin", false},
    {"Europe/Ber lin", false},
    {"Europe/Berlin/", false},
};

START_TEST(test_names)
{
	ck_assert_msg(fota_tz_name_valid(names[_i].name) == names[_i].ok, "'%s'", names[_i].name);
}
END_TEST

/* Offsets of Europe/Berlin around its 2026 changes, and far beyond the file's transitions. */
static const struct {
	const char *utc;
	int32_t offset;
} berlin_offsets[] = {
    {"2026-01-15T12:00:00Z", 3600}, {"2026-03-29T00:59:59Z", 3600}, {"2026-03-29T01:00:00Z", 7200},
    {"2026-10-25T00:59:59Z", 7200}, {"2026-10-25T01:00:00Z", 3600}, {"2050-01-01T00:00:00Z", 3600},
    {"2050-07-01T00:00:00Z", 7200}, {"1970-01-01T00:00:00Z", 3600},
};

START_TEST(test_berlin)
{
	struct fota_tz *tz = berlin();

	ck_assert_int_eq(fota_tz_offset(tz, at(berlin_offsets[_i].utc)), berlin_offsets[_i].offset);
	fota_tz_free(tz);
}
END_TEST

/* A TZif version 2 file with no transitions at all: only the footer rule decides, as in the
 * "slim" files some systems ship. It must agree with the full file hour by hour. */
static size_t slim_tzif(uint8_t *buf, const char *footer)
{
	static const uint8_t v1[] = {
	    'T', 'Z', 'i',  'f',  '2', 0, 0,   0,   0,	 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0,	 0,   0,    0,	  0,   0, 0,   0,   0,	 0, 0, 0, 0, 0, 0, 0, 0, 0, /* timecnt 0 */
	    0,	 0,   0,    1,	  0,   0, 0,   4,	    /* typecnt 1, charcnt 4 */
	    0,	 0,   0x0e, 0x10, 0,   0, 'C', 'E', 'T', 0, /* +3600 "CET" */
	};
	size_t n = 0;

	memcpy(buf, v1, sizeof(v1));
	n += sizeof(v1);
	memcpy(buf + n, v1, sizeof(v1)); /* the 64-bit block: identical with no transitions */
	n += sizeof(v1);
	buf[n++] = '\n';
	memcpy(buf + n, footer, strlen(footer));
	n += strlen(footer);
	buf[n++] = '\n';
	return n;
}

START_TEST(test_footer_rule)
{
	struct fota_tz *full = berlin(), *slim = NULL;
	struct fota_error err = {0};
	uint8_t buf[256];
	size_t len = slim_tzif(buf, "CET-1CEST,M3.5.0,M10.5.0/3");
	int64_t t;

	ck_assert_msg(fota_tz_parse(buf, len, &slim, &err) == FOTA_OK, "%s", err.msg);
	for (t = at("2026-01-01T00:00:00Z"); t < at("2037-01-01T00:00:00Z"); t += 1800)
		ck_assert_msg(fota_tz_offset(slim, t) == fota_tz_offset(full, t),
			      "at %lld: %d vs %d", (long long)t, fota_tz_offset(slim, t),
			      fota_tz_offset(full, t));
	fota_tz_free(slim);
	/* A southern rule (DST over the new year) and a zone without DST. */
	len = slim_tzif(buf, "<-03>3<-02>,M9.1.0,M4.1.0");
	ck_assert_msg(fota_tz_parse(buf, len, &slim, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(fota_tz_offset(slim, at("2030-01-15T00:00:00Z")), -7200);
	ck_assert_int_eq(fota_tz_offset(slim, at("2030-06-15T00:00:00Z")), -10800);
	fota_tz_free(slim);
	len = slim_tzif(buf, "JST-9");
	ck_assert_msg(fota_tz_parse(buf, len, &slim, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(fota_tz_offset(slim, at("2030-06-15T00:00:00Z")), 32400);
	fota_tz_free(slim);
	fota_tz_free(full);
}
END_TEST

START_TEST(test_bad_input)
{
	struct fota_tz *tz = NULL;
	struct fota_error err = {0};
	uint8_t buf[256];
	size_t len = slim_tzif(buf, "CET-1");

	ck_assert_int_eq(fota_tz_parse((const uint8_t *)"hello", 5, &tz, &err), FOTA_ERR_PARSE);
	ck_assert_int_eq(fota_tz_parse(buf, 40, &tz, &err), FOTA_ERR_PARSE);
	ck_assert_int_eq(fota_tz_parse(buf, 60, &tz, &err), FOTA_ERR_PARSE);
	buf[39] = 0; /* typecnt 0 */
	ck_assert_int_eq(fota_tz_parse(buf, len, &tz, &err), FOTA_ERR_PARSE);
	ck_assert_ptr_null(tz);
	setenv("FOTA_ZONEINFO", zoneinfo(), 1);
	ck_assert_int_eq(fota_tz_load("Mars/Olympus", &tz, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "not known here"));
	ck_assert_int_eq(fota_tz_load("../../etc/passwd", &tz, &err), FOTA_ERR_FIELD);
	ck_assert_int_eq(fota_tz_load("UTC", &tz, &err), FOTA_OK);
	ck_assert_int_eq(fota_tz_offset(tz, 1800000000), 0);
	fota_tz_free(tz);
}
END_TEST

/* The cache loads on a change of name only, and remembers an unknown zone. */
START_TEST(test_cache)
{
	struct fota_tz_cache c = {0};
	const struct fota_tz *a, *b;

	setenv("FOTA_ZONEINFO", zoneinfo(), 1);
	a = fota_tz_cache_get(&c, "Europe/Berlin");
	ck_assert_ptr_nonnull(a);
	b = fota_tz_cache_get(&c, "Europe/Berlin");
	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(fota_tz_offset(b, at("2026-07-01T00:00:00Z")), 7200);
	ck_assert_ptr_null(fota_tz_cache_get(&c, "Mars/Olympus"));
	ck_assert_ptr_nonnull(strstr(c.err.msg, "not known here"));
	ck_assert_ptr_nonnull(fota_tz_cache_get(&c, "UTC"));
	fota_tz_cache_clear(&c);
	fota_tz_cache_clear(&c);
}
END_TEST

static const struct {
	const char *spec, *tz;
	fota_err rc;
	uint16_t start, end;
} specs[] = {
    {"01:00-05:00", "Europe/Berlin", FOTA_OK, 60, 300},
    {"22:30-02:00", "UTC", FOTA_OK, 1350, 120},
    {"00:00-23:59", "UTC", FOTA_OK, 0, 1439},
    {"01:00-01:00", "UTC", FOTA_ERR_FIELD, 0, 0},
    {"24:00-05:00", "UTC", FOTA_ERR_FIELD, 0, 0},
    {"01:60-05:00", "UTC", FOTA_ERR_FIELD, 0, 0},
    {"1:00-5:00", "UTC", FOTA_ERR_FIELD, 0, 0},
    {"01:00-05:00", "../x", FOTA_ERR_FIELD, 0, 0},
};

START_TEST(test_window_parse)
{
	struct fota_daily_window w;
	struct fota_error err = {0};
	char s[FOTA_DAILY_WINDOW_STR_LEN + 1];

	ck_assert_int_eq(fota_daily_window_parse(specs[_i].spec, specs[_i].tz, &w, &err),
			 specs[_i].rc);
	if (specs[_i].rc != FOTA_OK)
		return;
	ck_assert_uint_eq(w.start_min, specs[_i].start);
	ck_assert_uint_eq(w.end_min, specs[_i].end);
	fota_daily_window_format(&w, s);
	ck_assert_str_eq(s, specs[_i].spec);
}
END_TEST

/* 01:00-05:00 in Berlin is 23:00-03:00 UTC in summer, 00:00-04:00 UTC in winter. */
static const struct {
	const char *spec, *utc;
	bool open;
	const char *opens; /* when closed */
} windows[] = {
    {"01:00-05:00", "2026-07-01T22:59:00Z", false, "2026-07-01T23:00:00Z"},
    {"01:00-05:00", "2026-07-01T23:00:00Z", true, NULL},
    {"01:00-05:00", "2026-07-02T02:59:59Z", true, NULL},
    {"01:00-05:00", "2026-07-02T03:00:00Z", false, "2026-07-02T23:00:00Z"},
    {"01:00-05:00", "2026-01-10T00:00:00Z", true, NULL},
    {"01:00-05:00", "2026-01-10T04:00:00Z", false, "2026-01-11T00:00:00Z"},
    /* The night summer time starts: 01:00 local is still winter time. */
    {"01:00-05:00", "2026-03-28T23:30:00Z", false, "2026-03-29T00:00:00Z"},
    {"01:00-05:00", "2026-03-29T03:00:00Z", false, "2026-03-29T23:00:00Z"},
    /* Past midnight. */
    {"22:00-02:00", "2026-07-01T21:00:00Z", true, NULL},
    {"22:00-02:00", "2026-07-01T23:30:00Z", true, NULL},
    {"22:00-02:00", "2026-07-02T00:00:00Z", false, "2026-07-02T20:00:00Z"},
};

START_TEST(test_window_open)
{
	struct fota_tz *tz = berlin();
	struct fota_daily_window w;
	struct fota_error err = {0};
	int64_t opens = 0;

	ck_assert_int_eq(fota_daily_window_parse(windows[_i].spec, "Europe/Berlin", &w, &err),
			 FOTA_OK);
	ck_assert_msg(fota_daily_window_open(&w, tz, at(windows[_i].utc), &opens) ==
			  windows[_i].open,
		      "%s at %s", windows[_i].spec, windows[_i].utc);
	if (!windows[_i].open)
		ck_assert_int_eq(opens, at(windows[_i].opens));
	fota_tz_free(tz);
}
END_TEST

static Suite *tzone_suite(void)
{
	Suite *s = suite_create("tzone");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_names, 0, TU_N(names));
	tcase_add_loop_test(tc, test_berlin, 0, TU_N(berlin_offsets));
	tcase_add_test(tc, test_footer_rule);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_cache);
	tcase_add_loop_test(tc, test_window_parse, 0, TU_N(specs));
	tcase_add_loop_test(tc, test_window_open, 0, TU_N(windows));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(tzone_suite());
}
