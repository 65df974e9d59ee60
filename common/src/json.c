/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON reading and exact writing shared by every document codec, so they keep one set of
 * rules (docs/manifest.md, "Common rules"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/digest.h"
#include "fota/limits.h"
#include "fota/timeutil.h"
#include "json.h"

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
static fota_err check_dups(const cJSON *node, const char *pfx, struct fota_error *err)
{
	const cJSON *c;
	const char **names = NULL;
	size_t n = 0;
	fota_err rc = FOTA_OK;

	for (c = node->child; c != NULL; c = c->next) {
		n++;
		if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			rc = check_dups(c, pfx, err);
			if (rc != FOTA_OK)
				return rc;
		}
	}
	if (!cJSON_IsObject(node) || n < 2)
		return FOTA_OK;
	names = malloc(n * sizeof(*names));
	if (names == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "%sout of memory", pfx);
	n = 0;
	for (c = node->child; c != NULL; c = c->next)
		names[n++] = c->string;
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(names[i - 1], names[i]) == 0) {
			rc = fota_error_set(err, FOTA_ERR_PARSE, "%sduplicate member '%.64s'", pfx,
					    names[i]);
			break;
		}
	}
	free(names);
	return rc;
}

fota_err fota__json_load(const uint8_t *buf, size_t len, size_t max, cJSON **out, const char *pfx,
			 struct fota_error *err)
{
	char *copy = NULL;
	const char *end = NULL;
	cJSON *root = NULL;
	fota_err rc = FOTA_OK;

	*out = NULL;
	if (buf == NULL && len > 0)
		return fota_error_set(err, FOTA_ERR_INVAL, "%sno input", pfx);
	if (len > max)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s%zu bytes, limit %zu", pfx, len,
				      max);
	if (len == 0)
		return fota_error_set(err, FOTA_ERR_PARSE, "%sempty document", pfx);
	if (memchr(buf, '\0', len) != NULL)
		return fota_error_set(err, FOTA_ERR_PARSE, "%sNUL byte in document", pfx);
	if (has_nul_escape(buf, len))
		return fota_error_set(err, FOTA_ERR_PARSE, "%s\\u0000 escape in a string", pfx);
	copy = malloc(len + 1);
	if (copy == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "%sout of memory", pfx);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	/* The length includes our terminator, so trailing bytes after the value are refused. */
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (root == NULL) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, "%smalformed JSON near byte %zu", pfx,
				    end != NULL ? (size_t)(end - copy) : (size_t)0);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, "%snot a JSON object", pfx);
		goto out;
	}
	rc = check_dups(root, pfx, err);
out:
	free(copy);
	if (rc != FOTA_OK)
		cJSON_Delete(root);
	else
		*out = root;
	return rc;
}

const cJSON *fota__json_member(const cJSON *obj, const char *path)
{
	const char *dot = strrchr(path, '.');

	return cJSON_GetObjectItemCaseSensitive(obj, dot != NULL ? dot + 1 : path);
}

fota_err fota__json_missing(const char *path, const char *pfx, struct fota_error *err)
{
	return fota_error_set(err, FOTA_ERR_FIELD, "%s%s missing", pfx, path);
}

fota_err fota__json_int_value(const cJSON *it, const char *path, uint64_t min, uint64_t max,
			      uint64_t *out, const char *pfx, struct fota_error *err)
{
	double v;

	if (!cJSON_IsNumber(it))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not a number", pfx, path);
	v = it->valuedouble;
	if (!(v >= 0 && v <= (double)FOTA__JSON_MAX_INT) || (double)(uint64_t)v != v)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "%s%s %.17g is not an integer in 0..%" PRIu64, pfx, path, v,
				      (uint64_t)FOTA__JSON_MAX_INT);
	*out = (uint64_t)v;
	if (*out < min || *out > max)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "%s%s %" PRIu64 " out of range %" PRIu64 "..%" PRIu64, pfx,
				      path, *out, min, max);
	return FOTA_OK;
}

fota_err fota__json_get_uint(const cJSON *obj, const char *path, uint64_t min, uint64_t max,
			     uint64_t *out, const char *pfx, struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	if (it == NULL)
		return fota__json_missing(path, pfx, err);
	return fota__json_int_value(it, path, min, max, out, pfx, err);
}

