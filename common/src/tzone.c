/* SPDX-License-Identifier: Apache-2.0 */
/* Named time zones from TZif files (RFC 8536): transitions, and the footer's POSIX rule for
 * the years after the last one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/atomic_file.h"
#include "fota/tzone.h"

#define PFX "time zone: "

/* "Mm.w.d/time": day d (0 Sunday) of week w (5: the last) of month m, at time seconds. */
struct tz_rule {
	int month, week, wday;
	int32_t time;
};

struct fota_tz {
	size_t n_trans;
	int64_t *trans; /* transition instants, ascending */
	uint8_t *type;	/* local time type in force from each transition */
	size_t n_types;
	int32_t *utoff; /* seconds east of UTC, per type */
	bool has_rule;	/* the footer gives a rule for times after the last transition */
	bool rule_dst;	/* ... with daylight saving time */
	int32_t std_off, dst_off;
	struct tz_rule start, end;
};

bool fota_tz_name_valid(const char *name)
{
	const char *seg = name;
	size_t len = strlen(name);

	if (len == 0 || len > FOTA_MAX_TZ_NAME_LEN)
		return false;
	for (const char *p = name;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);

			if (n == 0 || (n == 1 && seg[0] == '.') ||
			    (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (*p == '\0')
				return true;
			seg = p + 1;
		} else if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			     (*p >= '0' && *p <= '9') || *p == '_' || *p == '+' || *p == '-' ||
			     *p == '.')) {
			return false;
		}
	}
}

