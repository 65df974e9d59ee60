/* SPDX-License-Identifier: Apache-2.0 */
/* Campaign directive: strict JSON parsing and validation, deterministic percentage admission. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/directive.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#define PFX "directive rejected: "

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

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

static fota_err get_uint(const cJSON *obj, const char *path, uint64_t min, uint64_t max,
			 uint64_t *out, struct fota_error *err)
{
	const cJSON *it = member(obj, path);

	if (it == NULL)
		return missing(path, err);
	return int_value(it, path, min, max, out, err);
}

static fota_err string_value(const cJSON *it, const char *path, size_t min, size_t max,
			     const char **out, struct fota_error *err)
{
	size_t n;

	if (!cJSON_IsString(it))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is not a string", path);
	n = strlen(it->valuestring);
	if (n > max)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "%s longer than %zu bytes", path,
				      max);
	if (n < min)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is empty", path);
	/* Printable ASCII only: these strings reach logs, file names and hook environments. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)it->valuestring[i];

		if (c < 0x20 || c > 0x7e)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "%s has byte 0x%02x, not printable ASCII", path,
					      c);
	}
	*out = it->valuestring;
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

static fota_err get_time(const cJSON *obj, const char *path, int64_t *out, struct fota_error *err)
{
	const cJSON *it = member(obj, path);
	struct fota_error terr = {0};

	if (it == NULL)
		return missing(path, err);
	if (!cJSON_IsString(it))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is not a string", path);
	if (fota_time_parse(it->valuestring, out, &terr) != FOTA_OK)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s %s", path, terr.msg);
	return FOTA_OK;
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[n] == '\0';
}

/* A SHA-256 in its one canonical spelling: 64 lower-case hex digits. */
static fota_err get_digest(const cJSON *obj, const char *path, bool required, bool *present,
			   uint8_t out[FOTA_SHA256_LEN], struct fota_error *err)
{
	const cJSON *it = member(obj, path);

	if (present != NULL)
		*present = it != NULL;
	if (it == NULL)
		return required ? missing(path, err) : FOTA_OK;
	if (!cJSON_IsString(it) ||
	    strnlen(it->valuestring, FOTA_SHA256_HEX_LEN + 1) != FOTA_SHA256_HEX_LEN ||
	    !lower_hex(it->valuestring, FOTA_SHA256_HEX_LEN))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is not %d lower-case hex digits",
				      path, FOTA_SHA256_HEX_LEN);
	return fota_hex_decode(it->valuestring, out, FOTA_SHA256_LEN, err);
}

static fota_err get_object(const cJSON *obj, const char *path, bool required, const cJSON **out,
			   struct fota_error *err)
{
	*out = member(obj, path);
	if (*out == NULL)
		return required ? missing(path, err) : FOTA_OK;
	if (!cJSON_IsObject(*out))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s is not an object", path);
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

static fota_err parse_enum(const cJSON *obj, const char *path, const char *const *names,
			   size_t n_names, const char *expected, int *out, struct fota_error *err)
{
	const cJSON *it = member(obj, path);
	const char *s;
	fota_err rc;

	if (it == NULL)
		return missing(path, err);
	rc = string_value(it, path, 1, FOTA_MAX_NAME_LEN, &s, err);
	if (rc != FOTA_OK)
		return rc;
	for (size_t i = 0; i < n_names; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return FOTA_OK;
		}
	}
	return fota_error_set(err, FOTA_ERR_FIELD, PFX "%s '%s' is not %s", path, s, expected);
}

/* Directive model. */

static const char *const state_names[] = {
	[FOTA_CAMPAIGN_ACTIVE] = "active",
	[FOTA_CAMPAIGN_PAUSED] = "paused",
	[FOTA_CAMPAIGN_ABORTED] = "aborted",
};

const char *fota_campaign_state_name(enum fota_campaign_state s)
{
	if ((unsigned)s >= N_ELEMS(state_names))
		return "unknown";
	return state_names[s];
}

