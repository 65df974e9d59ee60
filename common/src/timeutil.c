/* SPDX-License-Identifier: Apache-2.0 */
/* Strict RFC 3339 UTC timestamps with our own calendar arithmetic, and the stubbable clocks. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/timeutil.h"

/* Devices outlive 2038: the wall clock must not wrap (CMakeLists.txt sets _TIME_BITS=64). */
_Static_assert(sizeof(time_t) == 8, "time_t must be 64 bits: build with _TIME_BITS=64");

#define SECS_PER_DAY 86400
#define MIN_YEAR 1970
#define MAX_YEAR 9999
/* 9999-12-31T23:59:59Z: the last instant the fixed-width form can spell. */
#define MAX_TIME 253402300799LL

static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	return m == 2 && is_leap(y) ? 29 : month_days[m - 1];
}

/* Leap years in [1, y]: every 4th, except centuries, except every 4th century. */
static int64_t leaps_through(int64_t y)
{
	return y / 4 - y / 100 + y / 400;
}

/* Days since 1970-01-01 of a valid civil date with y >= 1970. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t days = 365 * (y - 1970) + leaps_through(y - 1) - leaps_through(1969);

	for (int i = 1; i < m; i++)
		days += days_in_month(y, i);
	return days + d - 1;
}

/* Inverse of days_from_civil for days >= 0. */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t year = 1970 + days / 366; /* never past the answer: a year has <= 366 days */
	int month = 1;

	while (days_from_civil(year + 1, 1, 1) <= days)
		year++;
	days -= days_from_civil(year, 1, 1);
	while (days >= days_in_month(year, month)) {
		days -= days_in_month(year, month);
		month++;
	}
	*y = year;
	*m = month;
	*d = (int)days + 1;
}

/* n decimal digits at s, all required. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

fota_err fota_time_parse(const char *s, int64_t *out, struct fota_error *err)
{
	int y, mo, d, h, mi, sec;

	if (s == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "no timestamp");
	/* Fixed layout, so a bounded length check first keeps the messages short and safe. */
	if (strnlen(s, FOTA_TIME_STR_LEN) != FOTA_TIME_STR_LEN - 1 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' || !digits(s, 4, &y) ||
	    !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return fota_error_set(err, FOTA_ERR_PARSE, "'%.32s' is not YYYY-MM-DDTHH:MM:SSZ",
				      s);
	if (y < MIN_YEAR)
		return fota_error_set(err, FOTA_ERR_PARSE, "'%s' is before %d", s, MIN_YEAR);
	if (mo < 1 || mo > 12)
		return fota_error_set(err, FOTA_ERR_PARSE, "'%s' has month %02d", s, mo);
	if (d < 1 || d > days_in_month(y, mo))
		return fota_error_set(err, FOTA_ERR_PARSE, "'%s' has day %02d, month has %d", s, d,
				      days_in_month(y, mo));
	/* No leap second: POSIX time cannot represent :60 and no signer needs it. */
	if (h > 23 || mi > 59 || sec > 59)
		return fota_error_set(err, FOTA_ERR_PARSE, "'%s' has time of day out of range", s);
	*out = days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + sec;
	return FOTA_OK;
}

void fota_time_format(int64_t t, char out[FOTA_TIME_STR_LEN])
{
	int64_t y, days, rem;
	int m, d;

	char wide[48]; /* the compiler cannot see the ranges below; format wide, copy exact */

	/* Clamp instead of failing: callers format their own clock, and the fixed width must hold.
	 */
	if (t < 0)
		t = 0;
	if (t > MAX_TIME)
		t = MAX_TIME;
	days = t / SECS_PER_DAY;
	rem = t % SECS_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	snprintf(wide, sizeof(wide), "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
	memcpy(out, wide, FOTA_TIME_STR_LEN - 1);
	out[FOTA_TIME_STR_LEN - 1] = '\0';
}

/* FOTA_FAKE_NOW must be a plain non-negative decimal; anything else falls back to the clock. */
static bool fake_now(int64_t *out)
{
	const char *s = getenv("FOTA_FAKE_NOW");
	char *end = NULL;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

int64_t fota_time_now(void)
{
	struct timespec ts;
	int64_t t;

	if (fake_now(&t))
		return t;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec;
}

int64_t fota_time_mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fota_time_boot_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		return fota_time_mono_ms();
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fota_time_mono_deadline(struct timespec *ts, int64_t after_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(after_ms / 1000);
	ts->tv_nsec += (long)(after_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int fota_time_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int rc;

	rc = pthread_condattr_init(&attr);
	if (rc != 0)
		return rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}
