/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing the HTTP API's JSON request bodies; every refusal names the member at fault. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/json_text.h"

#include "api_body.h"
#include "campaign.h"

/* why may be err->msg itself: it is copied first. */
static fota_err refuse(char field[ORCH_API_FIELD_MAX], const char *name, struct fota_error *err,
		       const char *why)
{
	char copy[FOTA_ERROR_MSG_MAX];

	snprintf(copy, sizeof(copy), "%s", why);
	snprintf(field, ORCH_API_FIELD_MAX, "%s", name);
	return fota_error_set(err, FOTA_ERR_FIELD, "%s: %.200s", name, copy);
}

/* A string member of at most max bytes into out; absent is "" unless required. */
static fota_err string_member(const cJSON *o, const char *name, bool required, char *out,
			      size_t max, char field[ORCH_API_FIELD_MAX], struct fota_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	out[0] = '\0';
	if (!v)
		return required ? refuse(field, name, err, "required") : FOTA_OK;
	if (!cJSON_IsString(v) || !v->valuestring)
		return refuse(field, name, err, "must be a string");
	if (!v->valuestring[0] || strlen(v->valuestring) > max)
		return refuse(field, name, err, "empty or too long");
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return FOTA_OK;
}

/* A misspelt member must not be ignored: "fail_treshold" would run without a limit. */
static fota_err only_members(const cJSON *o, const char *const *names, size_t n,
			     char field[ORCH_API_FIELD_MAX], struct fota_error *err)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, o)
	{
		size_t k;

		for (k = 0; k < n; k++)
			if (m->string && strcmp(m->string, names[k]) == 0)
				break;
		if (k == n) {
			/* An empty name is named as "" so the refusal still points at it. */
			const char *name = m->string && m->string[0] ? m->string : "\"\"";

			snprintf(field, ORCH_API_FIELD_MAX, "%s", name);
			return fota_error_set(err, FOTA_ERR_FIELD, "%.64s: unknown member", name);
		}
	}
	return FOTA_OK;
}

/* The strict reader: cJSON alone would cut a member's name or value short at a NUL byte or a
 * \u0000 escape ("a\u0000b" read as "a"), and keep the last of duplicate members. */
static fota_err parse_object(const char *body, size_t len, cJSON **o, struct fota_error *err)
{
	fota_err rc = fota_json_parse_object(body, len, len, o, err); /* HTTP bounds the length */

	/* Nested too deep: a malformed body like any other. */
	return rc == FOTA_ERR_TOO_BIG ? FOTA_ERR_PARSE : rc;
}

static const char *const campaign_members[] = {"id",	 "image",	   "group",
					       "stages", "fail_threshold", "force"};

