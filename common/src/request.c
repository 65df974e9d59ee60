/* SPDX-License-Identifier: Apache-2.0 */
/* Repair request: which chunk ranges (and whether the table) a device wants unicast. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/request.h"
#include "json.h"

#define PFX "request rejected: "

/* Repair request. */

static fota_err parse_range(const cJSON *it, size_t i, struct fota_range *r, struct fota_error *err)
{
	char path[32], fpath[40], cpath[40];
	uint64_t first, count;
	fota_err rc;

	snprintf(path, sizeof(path), "ranges[%zu]", i);
	snprintf(fpath, sizeof(fpath), "%s first", path);
	snprintf(cpath, sizeof(cpath), "%s count", path);
	if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is not [first, count]", path);
	rc = fota__json_int_value(it->child, fpath, 0, FOTA_MAX_CHUNK_COUNT - 1, &first, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_int_value(it->child->next, cpath, 1, FOTA_MAX_REQUEST_CHUNKS,
					  &count, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	/* No image has more chunks than the limit, so no valid range reaches past it. */
	if (first + count > FOTA_MAX_CHUNK_COUNT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "%s [%" PRIu64 ", %" PRIu64 "] ends past chunk %u", path,
				      first, count, FOTA_MAX_CHUNK_COUNT);
	r->first = (uint32_t)first;
	r->count = (uint32_t)count;
	return FOTA_OK;
}

/* Checks shared by parse and serialization. */
static fota_err validate(const struct fota_request *r, struct fota_error *err)
{
	uint64_t total = 0;

	if (r->n_ranges > FOTA_MAX_REQUEST_RANGES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "ranges has more than %d items",
				      FOTA_MAX_REQUEST_RANGES);
	for (size_t i = 0; i < r->n_ranges; i++) {
		const struct fota_range *g = &r->ranges[i];

		if (g->count == 0)
			return fota_error_set(err, FOTA_ERR_FIELD, PFX "ranges[%zu] count is 0", i);
		if ((uint64_t)g->first + g->count > FOTA_MAX_CHUNK_COUNT)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "ranges[%zu] ends past chunk %u", i,
					      FOTA_MAX_CHUNK_COUNT);
		total += g->count;
	}
	if (total > FOTA_MAX_REQUEST_CHUNKS)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      PFX "asks for %" PRIu64 " chunks, limit %d", total,
				      FOTA_MAX_REQUEST_CHUNKS);
	if (r->n_ranges == 0 && !r->want_table)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "asks for nothing");
	return FOTA_OK;
}

fota_err fota_request_parse(const uint8_t *json, size_t len, struct fota_request *out,
			    struct fota_error *err)
{
	cJSON *root = NULL;
	const cJSON *it, *list;
	fota_err rc;

	if (out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no output");
	memset(out, 0, sizeof(*out));
	rc = fota__json_load(json, len, FOTA_MAX_REQUEST_BYTES, &root, PFX, err);
	if (rc != FOTA_OK)
		goto out;
	rc = fota__json_get_hex(root, "image", true, NULL, out->image_id, FOTA_IMAGE_ID_LEN, PFX,
				err);
	if (rc == FOTA_OK)
		rc = fota__json_get_bool(root, "table", false, &out->want_table, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_array(root, "ranges", true, FOTA_MAX_REQUEST_RANGES, &list, PFX,
					  err);
	if (rc != FOTA_OK)
		goto out;
	cJSON_ArrayForEach(it, list)
	{
		rc = parse_range(it, out->n_ranges, &out->ranges[out->n_ranges], err);
		if (rc != FOTA_OK)
			goto out;
		out->n_ranges++;
	}
	rc = validate(out, err);
out:
	cJSON_Delete(root);
	if (rc != FOTA_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

fota_err fota_request_to_json(const struct fota_request *r, char **out, struct fota_error *err)
{
	char hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	cJSON *root = NULL, *list;
	fota_err rc;

	if (r == NULL || out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no request or output");
	*out = NULL;
	rc = validate(r, err);
	if (rc != FOTA_OK)
		return rc;
	fota_hex_encode(r->image_id, FOTA_IMAGE_ID_LEN, hex);
	root = cJSON_CreateObject();
	if (root == NULL || !cJSON_AddStringToObject(root, "image", hex) ||
	    !cJSON_AddBoolToObject(root, "table", r->want_table) ||
	    (list = cJSON_AddArrayToObject(root, "ranges")) == NULL)
		goto nomem;
	for (size_t i = 0; i < r->n_ranges; i++) {
		const int pair[2] = {(int)r->ranges[i].first, (int)r->ranges[i].count};
		cJSON *a = cJSON_CreateIntArray(pair, 2);

		if (a == NULL || !cJSON_AddItemToArray(list, a)) {
			cJSON_Delete(a);
			goto nomem;
		}
	}
	*out = cJSON_PrintUnformatted(root);
	if (*out == NULL)
		goto nomem;
	cJSON_Delete(root);
	return FOTA_OK;
nomem:
	cJSON_Delete(root);
	return fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory serializing");
}

uint32_t fota_request_total_chunks(const struct fota_request *r)
{
	uint64_t total = 0;

	if (r == NULL)
		return 0;
	for (size_t i = 0; i < r->n_ranges && i < FOTA_MAX_REQUEST_RANGES; i++)
		total += r->ranges[i].count;
	return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

uint32_t fota_request_clip(struct fota_request *r, uint32_t limit)
{
	uint64_t dropped = 0;
	size_t i, kept = 0;

	for (i = 0; i < r->n_ranges && i < FOTA_MAX_REQUEST_RANGES; i++) {
		struct fota_range rg = r->ranges[i];

		if (rg.first >= limit) {
			dropped += rg.count;
			continue;
		}
		if (rg.count > limit - rg.first) {
			dropped += rg.count - (limit - rg.first);
			rg.count = limit - rg.first;
		}
		r->ranges[kept++] = rg;
	}
	r->n_ranges = kept;
	return dropped > UINT32_MAX ? UINT32_MAX : (uint32_t)dropped;
}