fota_err fota__json_check_text(const char *s, size_t min, size_t max, const char *path,
			       const char *pfx, struct fota_error *err)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s%s longer than %zu bytes", pfx,
				      path, max);
	if (n < min)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is empty", pfx, path);
	/* Printable ASCII only: these strings reach logs, file names and hook environments. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "%s%s has byte 0x%02x, not printable ASCII", pfx,
					      path, c);
	}
	return FOTA_OK;
}

fota_err fota__json_string_value(const cJSON *it, const char *path, size_t min, size_t max,
				 const char **out, const char *pfx, struct fota_error *err)
{
	fota_err rc;

	if (!cJSON_IsString(it))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not a string", pfx, path);
	rc = fota__json_check_text(it->valuestring, min, max, path, pfx, err);
	if (rc == FOTA_OK)
		*out = it->valuestring;
	return rc;
}

fota_err fota__json_get_string(const cJSON *obj, const char *path, bool required, size_t min,
			       size_t max, const char **out, const char *pfx,
			       struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	*out = NULL;
	if (it == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	return fota__json_string_value(it, path, min, max, out, pfx, err);
}

fota_err fota__json_get_bool(const cJSON *obj, const char *path, bool required, bool *out,
			     const char *pfx, struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	if (it == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	if (!cJSON_IsBool(it))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not true or false", pfx, path);
	*out = cJSON_IsTrue(it);
	return FOTA_OK;
}

fota_err fota__json_get_time(const cJSON *obj, const char *path, int64_t *out, const char *pfx,
			     struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);
	struct fota_error terr = {0};

	if (it == NULL)
		return fota__json_missing(path, pfx, err);
	if (!cJSON_IsString(it))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not a string", pfx, path);
	if (fota_time_parse(it->valuestring, out, &terr) != FOTA_OK)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s %s", pfx, path, terr.msg);
	return FOTA_OK;
}

bool fota__json_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[n] == '\0';
}

/* One canonical spelling per value, so equal digests are equal strings. */
fota_err fota__json_get_hex(const cJSON *obj, const char *path, bool required, bool *present,
			    uint8_t *out, size_t n, const char *pfx, struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	if (present != NULL)
		*present = it != NULL;
	if (it == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	if (!cJSON_IsString(it) || strnlen(it->valuestring, 2 * n + 1) != 2 * n ||
	    !fota__json_is_hex(it->valuestring, 2 * n))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not %zu lower-case hex digits",
				      pfx, path, 2 * n);
	return fota_hex_decode(it->valuestring, out, n, err);
}

fota_err fota__json_get_object(const cJSON *obj, const char *path, bool required, const cJSON **out,
			       const char *pfx, struct fota_error *err)
{
	*out = fota__json_member(obj, path);
	if (*out == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	if (!cJSON_IsObject(*out))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not an object", pfx, path);
	return FOTA_OK;
}

fota_err fota__json_get_array(const cJSON *obj, const char *path, bool required, size_t max_items,
			      const cJSON **out, const char *pfx, struct fota_error *err)
{
	*out = fota__json_member(obj, path);
	if (*out == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	if (!cJSON_IsArray(*out))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not an array", pfx, path);
	if ((size_t)cJSON_GetArraySize(*out) > max_items)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s%s has more than %zu items", pfx,
				      path, max_items);
	return FOTA_OK;
}

fota_err fota__json_get_enum(const cJSON *obj, const char *path, const char *const *names,
			     size_t n_names, const char *expected, int *out, const char *pfx,
			     struct fota_error *err)
{
	const char *s;
	fota_err rc = fota__json_get_string(obj, path, true, 1, FOTA_MAX_NAME_LEN, &s, pfx, err);

	if (rc != FOTA_OK)
		return rc;
	for (size_t i = 0; i < n_names; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return FOTA_OK;
		}
	}
	return fota_error_set(err, FOTA_ERR_FIELD, "%s%s '%s' is not %s", pfx, path, s, expected);
}

const char *fota__json_find_string(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool fota__json_time_ok(int64_t t)
{
	char buf[FOTA_TIME_STR_LEN];
	int64_t back = -1;

	fota_time_format(t, buf);
	return fota_time_parse(buf, &back, NULL) == FOTA_OK && back == t;
}

bool fota__json_add_uint(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, buf) != NULL;
}

bool fota__json_add_time(cJSON *obj, const char *name, int64_t t)
{
	char buf[FOTA_TIME_STR_LEN];

	fota_time_format(t, buf);
	return cJSON_AddStringToObject(obj, name, buf) != NULL;
}
