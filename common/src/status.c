/* SPDX-License-Identifier: Apache-2.0 */
/* Agent states and result codes (names, LwM2M mapping) and the device status message. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/status.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#define PFX "status rejected: "

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

/* States, results and their wire names. */

static const char *const state_names[FOTA_STATE__COUNT] = {
	[FOTA_STATE_IDLE] = "idle",
	[FOTA_STATE_DOWNLOADING] = "downloading",
	[FOTA_STATE_DOWNLOADED] = "downloaded",
	[FOTA_STATE_VERIFYING] = "verifying",
	[FOTA_STATE_INSTALLING] = "installing",
	[FOTA_STATE_REBOOTING] = "rebooting",
	[FOTA_STATE_TESTING] = "testing",
	[FOTA_STATE_CONFIRMED] = "confirmed",
	[FOTA_STATE_ROLLED_BACK] = "rolled_back",
	[FOTA_STATE_FAILED] = "failed",
	[FOTA_STATE_DEFERRED] = "deferred",
	[FOTA_STATE_OFFLINE] = "offline",
};

static const char *const result_names[FOTA_RESULT__COUNT] = {
	[FOTA_RESULT_NONE] = "none",
	[FOTA_RESULT_SUCCESS] = "success",
	[FOTA_RESULT_NO_SPACE] = "no_space",
	[FOTA_RESULT_NO_MEMORY] = "no_memory",
	[FOTA_RESULT_CONNECTION_LOST] = "connection_lost",
	[FOTA_RESULT_INTEGRITY] = "integrity",
	[FOTA_RESULT_SIGNATURE] = "signature",
	[FOTA_RESULT_UNSUPPORTED] = "unsupported",
	[FOTA_RESULT_EXPIRED] = "expired",
	[FOTA_RESULT_ROLLBACK] = "rollback",
	[FOTA_RESULT_INVALID] = "invalid",
	[FOTA_RESULT_STALLED] = "stalled",
	[FOTA_RESULT_INSTALL_FAILED] = "install_failed",
	[FOTA_RESULT_HEALTH_CHECK_FAILED] = "health_check_failed",
	[FOTA_RESULT_ABORTED] = "aborted",
};

/* LwM2M Object 5 resource 5 values. */
enum {
	LWM2M_INITIAL = 0,
	LWM2M_SUCCESS = 1,
	LWM2M_NO_FLASH = 2,
	LWM2M_NO_RAM = 3,
	LWM2M_CONNECTION_LOST = 4,
	LWM2M_INTEGRITY = 5,
	LWM2M_UNSUPPORTED_TYPE = 6,
	LWM2M_FAILED = 8,
};

static const int lwm2m[FOTA_RESULT__COUNT] = {
	[FOTA_RESULT_NONE] = LWM2M_INITIAL,
	[FOTA_RESULT_SUCCESS] = LWM2M_SUCCESS,
	[FOTA_RESULT_NO_SPACE] = LWM2M_NO_FLASH,
	[FOTA_RESULT_NO_MEMORY] = LWM2M_NO_RAM,
	[FOTA_RESULT_CONNECTION_LOST] = LWM2M_CONNECTION_LOST,
	[FOTA_RESULT_INTEGRITY] = LWM2M_INTEGRITY,
	[FOTA_RESULT_SIGNATURE] = LWM2M_INTEGRITY,
	[FOTA_RESULT_UNSUPPORTED] = LWM2M_UNSUPPORTED_TYPE,
	[FOTA_RESULT_EXPIRED] = LWM2M_FAILED,
	[FOTA_RESULT_ROLLBACK] = LWM2M_FAILED,
	[FOTA_RESULT_INVALID] = LWM2M_UNSUPPORTED_TYPE,
	[FOTA_RESULT_STALLED] = LWM2M_CONNECTION_LOST,
	[FOTA_RESULT_INSTALL_FAILED] = LWM2M_FAILED,
	[FOTA_RESULT_HEALTH_CHECK_FAILED] = LWM2M_FAILED,
	[FOTA_RESULT_ABORTED] = LWM2M_FAILED,
};

