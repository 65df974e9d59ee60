/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 parsing and formatting, calendar arithmetic against gmtime_r, and the stubbed clock. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/timeutil.h"
#include "testutil.h"

static const struct {
	const char *s;
	int64_t t;
} good[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"1972-12-31T23:59:59Z", 94694399},
    {"2000-02-29T00:00:00Z", 951782400},
    {"2026-11-26T12:00:00Z", 1795694400},
    {"2100-03-01T00:00:00Z", 4107542400},
    {"2400-02-29T12:34:56Z", 13574608496},
    {"9999-12-31T23:59:59Z", 253402300799},
};

START_TEST(test_parse_good)
{
	int64_t t = -1;
	char buf[FOTA_TIME_STR_LEN];
	struct fota_error err = {0};

	ck_assert_msg(fota_time_parse(good[_i].s, &t, &err) == FOTA_OK, "%s: %s", good[_i].s,
		      err.msg);
	ck_assert_int_eq(t, good[_i].t);
	fota_time_format(good[_i].t, buf);
	ck_assert_str_eq(buf, good[_i].s);
}
END_TEST

static const struct {
	const char *s;
	const char *msg;
} bad[] = {
    {"", "is not YYYY-MM-DDTHH:MM:SSZ"},
    {"2026-11-26T12:00:00", "is not YYYY"},
    {"2026-11-26T12:00:00z", "is not YYYY"},
    {"2026-11-26t12:00:00Z", "is not YYYY"},
    {"2026-11-26 12:00:00Z", "is not YYYY"},
    {"2026-11-26T12:00:00+00:00", "is not YYYY"},
    {"2026-11-26T12:00:00.5Z", "is not YYYY"},
    {"2026-11-26T12:00:00ZZ", "is not YYYY"},
    {" 2026-11-26T12:00:00Z", "is not YYYY"},
    {"2026-1-26T12:00:00Z", "is not YYYY"},
    {"+026-11-26T12:00:00Z", "is not YYYY"},
    {"2026-11-2xT12:00:00Z", "is not YYYY"},
    {"1969-12-31T23:59:59Z", "is before 1970"},
    {"2026-00-01T00:00:00Z", "has month 00"},
    {"2026-13-01T00:00:00Z", "has month 13"},
    {"2026-01-00T00:00:00Z", "has day 00"},
    {"2026-04-31T00:00:00Z", "has day 31, month has 30"},
    {"2025-02-29T00:00:00Z", "has day 29, month has 28"},
    {"2100-02-29T00:00:00Z", "has day 29, month has 28"},
    {"2024-02-30T00:00:00Z", "has day 30, month has 29"},
    {"2026-11-26T24:00:00Z", "time of day"},
    {"2026-11-26T12:60:00Z", "time of day"},
    {"2026-12-31T23:59:60Z", "time of day"},
};

START_TEST(test_parse_bad)
{
	int64_t t = 77;
	struct fota_error err = {0};

	ck_assert_int_eq(fota_time_parse(bad[_i].s, &t, &err), FOTA_ERR_PARSE);
	ck_assert_int_eq(t, 77);
	ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL, "'%s': '%s' lacks '%s'", bad[_i].s,
		      err.msg, bad[_i].msg);
}
END_TEST

/* Every day from 1970 to 9999 against the C library, and parse(format(t)) == t. */
START_TEST(test_every_day_against_gmtime)
{
	char buf[FOTA_TIME_STR_LEN], want[FOTA_TIME_STR_LEN];
	int64_t back;

	for (int64_t day = 0; day <= 2932896; day++) {
		int64_t t = day * 86400 + (day % 86400);
		time_t tt = (time_t)t;
		struct tm tm;

		if (gmtime_r(&tt, &tm) == NULL)
			ck_abort_msg("gmtime_r(%lld) failed", (long long)t);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fota_time_format(t, buf);
		if (strcmp(buf, want) != 0)
			ck_abort_msg("t=%lld: %s != %s", (long long)t, buf, want);
		if (fota_time_parse(buf, &back, NULL) != FOTA_OK || back != t)
			ck_abort_msg("t=%lld: %s parsed back as %lld", (long long)t, buf,
				     (long long)back);
	}
}
END_TEST