void fota_tz_free(struct fota_tz *tz)
{
	if (!tz)
		return;
	free(tz->trans);
	free(tz->type);
	free(tz->utoff);
	free(tz);
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_of(int64_t t)
{
	int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	return yoe + era * 400 + (mp >= 10);
}

/* Local seconds since the epoch at which rule r falls in year y. */
static int64_t rule_local(const struct tz_rule *r, int64_t y)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t first = days_from_civil(y, r->month, 1);
	int wd_first = (int)(((first % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	int dim =
	    mdays[r->month - 1] + (r->month == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	int day = 1 + (r->wday - wd_first + 7) % 7 + (r->week - 1) * 7;

	while (day > dim)
		day -= 7;
	return (first + day - 1) * 86400 + r->time;
}

static int32_t rule_offset(const struct fota_tz *tz, int64_t t)
{
	int64_t y, start, end;

	if (!tz->rule_dst)
		return tz->std_off;
	y = year_of(t + tz->std_off);
	/* The start is given in standard time, the end in daylight saving time. */
	start = rule_local(&tz->start, y) - tz->std_off;
	end = rule_local(&tz->end, y) - tz->dst_off;
	if (start < end)
		return t >= start && t < end ? tz->dst_off : tz->std_off;
	return t >= end && t < start ? tz->std_off : tz->dst_off;
}

int32_t fota_tz_offset(const struct fota_tz *tz, int64_t utc)
{
	size_t lo = 0, hi;

	if (tz->n_trans == 0 || utc < tz->trans[0])
		return tz->n_trans == 0 && tz->has_rule ? rule_offset(tz, utc) : tz->utoff[0];
	if (utc >= tz->trans[tz->n_trans - 1] && tz->has_rule)
		return rule_offset(tz, utc);
	hi = tz->n_trans;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->trans[mid] <= utc)
			lo = mid;
		else
			hi = mid;
	}
	return tz->utoff[tz->type[lo]];
}

/* --- the footer: a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3" -------------------- */

static bool skip_name(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		const char *e = strchr(s, '>');

		if (!e || e - s < 2)
			return false;
		*p = e + 1;
		return true;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	if (s - *p < 3)
		return false;
	*p = s;
	return true;
}

/* [+-]hh[:mm[:ss]], hours up to max; seconds into *out. */
static bool parse_hms(const char **p, int max_h, int32_t *out)
{
	const char *s = *p;
	int sign = 1, part = 0;
	int32_t v[3] = {0, 0, 0};

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (;;) {
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 3) {
			v[part] = v[part] * 10 + (*s++ - '0');
			digits++;
		}
		if (digits == 0)
			return false;
		if (part == 2 || *s != ':')
			break;
		s++;
		part++;
	}
	if (v[0] > max_h || v[1] > 59 || v[2] > 59)
		return false;
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	*p = s;
	return true;
}

static bool parse_num(const char **p, int lo, int hi, int *out)
{
	int v = 0, digits = 0;

	while (**p >= '0' && **p <= '9' && digits < 2) {
		v = v * 10 + (*(*p)++ - '0');
		digits++;
	}
	*out = v;
	return digits > 0 && v >= lo && v <= hi;
}

static bool parse_rule(const char **p, struct tz_rule *r)
{
	r->time = 7200; /* 02:00 unless given */
	if (*(*p)++ != 'M')
		return false; /* the Jn and n forms do not occur in tzdata footers */
	if (!parse_num(p, 1, 12, &r->month) || *(*p)++ != '.' || !parse_num(p, 1, 5, &r->week) ||
	    *(*p)++ != '.' || !parse_num(p, 0, 6, &r->wday))
		return false;
	if (**p == '/') {
		(*p)++;
		return parse_hms(p, 167, &r->time);
	}
	return true;
}

/* Fills the rule from the footer; false leaves the last transition in force for ever. */
static bool parse_footer(struct fota_tz *tz, const char *s)
{
	int32_t off;

	if (!skip_name(&s) || !parse_hms(&s, 24, &off))
		return false;
	tz->std_off = -off; /* POSIX counts west of Greenwich */
	if (*s == '\0') {
		tz->rule_dst = false;
		return true;
	}
	if (!skip_name(&s))
		return false;
	tz->dst_off = tz->std_off + 3600;
	if (*s != ',') {
		if (!parse_hms(&s, 24, &off))
			return false;
		tz->dst_off = -off;
	}
	if (*s++ != ',' || !parse_rule(&s, &tz->start) || *s++ != ',' || !parse_rule(&s, &tz->end))
		return false;
	tz->rule_dst = true;
	return *s == '\0';
}

/* --- TZif ----------------------------------------------------------------------------------- */

#define TZIF_HEADER 44

fota_err fota_tz_parse(const uint8_t *data, size_t len, struct fota_tz **out,
		       struct fota_error *err)
{
	struct fota_tz *tz = NULL;
	size_t off = 0, tsize = 4, i;
	uint64_t cnt[6]; /* isut, isstd, leap, time, type, char */
	uint64_t block;
	fota_err rc = FOTA_OK;

	*out = NULL;
	if (len < TZIF_HEADER || memcmp(data, "TZif", 4) != 0)
		return fota_error_set(err, FOTA_ERR_PARSE, PFX "not a TZif file");
	for (;;) {
		if (len - off < TZIF_HEADER || memcmp(data + off, "TZif", 4) != 0)
			return fota_error_set(err, FOTA_ERR_PARSE, PFX "truncated TZif header");
		for (i = 0; i < 6; i++)
			cnt[i] = be(data + off + 20 + 4 * i, 4);
		block = cnt[3] * tsize + cnt[3] + cnt[4] * 6 + cnt[5] + cnt[2] * (tsize + 4) +
			cnt[1] + cnt[0];
		if (cnt[4] == 0 || cnt[4] > 256 || cnt[3] > 4096 || block > len - off - TZIF_HEADER)
			return fota_error_set(err, FOTA_ERR_PARSE, PFX "bad TZif counts");
		/* Version 2 and later repeat the data with 64-bit times after the 32-bit block. */
		if (tsize == 4 && data[4] >= '2') {
			off += TZIF_HEADER + (size_t)block;
			tsize = 8;
			continue;
		}
		break;
	}
	/* The counts and the block are bounded above (at most len), so they fit a 32-bit size_t. */
	tz = calloc(1, sizeof(*tz));
	if (!tz || !(tz->utoff = calloc((size_t)cnt[4], sizeof(*tz->utoff))) ||
	    (cnt[3] && (!(tz->trans = calloc((size_t)cnt[3], sizeof(*tz->trans))) ||
			!(tz->type = calloc((size_t)cnt[3], 1))))) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory");
		goto out;
	}
	tz->n_trans = (size_t)cnt[3];
	tz->n_types = (size_t)cnt[4];
	off += TZIF_HEADER;
	for (i = 0; i < tz->n_trans; i++) {
		uint64_t v = be(data + off + i * tsize, tsize);

		tz->trans[i] = tsize == 8 ? (int64_t)v : (int64_t)(int32_t)(uint32_t)v;
		if (i && tz->trans[i] <= tz->trans[i - 1]) {
			rc = fota_error_set(err, FOTA_ERR_PARSE,
					    PFX "TZif transitions not ascending");
			goto out;
		}
	}
	off += tz->n_trans * tsize;
	for (i = 0; i < tz->n_trans; i++) {
		tz->type[i] = data[off + i];
		if (tz->type[i] >= tz->n_types) {
			rc =
			    fota_error_set(err, FOTA_ERR_PARSE, PFX "TZif type index out of range");
			goto out;
		}
	}
	off += tz->n_trans;
	for (i = 0; i < tz->n_types; i++) {
		tz->utoff[i] = (int32_t)(uint32_t)be(data + off + i * 6, 4);
		if (tz->utoff[i] < -25 * 3600 || tz->utoff[i] > 26 * 3600) {
			rc = fota_error_set(err, FOTA_ERR_PARSE, PFX "TZif offset out of range");
			goto out;
		}
	}
	off += (size_t)block - tz->n_trans * (tsize + 1);
	/* Footer (version 2+): "\n" POSIX-TZ "\n". */
	if (tsize == 8 && off < len && data[off] == '\n') {
		const uint8_t *end = memchr(data + off + 1, '\n', len - off - 1);
		char footer[128];
		size_t n = end ? (size_t)(end - data - off - 1) : 0;

		if (end && n > 0 && n < sizeof(footer)) {
			memcpy(footer, data + off + 1, n);
			footer[n] = '\0';
			tz->has_rule = parse_footer(tz, footer);
		}
	}
	*out = tz;
	tz = NULL;
out:
	fota_tz_free(tz);
	return rc;
}

