/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 UTC timestamps ("2026-11-26T12:00:00Z") <-> Unix seconds, and a clock tests can stub. */
#ifndef FOTA_TIMEUTIL_H
#define FOTA_TIMEUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"

#define FOTA_TIME_STR_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

/* Accepts only the UTC "Z" form with whole seconds, years 1970-9999. */
fota_err fota_time_parse(const char *s, int64_t *out, struct fota_error *err);
void fota_time_format(int64_t t, char out[FOTA_TIME_STR_LEN]);

/* Wall clock seconds; FOTA_FAKE_NOW=<seconds> in the environment overrides it (tests). */
int64_t fota_time_now(void);
/* Monotonic milliseconds for timeouts and pacing. */
int64_t fota_time_mono_ms(void);
/* Milliseconds since boot, suspend included (CLOCK_BOOTTIME): neither NTP nor an operator
 * setting the date moves it, and it restarts at every boot. */
int64_t fota_time_boot_ms(void);

/* An absolute CLOCK_MONOTONIC deadline after_ms from now, for pthread_cond_timedwait on a
 * condition variable created by fota_time_cond_init: a wall-clock jump neither cuts the wait
 * short nor stretches it by days. */
void fota_time_mono_deadline(struct timespec *ts, int64_t after_ms);
/* pthread_cond_init with CLOCK_MONOTONIC as the clock of timed waits; pthread's error code. */
int fota_time_cond_init(pthread_cond_t *cond);

#endif