void fota_directive_clear(struct fota_directive *d)
{
	if (d == NULL)
		return;
	free(d->manifest_jws);
	for (size_t i = 0; d->admit_devices != NULL && i < d->n_admit_devices; i++)
		free(d->admit_devices[i]);
	free(d->admit_devices);
	memset(d, 0, sizeof(*d));
}

/* An id string of 1..64 topic-segment characters, copied into dst (65 bytes). */
static fota_err copy_id(const cJSON *obj, const char *path, char *dst, struct fota_error *err)
{
	const cJSON *it = member(obj, path);
	const char *s;
	fota_err rc;

	if (it == NULL)
		return missing(path, err);
	rc = string_value(it, path, 1, FOTA_MAX_SEGMENT_LEN, &s, err);
	if (rc != FOTA_OK)
		return rc;
	if (!fota_topic_segment_valid(s))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "%s '%s' is not 1..%d of [A-Za-z0-9._-]", path, s,
				      FOTA_MAX_SEGMENT_LEN);
	memcpy(dst, s, strlen(s) + 1);
	return FOTA_OK;
}

static fota_err parse_window(const cJSON *root, struct fota_directive *d, struct fota_error *err)
{
	const cJSON *w;
	fota_err rc = get_object(root, "window", false, &w, err);

	if (rc != FOTA_OK || w == NULL)
		return rc;
	if (member(w, "window.not_before") != NULL)
		rc = get_time(w, "window.not_before", &d->not_before, err);
	if (rc == FOTA_OK && member(w, "window.not_after") != NULL)
		rc = get_time(w, "window.not_after", &d->not_after, err);
	return rc;
}

static fota_err parse_devices(const cJSON *adm, struct fota_directive *d, struct fota_error *err)
{
	const cJSON *list, *it;
	const char *s;
	char path[48];
	size_t n;
	fota_err rc =
	    get_array(adm, "admission.devices", false, FOTA_MAX_ADMIT_DEVICES, &list, err);

	if (rc != FOTA_OK || list == NULL)
		return rc;
	n = (size_t)cJSON_GetArraySize(list);
	if (n == 0)
		return FOTA_OK;
	d->admit_devices = calloc(n, sizeof(*d->admit_devices));
	if (d->admit_devices == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory");
	cJSON_ArrayForEach(it, list)
	{
		snprintf(path, sizeof(path), "admission.devices[%zu]", d->n_admit_devices);
		rc = string_value(it, path, 1, FOTA_MAX_SEGMENT_LEN, &s, err);
		if (rc != FOTA_OK)
			return rc;
		if (!fota_topic_segment_valid(s))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "%s '%s' is not a valid device id", path, s);
		d->admit_devices[d->n_admit_devices] = strdup(s);
		if (d->admit_devices[d->n_admit_devices] == NULL)
			return fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory");
		d->n_admit_devices++;
	}
	return FOTA_OK;
}

static fota_err parse_admission(const cJSON *root, struct fota_directive *d, struct fota_error *err)
{
	const cJSON *adm, *salt;
	const char *s;
	uint64_t v;
	fota_err rc = get_object(root, "admission", true, &adm, err);

	if (rc == FOTA_OK)
		rc = get_bool(adm, "admission.all", false, &d->admit_all, err);
	if (rc != FOTA_OK)
		return rc;
	if (d->admit_all) {
		/* Mixing "everyone" with a selection is ambiguous; make the signer pick one. */
		if (member(adm, "admission.devices") != NULL ||
		    member(adm, "admission.percent") != NULL ||
		    member(adm, "admission.salt") != NULL)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX
					      "admission.all excludes devices, percent and salt");
		return FOTA_OK;
	}
	rc = get_uint(adm, "admission.percent", 0, 100, &v, err);
	if (rc != FOTA_OK)
		return rc;
	d->admit_percent = (uint32_t)v;
	salt = member(adm, "admission.salt");
	if (salt != NULL) {
		rc = string_value(salt, "admission.salt", 1, FOTA_MAX_NAME_LEN, &s, err);
		if (rc != FOTA_OK)
			return rc;
		memcpy(d->salt, s, strlen(s) + 1);
	}
	return parse_devices(adm, d, err);
}