fota_err fota_tz_load(const char *name, struct fota_tz **out, struct fota_error *err)
{
	const char *dir = getenv("FOTA_ZONEINFO");
	char path[FOTA_MAX_TZ_NAME_LEN + 512];
	uint8_t *data = NULL;
	size_t len = 0;
	fota_err rc;

	*out = NULL;
	if (!fota_tz_name_valid(name))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "'%.64s' is not a zone name", name);
	if (strcmp(name, "UTC") == 0) {
		struct fota_tz *tz = calloc(1, sizeof(*tz));

		if (!tz || !(tz->utoff = calloc(1, sizeof(*tz->utoff)))) {
			fota_tz_free(tz);
			return fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory");
		}
		tz->n_types = 1;
		*out = tz;
		return FOTA_OK;
	}
	snprintf(path, sizeof(path), "%.400s/%s", dir && *dir ? dir : FOTA_ZONEINFO_DIR, name);
	rc = fota_read_file(path, FOTA_MAX_TZIF_BYTES, &data, &len, err);
	if (rc == FOTA_ERR_NOT_FOUND)
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, PFX "%s is not known here (no %s)",
				    name, path);
	if (rc == FOTA_OK)
		rc = fota_tz_parse(data, len, out, err);
	if (rc)
		fota_error_prefix(err, name);
	free(data);
	return rc;
}

const struct fota_tz *fota_tz_cache_get(void *cache, const char *name)
{
	struct fota_tz_cache *c = cache;

	if (c->name[0] && strcmp(c->name, name) == 0)
		return c->tz;
	fota_tz_free(c->tz);
	c->tz = NULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	memset(&c->err, 0, sizeof(c->err));
	fota_tz_load(name, &c->tz, &c->err);
	return c->tz;
}

void fota_tz_cache_clear(struct fota_tz_cache *c)
{
	fota_tz_free(c->tz);
	memset(c, 0, sizeof(*c));
}
