/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of json.c (not installed): the strict JSON rules every signed or device document
 * follows (docs/manifest.md, "Common rules"), shared by manifest.c, directive.c, key_doc.c,
 * assignment.c, status.c and request.c, plus the lenient lookup the key loaders use.
 *
 * Messages start with pfx, the caller's "<document> rejected: ", so they read as the caller's own;
 * paths are dotted ("image.size") and only their last component is looked up. */
#ifndef FOTA_JSON_H
#define FOTA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fota/error.h"

/* cJSON holds numbers as doubles; 2^53 - 1 is the largest integer every JSON reader keeps
 * exact, so larger ones are refused rather than silently rounded. */
#define FOTA__JSON_MAX_INT 9007199254740991ull

/* Refuses more than max bytes before parsing, then reads exactly len bytes as one RFC 8259
 * JSON text whose value is an object: no NUL bytes or \u0000 escapes, nothing cJSON accepts
 * beyond the grammar, at most FOTA_MAX_JSON_DEPTH levels, no duplicate member at any depth.
 * Number items keep their source text in valuestring. *out: caller frees with cJSON_Delete;
 * NULL on error. */
fota_err fota__json_load(const uint8_t *buf, size_t len, size_t max, cJSON **out, const char *pfx,
			 struct fota_error *err);

/* fota__json_load, then the member `kind` ("schema" or "type") must be the string `expected`:
 * every signed document says what it is before any other member is read, so one kind of
 * document is never taken for another. *out as for fota__json_load: NULL on error. */
fota_err fota__json_load_kind(const uint8_t *buf, size_t len, size_t max, const char *kind,
			      const char *expected, cJSON **out, const char *pfx,
			      struct fota_error *err);

/* The member named by the last component of path, or NULL. */
const cJSON *fota__json_member(const cJSON *obj, const char *path);

/* FOTA_ERR_FIELD "<path> missing". */
fota_err fota__json_missing(const char *path, const char *pfx, struct fota_error *err);

/* An integer in 0..FOTA__JSON_MAX_INT, then in min..max. */
fota_err fota__json_int_value(const cJSON *it, const char *path, uint64_t min, uint64_t max,
			      uint64_t *out, const char *pfx, struct fota_error *err);

/* A required member holding an integer in min..max. */
fota_err fota__json_get_uint(const cJSON *obj, const char *path, uint64_t min, uint64_t max,
			     uint64_t *out, const char *pfx, struct fota_error *err);

/* s holds min..max printable ASCII bytes (only max + 1 bytes of s are read). err may be NULL
 * for a yes/no answer. */
fota_err fota__json_check_text(const char *s, size_t min, size_t max, const char *path,
			       const char *pfx, struct fota_error *err);

/* A string of min..max printable ASCII bytes; *out points into it. */
fota_err fota__json_string_value(const cJSON *it, const char *path, size_t min, size_t max,
				 const char **out, const char *pfx, struct fota_error *err);

/* As fota__json_string_value on a member; an absent optional one leaves *out NULL. */
fota_err fota__json_get_string(const cJSON *obj, const char *path, bool required, size_t min,
			       size_t max, const char **out, const char *pfx,
			       struct fota_error *err);

/* true or false; an absent optional member leaves *out unchanged. */
fota_err fota__json_get_bool(const cJSON *obj, const char *path, bool required, bool *out,
			     const char *pfx, struct fota_error *err);

/* A required RFC 3339 time string (fota_time_parse). */
fota_err fota__json_get_time(const cJSON *obj, const char *path, int64_t *out, const char *pfx,
			     struct fota_error *err);

/* Exactly 2 * n lower-case hex digits decoded into out[n]; *present (may be NULL) says whether
 * the member was there. */
fota_err fota__json_get_hex(const cJSON *obj, const char *path, bool required, bool *present,
			    uint8_t *out, size_t n, const char *pfx, struct fota_error *err);

/* An object; an absent optional member gives *out NULL. */
fota_err fota__json_get_object(const cJSON *obj, const char *path, bool required, const cJSON **out,
			       const char *pfx, struct fota_error *err);

/* An array of at most max_items; an absent optional member gives *out NULL. */
fota_err fota__json_get_array(const cJSON *obj, const char *path, bool required, size_t max_items,
			      const cJSON **out, const char *pfx, struct fota_error *err);

/* A required string equal to names[i], giving *out = i; expected lists them for the message. */
fota_err fota__json_get_enum(const cJSON *obj, const char *path, const char *const *names,
			     size_t n_names, const char *expected, int *out, const char *pfx,
			     struct fota_error *err);

/* The member's string value, or NULL if absent or not a string: no rules, no message. */
const char *fota__json_find_string(const cJSON *obj, const char *name);

/* s starts with exactly n lower-case hex digits followed by NUL. */
bool fota__json_is_hex(const char *s, size_t n);

/* t can be written as a fixed-width RFC 3339 time, i.e. lies in years 1970..9999. */
bool fota__json_time_ok(int64_t t);

/* Adds v as exact decimal text: cJSON prints doubles with 15 significant digits, which would
 * round integers near 2^53. false only on allocation failure. */
bool fota__json_add_uint(cJSON *obj, const char *name, uint64_t v);

/* Adds t as an RFC 3339 string. false only on allocation failure. */
bool fota__json_add_time(cJSON *obj, const char *name, int64_t t);

#endif