static fota_err parse_manifest_text(const cJSON *root, struct fota_directive *d,
				    struct fota_error *err)
{
	const cJSON *it = member(root, "manifest");
	size_t n;

	if (it == NULL)
		return missing("manifest", err);
	if (!cJSON_IsString(it))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "manifest is not a string");
	/* Any text the envelope parser accepts; it applies its own rules, we only bound it. */
	n = strlen(it->valuestring);
	if (n > FOTA_MAX_ENVELOPE_BYTES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "manifest longer than %d bytes",
				      FOTA_MAX_ENVELOPE_BYTES);
	if (n == 0)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "manifest is empty");
	d->manifest_jws = malloc(n + 1);
	if (d->manifest_jws == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory");
	memcpy(d->manifest_jws, it->valuestring, n + 1);
	d->manifest_jws_len = n;
	return FOTA_OK;
}

static fota_err validate(const struct fota_directive *d, struct fota_error *err);

fota_err fota_directive_parse(const uint8_t *json, size_t len, struct fota_directive *out,
			      struct fota_error *err)
{
	cJSON *root = NULL;
	const cJSON *it;
	const char *schema;
	int e = 0;
	fota_err rc;

	if (out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no output");
	memset(out, 0, sizeof(*out));
	rc = json_load(json, len, FOTA_MAX_DIRECTIVE_BYTES, &root, err);
	if (rc != FOTA_OK)
		goto out;
	it = member(root, "schema");
	if (it == NULL) {
		rc = missing("schema", err);
		goto out;
	}
	rc = string_value(it, "schema", 1, FOTA_MAX_NAME_LEN, &schema, err);
	if (rc != FOTA_OK)
		goto out;
	if (strcmp(schema, FOTA_DIRECTIVE_SCHEMA) != 0) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    PFX "schema '%s' is not '" FOTA_DIRECTIVE_SCHEMA "'", schema);
		goto out;
	}
	rc = get_uint(root, "directive_seq", 1, JSON_MAX_INT, &out->directive_seq, err);
	if (rc == FOTA_OK)
		rc = copy_id(root, "campaign", out->campaign_id, err);
	if (rc == FOTA_OK)
		rc = copy_id(root, "group", out->group, err);
	if (rc == FOTA_OK)
		rc = get_time(root, "created", &out->created, err);
	if (rc == FOTA_OK)
		rc = get_time(root, "expires", &out->expires, err);
	if (rc == FOTA_OK)
		rc = parse_window(root, out, err);
	if (rc == FOTA_OK)
		rc = parse_enum(root, "state", state_names, N_ELEMS(state_names),
				"active, paused or aborted", &e, err);
	if (rc != FOTA_OK)
		goto out;
	out->state = (enum fota_campaign_state)e;
	rc = get_digest(root, "manifest_sha256", true, NULL, out->manifest_sha256, err);
	if (rc == FOTA_OK)
		rc = parse_manifest_text(root, out, err);
	if (rc == FOTA_OK)
		rc = parse_admission(root, out, err);
	if (rc == FOTA_OK)
		rc = validate(out, err);
out:
	cJSON_Delete(root);
	return rc;
}

/* Representable in the fixed-width RFC 3339 form, i.e. 1970..9999. */
static bool time_ok(int64_t t)
{
	char buf[FOTA_TIME_STR_LEN];
	int64_t back = -1;

	fota_time_format(t, buf);
	return fota_time_parse(buf, &back, NULL) == FOTA_OK && back == t;
}

static bool id_ok(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap && fota_topic_segment_valid(s);
}

