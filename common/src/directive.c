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
#include "json.h"

#define PFX "directive rejected: "

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

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
	const char *s;
	fota_err rc = fota__json_get_string(obj, path, true, 1, FOTA_MAX_SEGMENT_LEN, &s, PFX, err);

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
	fota_err rc = fota__json_get_object(root, "window", false, &w, PFX, err);

	if (rc != FOTA_OK || w == NULL)
		return rc;
	if (fota__json_member(w, "window.not_before") != NULL)
		rc = fota__json_get_time(w, "window.not_before", &d->not_before, PFX, err);
	if (rc == FOTA_OK && fota__json_member(w, "window.not_after") != NULL)
		rc = fota__json_get_time(w, "window.not_after", &d->not_after, PFX, err);
	if (rc == FOTA_OK &&
	    (fota__json_member(w, "window.daily") || fota__json_member(w, "window.tz"))) {
		const char *daily = NULL, *tz = NULL;

		rc = fota__json_get_string(w, "window.daily", true, 1, FOTA_DAILY_WINDOW_STR_LEN,
					   &daily, PFX, err);
		if (rc == FOTA_OK)
			rc = fota__json_get_string(w, "window.tz", true, 1, FOTA_MAX_TZ_NAME_LEN,
						   &tz, PFX, err);
		if (rc == FOTA_OK) {
			rc = fota_daily_window_parse(daily, tz, &d->daily, err);
			if (rc)
				fota_error_prefix(err, "directive rejected");
		}
	}
	return rc;
}

