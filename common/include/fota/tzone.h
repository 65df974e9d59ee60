/* SPDX-License-Identifier: Apache-2.0 */
/* A named time zone ("Europe/Berlin") read from the system's TZif database: the offset from
 * UTC at any instant, without touching the process-wide TZ environment (thread-safe). */
#ifndef FOTA_TZONE_H
#define FOTA_TZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"

/* Zone names: IANA style, [A-Za-z0-9_+-] segments separated by '/', no "." or ".." segment. */
#define FOTA_MAX_TZ_NAME_LEN 64
/* A TZif file larger than this is refused (the largest in tzdata is under 4 KiB). */
#define FOTA_MAX_TZIF_BYTES 65536
/* Where zone files are looked up unless FOTA_ZONEINFO names another directory. */
#define FOTA_ZONEINFO_DIR "/usr/share/zoneinfo"

struct fota_tz;

bool fota_tz_name_valid(const char *name);

/* Loads name from $FOTA_ZONEINFO or FOTA_ZONEINFO_DIR; "UTC" needs no file. FOTA_ERR_NOT_FOUND
 * when the zone is unknown here, FOTA_ERR_PARSE when its file is not TZif. *out is owned by
 * the caller (fota_tz_free). */
fota_err fota_tz_load(const char *name, struct fota_tz **out, struct fota_error *err);

/* Parses TZif bytes (versions 1 to 4, with the footer rule for times after the last
 * transition). */
fota_err fota_tz_parse(const uint8_t *data, size_t len, struct fota_tz **out,
		       struct fota_error *err);

void fota_tz_free(struct fota_tz *tz); /* NULL is a no-op */

/* Seconds east of UTC in force at utc (Unix seconds). */
int32_t fota_tz_offset(const struct fota_tz *tz, int64_t utc);

/* The last zone asked for, kept loaded: a daily window is looked at every step or on every
 * directive, always in the same zone. One cache per thread; zero-initialise it. */
struct fota_tz_cache {
	struct fota_tz *tz; /* NULL: name is not known here */
	char name[FOTA_MAX_TZ_NAME_LEN + 1];
	struct fota_error err; /* why name could not be loaded */
};

/* The zone called name, loaded on a change of name; NULL (why in c->err) when it is not
 * known here. Owned by the cache. A function of this shape is what callers of
 * fota_acceptance_judge pass as their zone lookup. */
const struct fota_tz *fota_tz_cache_get(void *cache, const char *name);
void fota_tz_cache_clear(struct fota_tz_cache *c);

#endif
