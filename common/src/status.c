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
#include "json.h"

#define PFX "status rejected: "

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
	const char *s;
	fota_err rc = fota__json_get_string(obj, path, false, 0, max, &s, PFX, err);

	dst[0] = '\0';
	if (rc == FOTA_OK && s != NULL)
		memcpy(dst, s, strlen(s) + 1);
	return rc;
}

static fota_err opt_uint(const cJSON *obj, const char *path, uint64_t max, uint64_t *out,
			 struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	*out = 0;
	return it == NULL ? FOTA_OK : fota__json_int_value(it, path, 0, max, out, PFX, err);
}

static bool image_id_ok(const char *s)
{
	return s[0] == '\0' || fota__json_is_hex(s, FOTA_IMAGE_ID_HEX_LEN);
}

static bool printable(const char *s, size_t cap)
{
	return fota__json_check_text(s, 0, cap - 1, "", PFX, NULL) == FOTA_OK;
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
	if (s->sequence > FOTA__JSON_MAX_INT || s->bytes_received > FOTA__JSON_MAX_INT ||
	    s->unverified > FOTA__JSON_MAX_INT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "sequence, bytes or unverified above %llu",
				      FOTA__JSON_MAX_INT);
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
	if (!fota__json_time_ok(s->timestamp))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "ts %" PRId64 " is outside years 1970..9999",
				      s->timestamp);
	if (s->n_groups > FOTA_MAX_STATUS_GROUPS)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "more than %d groups",
				      FOTA_MAX_STATUS_GROUPS);
	for (size_t i = 0; i < s->n_groups; i++)
		if (!fota_topic_segment_valid(s->groups[i]))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "groups[%zu] is not 1..%d of [A-Za-z0-9._-]", i,
					      FOTA_MAX_SEGMENT_LEN);
	return FOTA_OK;
}

/* Optional "groups": an array of at most FOTA_MAX_STATUS_GROUPS valid names. */
static fota_err parse_groups(const cJSON *root, struct fota_status *out, struct fota_error *err)
{
	const cJSON *arr = NULL, *it;
	fota_err rc;

	rc = fota__json_get_array(root, "groups", false, FOTA_MAX_STATUS_GROUPS, &arr, PFX, err);
	if (rc != FOTA_OK || arr == NULL)
		return rc;
	cJSON_ArrayForEach(it, arr)
	{
		const char *g;

		rc = fota__json_string_value(it, "groups[]", 1, FOTA_MAX_SEGMENT_LEN, &g, PFX, err);
		if (rc != FOTA_OK)
			return rc;
		if (!fota_topic_segment_valid(g))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "group '%s' is not a valid name", g);
		memcpy(out->groups[out->n_groups++], g, strlen(g) + 1);
	}
	return FOTA_OK;
}

static fota_err parse_names(const cJSON *root, struct fota_status *out, struct fota_error *err)
{
	const char *s;
	int i;
	fota_err rc;

	rc = fota__json_get_string(root, "device", true, 1, FOTA_MAX_SEGMENT_LEN, &s, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	if (!fota_topic_segment_valid(s))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "device '%s' is not a valid id", s);
	memcpy(out->device, s, strlen(s) + 1);
	rc = fota__json_get_string(root, "state", true, 1, FOTA_MAX_NAME_LEN, &s, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	i = find_name(state_names, FOTA_STATE__COUNT, s);
	if (i < 0)
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "state '%s' unknown", s);
	out->state = (enum fota_state)i;
	rc = fota__json_get_string(root, "result", false, 1, FOTA_MAX_NAME_LEN, &s, PFX, err);
	if (rc != FOTA_OK || s == NULL)
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
	rc = fota__json_load(json, len, FOTA_MAX_STATUS_BYTES, &root, PFX, err);
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
		rc = opt_uint(root, "sequence", FOTA__JSON_MAX_INT, &out->sequence, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "bytes", FOTA__JSON_MAX_INT, &out->bytes_received, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "size", FOTA_MAX_IMAGE_SIZE, &out->image_size, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "present", FOTA_MAX_CHUNK_COUNT, &present, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "count", FOTA_MAX_CHUNK_COUNT, &count, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_time(root, "ts", &out->timestamp, PFX, err);
	if (rc == FOTA_OK)
		rc = parse_groups(root, out, err);
	if (rc == FOTA_OK)
		rc = opt_uint(root, "unverified", FOTA__JSON_MAX_INT, &out->unverified, err);
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
	    !fota__json_add_uint(root, "sequence", s->sequence) ||
	    !fota__json_add_uint(root, "bytes", s->bytes_received) ||
	    !fota__json_add_uint(root, "size", s->image_size) ||
	    !cJSON_AddNumberToObject(root, "present", s->chunks_present) ||
	    !cJSON_AddNumberToObject(root, "count", s->chunk_count) ||
	    !cJSON_AddStringToObject(root, "ts", ts))
		goto nomem;
	if (s->n_groups > 0) {
		cJSON *arr = cJSON_AddArrayToObject(root, "groups");

		for (size_t i = 0; arr != NULL && i < s->n_groups; i++)
			if (!cJSON_AddItemToArray(arr, cJSON_CreateString(s->groups[i])))
				goto nomem;
		if (arr == NULL)
			goto nomem;
	}
	if (s->unverified > 0 && !fota__json_add_uint(root, "unverified", s->unverified))
		goto nomem;
	*out = cJSON_PrintUnformatted(root);
	if (*out == NULL)
		goto nomem;
	cJSON_Delete(root);
	return FOTA_OK;
nomem:
	rc = fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory serializing");
	cJSON_Delete(root);
	return rc;
}