static fota_err parse_devices(const cJSON *adm, struct fota_directive *d, struct fota_error *err)
{
	const cJSON *list, *it;
	const char *s;
	char path[48];
	size_t n;
	fota_err rc = fota__json_get_array(adm, "admission.devices", false, FOTA_MAX_ADMIT_DEVICES,
					   &list, PFX, err);

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
		rc = fota__json_string_value(it, path, 1, FOTA_MAX_SEGMENT_LEN, &s, PFX, err);
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
	const cJSON *adm;
	const char *s;
	uint64_t v;
	fota_err rc = fota__json_get_object(root, "admission", true, &adm, PFX, err);

	if (rc == FOTA_OK)
		rc = fota__json_get_bool(adm, "admission.all", false, &d->admit_all, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	if (d->admit_all) {
		/* Mixing "everyone" with a selection is ambiguous; make the signer pick one. */
		if (fota__json_member(adm, "admission.devices") != NULL ||
		    fota__json_member(adm, "admission.percent") != NULL ||
		    fota__json_member(adm, "admission.salt") != NULL)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX
					      "admission.all excludes devices, percent and salt");
		return FOTA_OK;
	}
	rc = fota__json_get_uint(adm, "admission.percent", 0, 100, &v, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	d->admit_percent = (uint32_t)v;
	rc =
	    fota__json_get_string(adm, "admission.salt", false, 1, FOTA_MAX_NAME_LEN, &s, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	if (s != NULL)
		memcpy(d->salt, s, strlen(s) + 1);
	return parse_devices(adm, d, err);
}

static fota_err parse_manifest_text(const cJSON *root, struct fota_directive *d,
				    struct fota_error *err)
{
	const cJSON *it = fota__json_member(root, "manifest");
	size_t n;

	if (it == NULL)
		return fota__json_missing("manifest", PFX, err);
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
	int e = 0;
	fota_err rc;

	if (out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no output");
	memset(out, 0, sizeof(*out));
	rc = fota__json_load_kind(json, len, FOTA_MAX_DIRECTIVE_BYTES, "schema",
				  FOTA_DIRECTIVE_SCHEMA, &root, PFX, err);
	if (rc != FOTA_OK)
		goto out;
	rc = fota__json_get_uint(root, "directive_seq", 1, FOTA__JSON_MAX_INT, &out->directive_seq,
				 PFX, err);
	if (rc == FOTA_OK)
		rc = copy_id(root, "campaign", out->campaign_id, err);
	if (rc == FOTA_OK)
		rc = copy_id(root, "group", out->group, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_time(root, "created", &out->created, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_time(root, "expires", &out->expires, PFX, err);
	if (rc == FOTA_OK)
		rc = parse_window(root, out, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_enum(root, "state", state_names, N_ELEMS(state_names),
					 "active, paused or aborted", &e, PFX, err);
	if (rc != FOTA_OK)
		goto out;
	out->state = (enum fota_campaign_state)e;
	rc = fota__json_get_hex(root, "manifest_sha256", true, NULL, out->manifest_sha256,
				FOTA_SHA256_LEN, PFX, err);
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

static bool id_ok(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap && fota_topic_segment_valid(s);
}

static fota_err validate_admission(const struct fota_directive *d, struct fota_error *err)
{
	size_t n = strnlen(d->salt, sizeof(d->salt));
	fota_err rc;

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
	rc = fota__json_check_text(d->salt, 0, sizeof(d->salt) - 1, "admission.salt", PFX, err);
	if (rc != FOTA_OK)
		return rc;
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

	if (d->directive_seq == 0 || d->directive_seq > FOTA__JSON_MAX_INT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "directive_seq %" PRIu64 " out of range 1..%llu",
				      d->directive_seq, FOTA__JSON_MAX_INT);
	if (!id_ok(d->campaign_id, sizeof(d->campaign_id)))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "campaign is not 1..%d of [A-Za-z0-9._-]",
				      FOTA_MAX_SEGMENT_LEN);
	if (!id_ok(d->group, sizeof(d->group)))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "group is not 1..%d of [A-Za-z0-9._-]",
				      FOTA_MAX_SEGMENT_LEN);
	if (!fota__json_time_ok(d->created) || !fota__json_time_ok(d->expires))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "created or expires is outside years 1970..9999");
	if (d->expires <= d->created) {
		fota_time_format(d->created, a);
		fota_time_format(d->expires, b);
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "expires %s is not after created %s",
				      b, a);
	}
	/* 0 means "no bound", so a bound must be a real instant after the epoch. */
	if ((d->not_before != 0 && (d->not_before < 0 || !fota__json_time_ok(d->not_before))) ||
	    (d->not_after != 0 && (d->not_after < 0 || !fota__json_time_ok(d->not_after))))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "window bound is not a time after 1970-01-01T00:00:00Z");
	if (d->not_before != 0 && d->not_after != 0 && d->not_after <= d->not_before) {
		fota_time_format(d->not_before, a);
		fota_time_format(d->not_after, b);
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "window.not_after %s is not after window.not_before %s",
				      b, a);
	}
	if (d->daily.set &&
	    (d->daily.start_min >= 1440 || d->daily.end_min >= 1440 ||
	     d->daily.start_min == d->daily.end_min || !fota_tz_name_valid(d->daily.tz)))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "window.daily is empty or out of range, or window.tz is "
					  "not a zone name");
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

/* Builds the document; false only on allocation failure. */
static bool build(const struct fota_directive *d, cJSON *root)
{
	char hex[FOTA_SHA256_HEX_LEN + 1];
	cJSON *w, *adm, *list;

	fota_hex_encode(d->manifest_sha256, FOTA_SHA256_LEN, hex);
	if (!cJSON_AddStringToObject(root, "schema", FOTA_DIRECTIVE_SCHEMA) ||
	    !fota__json_add_uint(root, "directive_seq", d->directive_seq) ||
	    !cJSON_AddStringToObject(root, "campaign", d->campaign_id) ||
	    !cJSON_AddStringToObject(root, "group", d->group) ||
	    !fota__json_add_time(root, "created", d->created) ||
	    !fota__json_add_time(root, "expires", d->expires))
		return false;
	if (d->not_before != 0 || d->not_after != 0 || d->daily.set) {
		char daily[FOTA_DAILY_WINDOW_STR_LEN + 1];

		fota_daily_window_format(&d->daily, daily);
		w = cJSON_AddObjectToObject(root, "window");
		if (w == NULL ||
		    (d->not_before != 0 && !fota__json_add_time(w, "not_before", d->not_before)) ||
		    (d->not_after != 0 && !fota__json_add_time(w, "not_after", d->not_after)) ||
		    (d->daily.set && (!cJSON_AddStringToObject(w, "daily", daily) ||
				      !cJSON_AddStringToObject(w, "tz", d->daily.tz))))
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
