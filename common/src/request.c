/* SPDX-License-Identifier: Apache-2.0 */
/* Repair request: which chunk ranges (and whether the table) a device wants unicast. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/request.h"

#define PFX "request rejected: "

/* JSON helpers, kept in step with manifest.c: one set of rules for every document (see
 * docs/manifest.md, "Common rules"). */

/* cJSON holds numbers as doubles; 2^53 - 1 is the largest integer every JSON reader keeps
 * exact, so larger ones are refused rather than silently rounded. */
#define JSON_MAX_INT 9007199254740991ull

/* A \u0000 escape would cut a cJSON string short and hide what follows from the checks. Outside
 * strings a backslash is invalid JSON anyway, so every backslash starts an escape. */
static bool has_nul_escape(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (buf[i + 1] == 'u' && len - i >= 6 && memcmp(buf + i + 2, "0000", 4) == 0)
			return true;
		i++;
	}
	return false;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* JSON readers disagree on which duplicate wins, so a signer and a device could see different
 * documents in the same bytes; refuse them. Sorting keeps wide objects O(n log n). */
static fota_err check_dups(const cJSON *node, struct fota_error *err)
{
	const cJSON *c;
	const char **names = NULL;
	size_t n = 0;
	fota_err rc = FOTA_OK;

	for (c = node->child; c != NULL; c = c->next) {
		n++;
		if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			rc = check_dups(c, err);
			if (rc != FOTA_OK)
				return rc;
		}
	}
	if (!cJSON_IsObject(node) || n < 2)
		return FOTA_OK;
	names = malloc(n * sizeof(*names));
	if (names == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory");
	n = 0;
	for (c = node->child; c != NULL; c = c->next)
		names[n++] = c->string;
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(names[i - 1], names[i]) == 0) {
			rc = fota_error_set(err, FOTA_ERR_PARSE, PFX "duplicate member '%.64s'",
					    names[i]);
			break;
		}
	}
	free(names);
	return rc;
}

/* Size limit before any parsing, then a strict parse of exactly len bytes into an object. */
static fota_err json_load(const uint8_t *buf, size_t len, size_t max, cJSON **out,
			  struct fota_error *err)
{
	char *copy = NULL;
	const char *end = NULL;
	cJSON *root = NULL;
	fota_err rc = FOTA_OK;

	*out = NULL;
	if (buf == NULL && len > 0)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no input");
	if (len > max)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "%zu bytes, limit %zu", len, max);
	if (len == 0)
		return fota_error_set(err, FOTA_ERR_PARSE, PFX "empty document");
	if (memchr(buf, '\0', len) != NULL)
		return fota_error_set(err, FOTA_ERR_PARSE, PFX "NUL byte in document");
	if (has_nul_escape(buf, len))
		return fota_error_set(err, FOTA_ERR_PARSE, PFX "\\u0000 escape in a string");
	copy = malloc(len + 1);
	if (copy == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory");
	memcpy(copy, buf, len);
	copy[len] = '\0';
	/* The length includes our terminator, so trailing bytes after the value are refused. */
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (root == NULL) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, PFX "malformed JSON near byte %zu",
				    end != NULL ? (size_t)(end - copy) : (size_t)0);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, PFX "not a JSON object");
		goto out;
	}
	rc = check_dups(root, err);
out:
	free(copy);
	if (rc != FOTA_OK)
		cJSON_Delete(root);
	else
		*out = root;
	return rc;
}

/* Members are named by their dotted path in messages; the last component is the key. */
static const cJSON *member(const cJSON *obj, const char *path)
{
	const char *dot = strrchr(path, '.');

	return cJSON_GetObjectItemCaseSensitive(obj, dot != NULL ? dot + 1 : path);
}

static fota_err missing(const char *path, struct fota_error *err)
{
	return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s missing", path);
}

static fota_err int_value(const cJSON *it, const char *path, uint64_t min, uint64_t max,
			  uint64_t *out, struct fota_error *err)
{
	double v;

	if (!cJSON_IsNumber(it))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is not a number", path);
	v = it->valuedouble;
	if (!(v >= 0 && v <= (double)JSON_MAX_INT) || (double)(uint64_t)v != v)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "%s %.17g is not an integer in 0..%" PRIu64, path, v,
				      (uint64_t)JSON_MAX_INT);
	*out = (uint64_t)v;
	if (*out < min || *out > max)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "%s %" PRIu64 " out of range %" PRIu64 "..%" PRIu64, path,
				      *out, min, max);
	return FOTA_OK;
}

static fota_err get_bool(const cJSON *obj, const char *path, bool required, bool *out,
			 struct fota_error *err)
{
	const cJSON *it = member(obj, path);

	if (it == NULL)
		return required ? missing(path, err) : FOTA_OK;
	if (!cJSON_IsBool(it))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is not true or false", path);
	*out = cJSON_IsTrue(it);
	return FOTA_OK;
}

static fota_err get_array(const cJSON *obj, const char *path, bool required, size_t max_items,
			  const cJSON **out, struct fota_error *err)
{
	*out = member(obj, path);
	if (*out == NULL)
		return required ? missing(path, err) : FOTA_OK;
	if (!cJSON_IsArray(*out))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is not an array", path);
	if ((size_t)cJSON_GetArraySize(*out) > max_items)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "%s has more than %zu items", path,
				      max_items);
	return FOTA_OK;
}

/* Repair request. */

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[n] == '\0';
}

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
	rc = int_value(it->child, fpath, 0, FOTA_MAX_CHUNK_COUNT - 1, &first, err);
	if (rc == FOTA_OK)
		rc = int_value(it->child->next, cpath, 1, FOTA_MAX_REQUEST_CHUNKS, &count, err);
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
	rc = json_load(json, len, FOTA_MAX_REQUEST_BYTES, &root, err);
	if (rc != FOTA_OK)
		goto out;
	it = member(root, "image");
	if (it == NULL) {
		rc = missing("image", err);
		goto out;
	}
	if (!cJSON_IsString(it) ||
	    strnlen(it->valuestring, FOTA_IMAGE_ID_HEX_LEN + 1) != FOTA_IMAGE_ID_HEX_LEN ||
	    !lower_hex(it->valuestring, FOTA_IMAGE_ID_HEX_LEN)) {
		rc =
		    fota_error_set(err, FOTA_ERR_FIELD, PFX "image is not %d lower-case hex digits",
				   FOTA_IMAGE_ID_HEX_LEN);
		goto out;
	}
	rc = fota_hex_decode(it->valuestring, out->image_id, FOTA_IMAGE_ID_LEN, err);
	if (rc == FOTA_OK)
		rc = get_bool(root, "table", false, &out->want_table, err);
	if (rc == FOTA_OK)
		rc = get_array(root, "ranges", true, FOTA_MAX_REQUEST_RANGES, &list, err);
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
