/* SPDX-License-Identifier: Apache-2.0 */
/* A maintenance window that recurs every day, in local time of a named zone
 * ("01:00-05:00" in Europe/Berlin): the engine admits devices only inside it, and a directive
 * carries it so each device keeps to it as well. */
#ifndef FOTA_DAILY_WINDOW_H
#define FOTA_DAILY_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/tzone.h"

/* "HH:MM-HH:MM" */
#define FOTA_DAILY_WINDOW_STR_LEN 11

struct fota_daily_window {
	bool set;
	uint16_t start_min, end_min; /* minutes after local midnight; end before start wraps */
	char tz[FOTA_MAX_TZ_NAME_LEN + 1];
};

/* spec "HH:MM-HH:MM" (00:00..23:59, start != end) in zone tz (a valid name; not loaded here). */
fota_err fota_daily_window_parse(const char *spec, const char *tz, struct fota_daily_window *out,
				 struct fota_error *err);

/* "HH:MM-HH:MM" */
void fota_daily_window_format(const struct fota_daily_window *w,
			      char out[FOTA_DAILY_WINDOW_STR_LEN + 1]);

/* True if the window (whose zone is tz) is open at utc; otherwise *opens_at (may be NULL)
 * is the first minute it opens after utc. */
bool fota_daily_window_open(const struct fota_daily_window *w, const struct fota_tz *tz,
			    int64_t utc, int64_t *opens_at);

#endif
