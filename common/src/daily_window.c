/* SPDX-License-Identifier: Apache-2.0 */
/* Daily maintenance windows in a named time zone. */
#include <stdio.h>
#include <string.h>

#include "fota/daily_window.h"

#define PFX "daily window: "

/* "HH:MM" at s (exactly 5 characters) into minutes. */
static bool hhmm(const char *s, uint16_t *out)
{
	int h, m;

	if (!(s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
	      s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
		return false;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23)
		return false;
	*out = (uint16_t)(h * 60 + m);
	return true;
}

fota_err fota_daily_window_parse(const char *spec, const char *tz, struct fota_daily_window *out,
				 struct fota_error *err)
{
	memset(out, 0, sizeof(*out));
	if (strlen(spec) != FOTA_DAILY_WINDOW_STR_LEN || spec[5] != '-' ||
	    !hhmm(spec, &out->start_min) || !hhmm(spec + 6, &out->end_min))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "'%.32s' is not HH:MM-HH:MM (00:00 to 23:59)", spec);
	if (out->start_min == out->end_min)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "'%s' is empty: start and end are the same", spec);
	if (!tz || !fota_tz_name_valid(tz))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "'%.64s' is not a time zone name",
				      tz ? tz : "");
	snprintf(out->tz, sizeof(out->tz), "%s", tz);
	out->set = true;
	return FOTA_OK;
}

void fota_daily_window_format(const struct fota_daily_window *w,
			      char out[FOTA_DAILY_WINDOW_STR_LEN + 1])
{
	snprintf(out, FOTA_DAILY_WINDOW_STR_LEN + 1, "%02u:%02u-%02u:%02u",
		 (unsigned)(w->start_min / 60 % 24), (unsigned)(w->start_min % 60),
		 (unsigned)(w->end_min / 60 % 24), (unsigned)(w->end_min % 60));
}

static bool open_at(const struct fota_daily_window *w, const struct fota_tz *tz, int64_t utc)
{
	int64_t local = utc + fota_tz_offset(tz, utc);
	int64_t m = ((local % 86400) + 86400) % 86400 / 60;

	if (w->start_min < w->end_min)
		return m >= w->start_min && m < w->end_min;
	return m >= w->start_min || m < w->end_min; /* wraps past midnight */
}

bool fota_daily_window_open(const struct fota_daily_window *w, const struct fota_tz *tz,
			    int64_t utc, int64_t *opens_at)
{
	int64_t t;

	if (open_at(w, tz, utc))
		return true;
	/* Minute by minute: a day changing its offset (daylight saving time) may skip or repeat
	 * local times, and this stays right through both. Two days always reach an opening. */
	t = utc - ((utc % 60) + 60) % 60;
	for (int i = 0; i < 2 * 1440 + 120; i++) {
		t += 60;
		if (open_at(w, tz, t))
			break;
	}
	if (opens_at)
		*opens_at = t;
	return false;
}
