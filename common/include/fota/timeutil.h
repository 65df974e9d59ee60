/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 UTC timestamps ("2026-11-26T12:00:00Z") <-> Unix seconds, and a clock tests can stub. */
#ifndef FOTA_TIMEUTIL_H
#define FOTA_TIMEUTIL_H

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

#endif