const char *fota_state_name(enum fota_state s)
{
	if ((unsigned)s >= FOTA_STATE__COUNT)
		return "unknown";
	return state_names[s];
}

const char *fota_result_name(enum fota_result r)
{
	if ((unsigned)r >= FOTA_RESULT__COUNT)
		return "unknown";
	return result_names[r];
}

static int find_name(const char *const *names, int n, const char *name)
{
	for (int i = 0; name != NULL && i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return i;
	}
	return -1;
}

fota_err fota_state_parse(const char *name, enum fota_state *out, struct fota_error *err)
{
	int i = find_name(state_names, FOTA_STATE__COUNT, name);

	if (i < 0)
		return fota_error_set(err, FOTA_ERR_FIELD, "unknown state '%.64s'",
				      name ? name : "(null)");
	*out = (enum fota_state)i;
	return FOTA_OK;
}

fota_err fota_result_parse(const char *name, enum fota_result *out, struct fota_error *err)
{
	int i = find_name(result_names, FOTA_RESULT__COUNT, name);

	if (i < 0)
		return fota_error_set(err, FOTA_ERR_FIELD, "unknown result '%.64s'",
				      name ? name : "(null)");
	*out = (enum fota_result)i;
	return FOTA_OK;
}

int fota_result_lwm2m(enum fota_result r)
{
	if ((unsigned)r >= FOTA_RESULT__COUNT)
		return LWM2M_FAILED;
	return lwm2m[r];
}

enum fota_result fota_result_from_err(fota_err code)
{
	switch (code) {
	case FOTA_OK:
		return FOTA_RESULT_NONE;
	case FOTA_ERR_NOMEM:
		return FOTA_RESULT_NO_MEMORY;
	case FOTA_ERR_INVAL:
	case FOTA_ERR_TOO_BIG:
	case FOTA_ERR_PARSE:
	case FOTA_ERR_FIELD:
	case FOTA_ERR_CRITICAL:
		return FOTA_RESULT_INVALID;
	case FOTA_ERR_ALG:
	case FOTA_ERR_UNKNOWN_KEY:
	case FOTA_ERR_WRONG_ROLE:
	case FOTA_ERR_SIGNATURE:
	case FOTA_ERR_THRESHOLD:
		return FOTA_RESULT_SIGNATURE;
	case FOTA_ERR_EXPIRED:
		return FOTA_RESULT_EXPIRED;
	case FOTA_ERR_ROLLBACK:
		return FOTA_RESULT_ROLLBACK;
	case FOTA_ERR_INCOMPATIBLE:
		return FOTA_RESULT_UNSUPPORTED;
	case FOTA_ERR_DIGEST:
		return FOTA_RESULT_INTEGRITY;
	case FOTA_ERR_MQTT:
		return FOTA_RESULT_CONNECTION_LOST;
	case FOTA_ERR_TIMEOUT:
		return FOTA_RESULT_STALLED;
	case FOTA_ERR_IO:
	case FOTA_ERR_CRYPTO:
	case FOTA_ERR_STATE:
	case FOTA_ERR_NOT_FOUND:
	case FOTA_ERR__COUNT:
		break;
	}
	/* Local failures with no closer LwM2M meaning. */
	return FOTA_RESULT_INSTALL_FAILED;
}

bool fota_state_is_final(enum fota_state s)
{
	return s == FOTA_STATE_CONFIRMED || s == FOTA_STATE_ROLLED_BACK || s == FOTA_STATE_FAILED;
}

/* Status message. */

/* An optional string of 0..max bytes (absent = ""), copied into dst (max + 1 bytes). */
static fota_err opt_string(const cJSON *obj, const char *path, size_t max, char *dst,
			   struct fota_error *err)
{
	const cJSON *it = member(obj, path);
	const char *s;
	fota_err rc;

	dst[0] = '\0';
	if (it == NULL)
		return FOTA_OK;
	rc = string_value(it, path, 0, max, &s, err);
	if (rc == FOTA_OK)
		memcpy(dst, s, strlen(s) + 1);
	return rc;
}