static fota_err validate_admission(const struct fota_directive *d, struct fota_error *err)
{
	size_t n = strnlen(d->salt, sizeof(d->salt));

	if (d->admit_all) {
		if (d->n_admit_devices > 0 || d->admit_percent > 0 || n > 0)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX
					      "admission.all excludes devices, percent and salt");
		return FOTA_OK;
	}
	if (d->admit_percent > 100)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "admission.percent %" PRIu32 " out of range 0..100",
				      d->admit_percent);
	if (n == sizeof(d->salt))
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      PFX "admission.salt longer than %d bytes", FOTA_MAX_NAME_LEN);
	for (size_t i = 0; i < n; i++) {
		if (d->salt[i] < 0x20 || d->salt[i] > 0x7e)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "admission.salt has byte 0x%02x, not printable "
						  "ASCII",
					      (unsigned char)d->salt[i]);
	}
	/* Without a salt every campaign would admit the same devices first. */
	if (d->admit_percent > 0 && n == 0)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "admission.salt missing for percent %" PRIu32,
				      d->admit_percent);
	if (d->n_admit_devices > FOTA_MAX_ADMIT_DEVICES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      PFX "admission.devices has more than %d items",
				      FOTA_MAX_ADMIT_DEVICES);
	for (size_t i = 0; i < d->n_admit_devices; i++) {
		if (d->admit_devices == NULL || d->admit_devices[i] == NULL ||
		    !fota_topic_segment_valid(d->admit_devices[i]))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "admission.devices[%zu] is not a valid device id",
					      i);
	}
	return FOTA_OK;
}

static fota_err validate(const struct fota_directive *d, struct fota_error *err)
{
	char a[FOTA_TIME_STR_LEN], b[FOTA_TIME_STR_LEN];

	if (d->directive_seq == 0 || d->directive_seq > JSON_MAX_INT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "directive_seq %" PRIu64 " out of range 1..%llu",
				      d->directive_seq, JSON_MAX_INT);
	if (!id_ok(d->campaign_id, sizeof(d->campaign_id)))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "campaign is not 1..%d of [A-Za-z0-9._-]",
				      FOTA_MAX_SEGMENT_LEN);
	if (!id_ok(d->group, sizeof(d->group)))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "group is not 1..%d of [A-Za-z0-9._-]",
				      FOTA_MAX_SEGMENT_LEN);
	if (!time_ok(d->created) || !time_ok(d->expires))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "created or expires is outside years 1970..9999");
	if (d->expires <= d->created) {
		fota_time_format(d->created, a);
		fota_time_format(d->expires, b);
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "expires %s is not after created %s",
				      b, a);
	}
	/* 0 means "no bound", so a bound must be a real instant after the epoch. */
	if ((d->not_before != 0 && (d->not_before < 0 || !time_ok(d->not_before))) ||
	    (d->not_after != 0 && (d->not_after < 0 || !time_ok(d->not_after))))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "window bound is not a time after 1970-01-01T00:00:00Z");
	if (d->not_before != 0 && d->not_after != 0 && d->not_after <= d->not_before) {
		fota_time_format(d->not_before, a);
		fota_time_format(d->not_after, b);
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "window.not_after %s is not after window.not_before %s",
				      b, a);
	}
	if ((unsigned)d->state >= N_ELEMS(state_names))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "state %d unknown", (int)d->state);
	if (d->manifest_jws == NULL || d->manifest_jws_len == 0 ||
	    strnlen(d->manifest_jws, d->manifest_jws_len + 1) != d->manifest_jws_len)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "manifest is empty or its length is wrong");
	if (d->manifest_jws_len > FOTA_MAX_ENVELOPE_BYTES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "manifest longer than %d bytes",
				      FOTA_MAX_ENVELOPE_BYTES);
	return validate_admission(d, err);
}

/* cJSON prints doubles with 15 significant digits and a loose round-trip check, which rounds
 * integers near 2^53; write 64-bit fields as exact decimal text instead. */
static bool add_uint(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, buf) != NULL;
}

static bool add_time(cJSON *obj, const char *name, int64_t t)
{
	char buf[FOTA_TIME_STR_LEN];

	fota_time_format(t, buf);
	return cJSON_AddStringToObject(obj, name, buf) != NULL;
}

