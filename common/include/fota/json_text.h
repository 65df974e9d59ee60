/* SPDX-License-Identifier: Apache-2.0 */
/* The strict JSON reader every network input goes through, for callers outside common/ (the
 * orchestrator's HTTP API): one RFC 8259 text whose value is an object, no NUL bytes or \u0000
 * escapes (cJSON would cut a name or value short at them), no duplicate members, bounded depth
 * and size. The same rules as the signed documents (docs/manifest.md, "Common rules"). */
#ifndef FOTA_JSON_TEXT_H
#define FOTA_JSON_TEXT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "fota/error.h"

/* More than max bytes is FOTA_ERR_TOO_BIG before parsing; anything else refused is
 * FOTA_ERR_PARSE with the reason (FOTA_ERR_NOMEM out of memory). *out: the object, freed by
 * the caller with cJSON_Delete; NULL on error. */
fota_err fota_json_parse_object(const char *buf, size_t len, size_t max, cJSON **out,
				struct fota_error *err);

#endif