static fota_err opt_uint(const cJSON *obj, const char *path, uint64_t max, uint64_t *out,
			 struct fota_error *err)
{
	const cJSON *it = member(obj, path);

	*out = 0;
	return it == NULL ? FOTA_OK : int_value(it, path, 0, max, out, err);
}

static bool image_id_ok(const char *s)
{
	size_t n = strnlen(s, FOTA_IMAGE_ID_HEX_LEN + 1);

	if (n == 0)
		return true;
	if (n != FOTA_IMAGE_ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/* Representable in the fixed-width RFC 3339 form, i.e. 1970..9999. */
static bool time_ok(int64_t t)
{
	char buf[FOTA_TIME_STR_LEN];
	int64_t back = -1;

	fota_time_format(t, buf);
	return fota_time_parse(buf, &back, NULL) == FOTA_OK && back == t;
}

static fota_err validate(const struct fota_status *s, struct fota_error *err)
{
	if (!fota_topic_segment_valid(s->device) ||
	    strnlen(s->device, sizeof(s->device)) == sizeof(s->device))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "device is not a valid device id");
	if ((unsigned)s->state >= FOTA_STATE__COUNT)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "state %d unknown", (int)s->state);
	if ((unsigned)s->result >= FOTA_RESULT__COUNT)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "result %d unknown", (int)s->result);
	if (!printable(s->reason, sizeof(s->reason)) ||
	    !printable(s->campaign, sizeof(s->campaign)) ||
	    !printable(s->version, sizeof(s->version)) || !printable(s->model, sizeof(s->model)) ||
	    !printable(s->hw_revision, sizeof(s->hw_revision)))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "a string is unterminated or not printable ASCII");
	if (s->campaign[0] != '\0' && !fota_topic_segment_valid(s->campaign))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "campaign '%s' is not 1..%d of [A-Za-z0-9._-]",
				      s->campaign, FOTA_MAX_SEGMENT_LEN);
	if (!image_id_ok(s->image_id))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image is not empty or %d lower-case hex digits",
				      FOTA_IMAGE_ID_HEX_LEN);
	if (s->sequence > JSON_MAX_INT || s->bytes_received > JSON_MAX_INT)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "sequence or bytes above %llu",
				      JSON_MAX_INT);
	if (s->image_size > FOTA_MAX_IMAGE_SIZE)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "size %" PRIu64 " out of range 0..%llu", s->image_size,
				      FOTA_MAX_IMAGE_SIZE);
	if (s->chunk_count > FOTA_MAX_CHUNK_COUNT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "count %" PRIu32 " out of range 0..%u", s->chunk_count,
				      FOTA_MAX_CHUNK_COUNT);
	if (s->chunks_present > s->chunk_count)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "present %" PRIu32 " > count %" PRIu32, s->chunks_present,
				      s->chunk_count);
	if (!time_ok(s->timestamp))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "ts %" PRId64 " is outside years 1970..9999",
				      s->timestamp);
	return FOTA_OK;
}

static fota_err parse_names(const cJSON *root, struct fota_status *out, struct fota_error *err)
{
	const cJSON *it;
	const char *s;
	int i;
	fota_err rc;

	it = member(root, "device");
	if (it == NULL)
		return missing("device", err);
	rc = string_value(it, "device", 1, FOTA_MAX_SEGMENT_LEN, &s, err);
	if (rc != FOTA_OK)
		return rc;
	if (!fota_topic_segment_valid(s))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "device '%s' is not a valid id", s);
	memcpy(out->device, s, strlen(s) + 1);
	it = member(root, "state");
	if (it == NULL)
		return missing("state", err);
	rc = string_value(it, "state", 1, FOTA_MAX_NAME_LEN, &s, err);
	if (rc != FOTA_OK)
		return rc;
	i = find_name(state_names, FOTA_STATE__COUNT, s);
	if (i < 0)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "state '%s' unknown", s);
	out->state = (enum fota_state)i;
	it = member(root, "result");
	if (it == NULL)
		return FOTA_OK;
	rc = string_value(it, "result", 1, FOTA_MAX_NAME_LEN, &s, err);
	if (rc != FOTA_OK)
		return rc;
	i = find_name(result_names, FOTA_RESULT__COUNT, s);
	if (i < 0)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "result '%s' unknown", s);
	out->result = (enum fota_result)i;
	return FOTA_OK;
}

