/* SPDX-License-Identifier: Apache-2.0 */
/* Group assignment: strict JSON parsing and validation, and the device's decision to apply it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/assignment.h"
#include "fota/envelope.h"
#include "fota/timeutil.h"
#include "fota/topics.h"
#include "fota/trust.h"
#include "json.h"

#define PFX "assignment rejected: "

static fota_err parse_groups(const cJSON *root, struct fota_assignment *a, struct fota_error *err)
{
	const cJSON *list, *it;
	const char *s;
	char path[32];
	fota_err rc =
	    fota__json_get_array(root, "groups", true, FOTA_MAX_ASSIGNED_GROUPS, &list, PFX, err);

	if (rc != FOTA_OK)
		return rc;
	cJSON_ArrayForEach(it, list)
	{
		snprintf(path, sizeof(path), "groups[%zu]", a->n_groups);
		rc = fota__json_string_value(it, path, 1, FOTA_MAX_SEGMENT_LEN, &s, PFX, err);
		if (rc != FOTA_OK)
			return rc;
		memcpy(a->groups[a->n_groups], s, strlen(s) + 1);
		a->n_groups++;
	}
	return FOTA_OK;
}

static fota_err validate(const struct fota_assignment *a, struct fota_error *err)
{
	char c[FOTA_TIME_STR_LEN], e[FOTA_TIME_STR_LEN];

	if (a->assignment_seq == 0 || a->assignment_seq > FOTA__JSON_MAX_INT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "assignment_seq %" PRIu64 " out of range 1..%llu",
				      a->assignment_seq, FOTA__JSON_MAX_INT);
	if (strnlen(a->device, sizeof(a->device)) == sizeof(a->device) ||
	    !fota_topic_segment_valid(a->device))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "device is not 1..%d of [A-Za-z0-9._-]",
				      FOTA_MAX_SEGMENT_LEN);
	if (!fota__json_time_ok(a->created) || !fota__json_time_ok(a->expires))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "created or expires is outside years 1970..9999");
	if (a->expires <= a->created) {
		fota_time_format(a->created, c);
		fota_time_format(a->expires, e);
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "expires %s is not after created %s",
				      e, c);
	}
	if (a->n_groups > FOTA_MAX_ASSIGNED_GROUPS)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "more than %d groups",
				      FOTA_MAX_ASSIGNED_GROUPS);
	for (size_t i = 0; i < a->n_groups; i++) {
		if (strnlen(a->groups[i], sizeof(a->groups[i])) == sizeof(a->groups[i]) ||
		    !fota_topic_segment_valid(a->groups[i]))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "groups[%zu] '%.64s' is not 1..%d of "
						  "[A-Za-z0-9._-]",
					      i, a->groups[i], FOTA_MAX_SEGMENT_LEN);
		/* A duplicate would be subscribed twice and counted twice. */
		for (size_t k = 0; k < i; k++)
			if (strcmp(a->groups[k], a->groups[i]) == 0)
				return fota_error_set(err, FOTA_ERR_FIELD,
						      PFX "group '%s' is named twice",
						      a->groups[i]);
	}
	return FOTA_OK;
}

fota_err fota_assignment_parse(const uint8_t *json, size_t len, struct fota_assignment *out,
			       struct fota_error *err)
{
	cJSON *root = NULL;
	const char *s;
	fota_err rc;

	if (out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no output");
	memset(out, 0, sizeof(*out));
	rc = fota__json_load_kind(json, len, FOTA_MAX_ASSIGNMENT_BYTES, "schema",
				  FOTA_ASSIGNMENT_SCHEMA, &root, PFX, err);
	if (rc != FOTA_OK)
		goto out;
	rc = fota__json_get_uint(root, "assignment_seq", 1, FOTA__JSON_MAX_INT,
				 &out->assignment_seq, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_string(root, "device", true, 1, FOTA_MAX_SEGMENT_LEN, &s, PFX,
					   err);
	if (rc == FOTA_OK)
		memcpy(out->device, s, strlen(s) + 1);
	if (rc == FOTA_OK)
		rc = fota__json_get_time(root, "created", &out->created, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_time(root, "expires", &out->expires, PFX, err);
	if (rc == FOTA_OK)
		rc = parse_groups(root, out, err);
	if (rc == FOTA_OK)
		rc = validate(out, err);
out:
	if (rc != FOTA_OK)
		memset(out, 0, sizeof(*out));
	cJSON_Delete(root);
	return rc;
}

fota_err fota_assignment_to_json(const struct fota_assignment *a, char **out,
				 struct fota_error *err)
{
	cJSON *root = NULL, *list;
	fota_err rc;
	bool ok;

	if (out == NULL || a == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no assignment or output");
	*out = NULL;
	rc = validate(a, err);
	if (rc != FOTA_OK)
		return rc;
	root = cJSON_CreateObject();
	ok = root != NULL && cJSON_AddStringToObject(root, "schema", FOTA_ASSIGNMENT_SCHEMA) &&
	     fota__json_add_uint(root, "assignment_seq", a->assignment_seq) &&
	     cJSON_AddStringToObject(root, "device", a->device) &&
	     fota__json_add_time(root, "created", a->created) &&
	     fota__json_add_time(root, "expires", a->expires) &&
	     (list = cJSON_AddArrayToObject(root, "groups")) != NULL;
	for (size_t i = 0; ok && i < a->n_groups; i++) {
		cJSON *g = cJSON_CreateString(a->groups[i]);

		ok = g != NULL && cJSON_AddItemToArray(list, g);
		if (!ok)
			cJSON_Delete(g);
	}
	if (!ok || (*out = cJSON_PrintUnformatted(root)) == NULL)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory serializing");
	cJSON_Delete(root);
	return rc;
}

fota_err fota_assignment_accept(const struct fota_trust *trust, const uint8_t *jws, size_t len,
				const char *device, uint64_t last_seq, int64_t now,
				struct fota_assignment *out, struct fota_error *err)
{
	uint8_t *body = NULL;
	size_t body_len = 0;
	char t[FOTA_TIME_STR_LEN];
	fota_err rc;

	memset(out, 0, sizeof(*out));
	/* Verified before anything parses it, by the directive's rules. */
	rc = fota_envelope_verify(trust, FOTA_ROLE_ORCHESTRATOR, (const char *)jws, len,
				  FOTA_MAX_ASSIGNMENT_BYTES, &body, &body_len, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "assignment rejected");
		return rc;
	}
	rc = fota_assignment_parse(body, body_len, out, err);
	free(body);
	if (rc != FOTA_OK)
		return rc;
	if (strcmp(out->device, device) != 0)
		rc = fota_error_set(err, FOTA_ERR_FIELD, PFX "names device '%s', this is '%s'",
				    out->device, device);
	else if (out->assignment_seq <= last_seq)
		rc = fota_error_set(err, FOTA_ERR_ROLLBACK,
				    "assignment %" PRIu64 " ignored: not newer than %" PRIu64
				    ", the one applied",
				    out->assignment_seq, last_seq);
	else if (out->expires <= now) {
		fota_time_format(out->expires, t);
		rc = fota_error_set(err, FOTA_ERR_EXPIRED, PFX "expired at %s", t);
	}
	if (rc != FOTA_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