fota_err orch_api_campaign_body(const char *body, size_t len, struct orch_campaign *c,
				char id[FOTA_MAX_NAME_LEN + 1], bool *force,
				char field[ORCH_API_FIELD_MAX], struct fota_error *err)
{
	char threshold[32];
	const cJSON *stages, *f;
	cJSON *o = NULL;
	fota_err rc;
	int i, n;

	field[0] = '\0';
	*force = false;
	rc = parse_object(body, len, &o, err);
	if (rc == FOTA_OK)
		rc = only_members(o, campaign_members,
				  sizeof(campaign_members) / sizeof(campaign_members[0]), field,
				  err);
	if (rc)
		goto out;
	rc = string_member(o, "id", true, id, FOTA_MAX_NAME_LEN, field, err);
	if (rc == FOTA_OK)
		rc = string_member(o, "image", true, c->image_id, sizeof(c->image_id) - 1, field,
				   err);
	if (rc == FOTA_OK)
		rc = string_member(o, "group", true, c->group, sizeof(c->group) - 1, field, err);
	if (rc == FOTA_OK)
		rc = string_member(o, "fail_threshold", false, threshold, sizeof(threshold) - 1,
				   field, err);
	if (rc)
		goto out;
	if (threshold[0] && orch_fail_threshold_parse(threshold, c, err)) {
		rc = refuse(field, "fail_threshold", err, err->msg);
		goto out;
	}
	f = cJSON_GetObjectItemCaseSensitive(o, "force");
	if (f && !cJSON_IsBool(f)) {
		rc = refuse(field, "force", err, "must be true or false");
		goto out;
	}
	*force = f && cJSON_IsTrue(f);
	stages = cJSON_GetObjectItemCaseSensitive(o, "stages");
	if (!stages || !cJSON_IsArray(stages)) {
		rc = refuse(field, "stages", err, "required, an array of stage strings");
		goto out;
	}
	n = cJSON_GetArraySize(stages);
	if (n < 1 || n > ORCH_MAX_STAGES) {
		char why[64];

		snprintf(why, sizeof(why), "1 to %d stages", ORCH_MAX_STAGES);
		rc = refuse(field, "stages", err, why);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const cJSON *s = cJSON_GetArrayItem(stages, i);

		if (!cJSON_IsString(s) || !s->valuestring) {
			rc = refuse(field, "stages", err, "every stage is a string");
			goto out;
		}
		rc = orch_stage_parse(s->valuestring, &c->stages[c->n_stages], err);
		if (rc) {
			char why[FOTA_ERROR_MSG_MAX];

			snprintf(why, sizeof(why), "stage %d: %.200s", i + 1, err->msg);
			rc = refuse(field, "stages", err, why);
			goto out;
		}
		c->n_stages++;
	}
out:
	cJSON_Delete(o);
	return rc;
}

static const char *const groups_members[] = {"groups"};

fota_err orch_api_groups_body(const char *body, size_t len, char *groups, size_t size,
			      char field[ORCH_API_FIELD_MAX], struct fota_error *err)
{
	const cJSON *arr, *g;
	cJSON *o = NULL;
	size_t n = 0;
	fota_err rc;

	field[0] = '\0';
	groups[0] = '\0';
	rc = parse_object(body, len, &o, err);
	if (rc == FOTA_OK)
		rc = only_members(o, groups_members, 1, field, err);
	if (rc)
		goto out;
	arr = cJSON_GetObjectItemCaseSensitive(o, "groups");
	if (!arr || !cJSON_IsArray(arr)) {
		rc = refuse(field, "groups", err, "required, an array of group names");
		goto out;
	}
	cJSON_ArrayForEach(g, arr)
	{
		size_t glen;

		/* One name per element: the separators of the CLI's list would make two. */
		if (!cJSON_IsString(g) || !g->valuestring || !g->valuestring[0] ||
		    strpbrk(g->valuestring, ",;|")) {
			rc = refuse(field, "groups", err, "every group is one non-empty name");
			goto out;
		}
		glen = strlen(g->valuestring);
		if (n + glen + 2 > size) {
			rc = refuse(field, "groups", err, "too many groups");
			goto out;
		}
		n += (size_t)snprintf(groups + n, size - n, "%s%s", n ? "," : "", g->valuestring);
	}
out:
	cJSON_Delete(o);
	return rc;
}

static const char *const retry_members[] = {"device"};

fota_err orch_api_retry_body(const char *body, size_t len, char device[FOTA_MAX_SEGMENT_LEN + 1],
			     char field[ORCH_API_FIELD_MAX], struct fota_error *err)
{
	cJSON *o = NULL;
	fota_err rc;

	field[0] = '\0';
	device[0] = '\0';
	if (len == 0)
		return FOTA_OK; /* no body: every failed device */
	rc = parse_object(body, len, &o, err);
	if (rc == FOTA_OK)
		rc = only_members(o, retry_members, 1, field, err);
	if (rc == FOTA_OK)
		rc = string_member(o, "device", false, device, FOTA_MAX_SEGMENT_LEN, field, err);
	cJSON_Delete(o);
	return rc;
}