fota_err fota_status_parse(const uint8_t *json, size_t len, struct fota_status *out,
			   struct fota_error *err)
{
	cJSON *root = NULL;
	uint64_t present = 0, count = 0;
	fota_err rc;

	if (out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no output");
	memset(out, 0, sizeof(*out));
	rc = json_load(json, len, FOTA_MAX_STATUS_BYTES, &root, err);
	if (rc == FOTA_OK)
		rc = parse_names(root, out, err);
	if (rc == FOTA_OK)
		rc = opt_string(root, "reason", FOTA_MAX_REASON_LEN, out->reason, err);
	if (rc == FOTA_OK)
		rc = opt_string(root, "campaign", FOTA_MAX_NAME_LEN, out->campaign, err);
	if (rc == FOTA_OK)
		rc = opt_string(root, "image", FOTA_IMAGE_ID_HEX_LEN, out->image_id, err);
	if (rc == FOTA_OK)
		rc = opt_string(root, "version", FOTA_MAX_VERSION_LEN, out->version, err);
	if (rc == FOTA_OK)
		rc = opt_string(root, "model", FOTA_MAX_NAME_LEN, out->model, err);
	if (rc == FOTA_OK)
		rc = opt_string(root, "hw", FOTA_MAX_VERSION_LEN, out->hw_revision, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "sequence", JSON_MAX_INT, &out->sequence, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "bytes", JSON_MAX_INT, &out->bytes_received, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "size", FOTA_MAX_IMAGE_SIZE, &out->image_size, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "present", FOTA_MAX_CHUNK_COUNT, &present, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "count", FOTA_MAX_CHUNK_COUNT, &count, err);
	if (rc == FOTA_OK)
		rc = get_time(root, "ts", &out->timestamp, err);
	if (rc != FOTA_OK)
		goto out;
	out->chunks_present = (uint32_t)present;
	out->chunk_count = (uint32_t)count;
	rc = validate(out, err);
out:
	cJSON_Delete(root);
	if (rc != FOTA_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* cJSON prints doubles with 15 significant digits and a loose round-trip check, which rounds
 * integers near 2^53; write 64-bit fields as exact decimal text instead. */
static bool add_uint(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, buf) != NULL;
}

fota_err fota_status_to_json(const struct fota_status *s, char **out, struct fota_error *err)
{
	char ts[FOTA_TIME_STR_LEN];
	cJSON *root = NULL;
	fota_err rc;

	if (s == NULL || out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no status or output");
	*out = NULL;
	rc = validate(s, err);
	if (rc != FOTA_OK)
		return rc;
	fota_time_format(s->timestamp, ts);
	root = cJSON_CreateObject();
	if (root == NULL || !cJSON_AddStringToObject(root, "device", s->device) ||
	    !cJSON_AddStringToObject(root, "state", fota_state_name(s->state)) ||
	    !cJSON_AddStringToObject(root, "result", fota_result_name(s->result)) ||
	    !cJSON_AddStringToObject(root, "reason", s->reason) ||
	    !cJSON_AddStringToObject(root, "campaign", s->campaign) ||
	    !cJSON_AddStringToObject(root, "image", s->image_id) ||
	    !cJSON_AddStringToObject(root, "version", s->version) ||
	    !cJSON_AddStringToObject(root, "model", s->model) ||
	    !cJSON_AddStringToObject(root, "hw", s->hw_revision) ||
	    !add_uint(root, "sequence", s->sequence) ||
	    !add_uint(root, "bytes", s->bytes_received) ||
	    !add_uint(root, "size", s->image_size) ||
	    !cJSON_AddNumberToObject(root, "present", s->chunks_present) ||
	    !cJSON_AddNumberToObject(root, "count", s->chunk_count) ||
	    !cJSON_AddStringToObject(root, "ts", ts) ||
	    (*out = cJSON_PrintUnformatted(root)) == NULL)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory serializing");
	cJSON_Delete(root);
	return rc;
}