START_TEST(test_format_clamps)
{
	char buf[FOTA_TIME_STR_LEN];

	fota_time_format(-5, buf);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	fota_time_format(INT64_MAX, buf);
	ck_assert_str_eq(buf, "9999-12-31T23:59:59Z");
	ck_assert_int_eq(fota_time_parse(NULL, &(int64_t){0}, NULL), FOTA_ERR_INVAL);
}
END_TEST

START_TEST(test_fake_now)
{
	int64_t real = (int64_t)time(NULL);

	ck_assert_int_eq(setenv("FOTA_FAKE_NOW", "1795694400", 1), 0);
	ck_assert_int_eq(fota_time_now(), 1795694400);
	ck_assert_int_eq(setenv("FOTA_FAKE_NOW", "0", 1), 0);
	ck_assert_int_eq(fota_time_now(), 0);
	/* Anything but a plain decimal is ignored rather than half-used. */
	ck_assert_int_eq(setenv("FOTA_FAKE_NOW", "12x", 1), 0);
	ck_assert_int_ge(fota_time_now(), real);
	ck_assert_int_eq(setenv("FOTA_FAKE_NOW", "-5", 1), 0);
	ck_assert_int_ge(fota_time_now(), real);
	ck_assert_int_eq(setenv("FOTA_FAKE_NOW", "", 1), 0);
	ck_assert_int_ge(fota_time_now(), real);
	ck_assert_int_eq(unsetenv("FOTA_FAKE_NOW"), 0);
	ck_assert_int_ge(fota_time_now(), real);
	ck_assert_int_le(fota_time_now(), real + 60);
}
END_TEST

START_TEST(test_mono)
{
	int64_t a = fota_time_mono_ms();
	struct timespec ts = {0, 20 * 1000 * 1000};
	int64_t b;

	nanosleep(&ts, NULL);
	b = fota_time_mono_ms();
	ck_assert_int_ge(b - a, 19);
	ck_assert_int_lt(b - a, 5000);
}
END_TEST

/* The boot clock advances with real time (it is the probation clock of the agent). */
START_TEST(test_boot_clock)
{
	int64_t a = fota_time_boot_ms();
	struct timespec ts = {0, 20 * 1000 * 1000};
	int64_t b;

	ck_assert_int_gt(a, 0);
	nanosleep(&ts, NULL);
	b = fota_time_boot_ms();
	ck_assert_int_ge(b - a, 19);
	ck_assert_int_lt(b - a, 5000);
}
END_TEST

/* A condition variable from fota_time_cond_init times out against a monotonic deadline:
 * the same deadline read as wall-clock time would lie decades in the past (or days away). */
START_TEST(test_cond_on_monotonic_clock)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	struct timespec deadline, now;
	int64_t t0, waited;
	int rc;

	ck_assert_int_eq(fota_time_cond_init(&c), 0);
	fota_time_mono_deadline(&deadline, 1500);
	clock_gettime(CLOCK_MONOTONIC, &now);
	waited = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
	ck_assert_int_le(waited, 1500);
	ck_assert_int_ge(waited, 1400);
	fota_time_mono_deadline(&deadline, 30);
	t0 = fota_time_mono_ms();
	pthread_mutex_lock(&m);
	do
		rc = pthread_cond_timedwait(&c, &m, &deadline);
	while (rc == 0);
	pthread_mutex_unlock(&m);
	ck_assert_int_eq(rc, ETIMEDOUT);
	ck_assert_int_ge(fota_time_mono_ms() - t0, 29);
	pthread_cond_destroy(&c);
}
END_TEST

static Suite *timeutil_suite(void)
{
	Suite *s = suite_create("timeutil");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_parse_good, 0, (int)(sizeof(good) / sizeof(good[0])));
	tcase_add_loop_test(tc, test_parse_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	/* The full calendar sweep takes seconds under sanitizers. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_every_day_against_gmtime);
	tcase_add_test(tc, test_format_clamps);
	tcase_add_test(tc, test_fake_now);
	tcase_add_test(tc, test_mono);
	tcase_add_test(tc, test_boot_clock);
	tcase_add_test(tc, test_cond_on_monotonic_clock);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(timeutil_suite());
}