/* Builds the document; false only on allocation failure. */
static bool build(const struct fota_directive *d, cJSON *root)
{
	char hex[FOTA_SHA256_HEX_LEN + 1];
	cJSON *w, *adm, *list;

	fota_hex_encode(d->manifest_sha256, FOTA_SHA256_LEN, hex);
	if (!cJSON_AddStringToObject(root, "schema", FOTA_DIRECTIVE_SCHEMA) ||
	    !add_uint(root, "directive_seq", d->directive_seq) ||
	    !cJSON_AddStringToObject(root, "campaign", d->campaign_id) ||
	    !cJSON_AddStringToObject(root, "group", d->group) ||
	    !add_time(root, "created", d->created) || !add_time(root, "expires", d->expires))
		return false;
	if (d->not_before != 0 || d->not_after != 0) {
		w = cJSON_AddObjectToObject(root, "window");
		if (w == NULL ||
		    (d->not_before != 0 && !add_time(w, "not_before", d->not_before)) ||
		    (d->not_after != 0 && !add_time(w, "not_after", d->not_after)))
			return false;
	}
	if (!cJSON_AddStringToObject(root, "state", fota_campaign_state_name(d->state)) ||
	    !cJSON_AddStringToObject(root, "manifest_sha256", hex) ||
	    !cJSON_AddStringToObject(root, "manifest", d->manifest_jws))
		return false;
	adm = cJSON_AddObjectToObject(root, "admission");
	if (adm == NULL)
		return false;
	if (d->admit_all)
		return cJSON_AddTrueToObject(adm, "all") != NULL;
	list = cJSON_AddArrayToObject(adm, "devices");
	if (list == NULL)
		return false;
	for (size_t i = 0; i < d->n_admit_devices; i++) {
		cJSON *s = cJSON_CreateString(d->admit_devices[i]);

		if (s == NULL || !cJSON_AddItemToArray(list, s)) {
			cJSON_Delete(s);
			return false;
		}
	}
	if (!cJSON_AddNumberToObject(adm, "percent", d->admit_percent))
		return false;
	return d->salt[0] == '\0' || cJSON_AddStringToObject(adm, "salt", d->salt) != NULL;
}

fota_err fota_directive_to_json(const struct fota_directive *d, char **out, struct fota_error *err)
{
	cJSON *root = NULL;
	fota_err rc;

	if (out == NULL || d == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no directive or output");
	*out = NULL;
	rc = validate(d, err);
	if (rc != FOTA_OK)
		return rc;
	root = cJSON_CreateObject();
	if (root == NULL || !build(d, root) || (*out = cJSON_PrintUnformatted(root)) == NULL)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory serializing");
	cJSON_Delete(root);
	return rc;
}

/* Admission buckets: percent p admits buckets below p * 100, so raising p only adds devices. */
#define BUCKETS 10000u

uint32_t fota_admission_bucket(const char *salt, const char *device_id)
{
	struct fota_sha256_ctx *ctx;
	uint8_t md[FOTA_SHA256_LEN];
	const uint8_t sep = 0;

	if (salt == NULL)
		salt = "";
	if (device_id == NULL)
		device_id = "";
	ctx = fota_sha256_new();
	/* The last bucket is admitted only at 100 %, the safe answer when hashing is impossible. */
	if (ctx == NULL)
		return BUCKETS - 1;
	fota_sha256_update(ctx, salt, strlen(salt));
	fota_sha256_update(ctx, &sep, 1);
	fota_sha256_update(ctx, device_id, strlen(device_id));
	fota_sha256_final(ctx, md);
	fota_sha256_free(ctx);
	return ((uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3]) %
	       BUCKETS;
}

bool fota_directive_admits(const struct fota_directive *d, const char *device_id)
{
	if (d == NULL || device_id == NULL)
		return false;
	if (d->admit_all)
		return true;
	for (size_t i = 0; i < d->n_admit_devices; i++) {
		if (d->admit_devices[i] != NULL && strcmp(d->admit_devices[i], device_id) == 0)
			return true;
	}
	return fota_admission_bucket(d->salt, device_id) < d->admit_percent * 100;
}
