/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP API under /api/v1: campaigns and devices as JSON, each route allowed from a role
 * up, every change through the same service functions as the CLI, recorded with the
 * operator's certificate name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/status.h"
#include "fota/timeutil.h"

#include "api.h"
#include "api_body.h"
#include "assigner.h"
#include "campaign.h"
#include "campaign_json.h"
#include "device_service.h"
#include "image_service.h"

#define JSON_TYPE "application/json"

static const char *const role_names[] = {"", "viewer", "operator", "release-manager"};

enum orch_role orch_role_from_ou(const char *ou)
{
	for (int r = ORCH_ROLE_VIEWER; r <= ORCH_ROLE_RELEASE_MANAGER; r++)
		if (strcmp(ou, role_names[r]) == 0)
			return (enum orch_role)r;
	return ORCH_ROLE_NONE;
}

const char *orch_role_name(enum orch_role r)
{
	return (unsigned)r <= ORCH_ROLE_RELEASE_MANAGER ? role_names[r] : "";
}

/* o as the response body (consumed). */
static void reply_json(struct orch_http_response *res, unsigned status, cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	if (!text) {
		orch_http_reply(res, 500, JSON_TYPE, "{\"error\":\"out of memory\"}\n");
		return;
	}
	orch_http_reply(res, status, JSON_TYPE, text);
	free(text);
}

static void reply_error(struct orch_http_response *res, unsigned status, const char *field,
			const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", msg);
	if (field && *field)
		cJSON_AddStringToObject(o, "field", field);
	reply_json(res, status, o);
}

static unsigned status_for(fota_err code)
{
	switch (code) {
	case FOTA_ERR_NOT_FOUND:
		return 404;
	case FOTA_ERR_STATE:
		return 409;
	case FOTA_ERR_FIELD:
	case FOTA_ERR_PARSE:
	case FOTA_ERR_INVAL:
	case FOTA_ERR_TOO_BIG:
	case FOTA_ERR_INCOMPATIBLE:
		return 400;
	default:
		return 500;
	}
}

static int add_name(void *ctx, const char *name)
{
	cJSON_AddItemToArray(ctx, cJSON_CreateString(name));
	return 0;
}

static void list_campaigns(struct orch_store *st, struct orch_http_response *res)
{
	struct fota_error err = {0};
	cJSON *names = cJSON_CreateArray(), *arr = cJSON_CreateArray(), *n;

	if (st->ops->campaign_each(st, false, add_name, names, &err)) {
		cJSON_Delete(names);
		cJSON_Delete(arr);
		reply_error(res, 500, NULL, err.msg);
		return;
	}
	cJSON_ArrayForEach(n, names)
	{
		struct orch_campaign c;
		cJSON *o;

		memset(&c, 0, sizeof(c));
		if (st->ops->campaign_get(st, n->valuestring, &c, &err))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "campaign", c.id);
		cJSON_AddStringToObject(o, "state", orch_cstate_name(c.state));
		cJSON_AddStringToObject(o, "image", c.image_id);
		cJSON_AddStringToObject(o, "group", c.group);
		cJSON_AddNumberToObject(o, "stage", c.stage + 1);
		cJSON_AddNumberToObject(o, "stages_total", c.n_stages);
		cJSON_AddItemToArray(arr, o);
		orch_campaign_clear(&c);
	}
	cJSON_Delete(names);
	reply_json(res, 200, arr);
}

struct tally {
	const struct orch_campaign *c;
	struct orch_counts all;
	struct orch_counts stage[ORCH_MAX_STAGES];
};

/* The same tally as `campaign status`. */
static int tally_one(void *ctx, const struct orch_cdev *d)
{
	struct tally *t = ctx;

	orch_counts_add(&t->all, t->c, d);
	orch_counts_add(&t->stage[d->stage < ORCH_MAX_STAGES ? d->stage : ORCH_MAX_STAGES - 1],
			t->c, d);
	return 0;
}

static void show_campaign(struct orch_store *st, const struct orch_config *cfg, const char *id,
			  struct orch_http_response *res)
{
	struct orch_payload_choice pay;
	char pay_last[ORCH_MAX_EVENT_DETAIL];
	struct fota_error err = {0};
	struct orch_campaign c;
	struct tally *t = calloc(1, sizeof(*t));
	cJSON *o, *stages;
	fota_err rc;

	memset(&c, 0, sizeof(c));
	if (!t) {
		reply_error(res, 500, NULL, "out of memory");
		return;
	}
	rc = st->ops->campaign_get(st, id, &c, &err);
	if (rc == FOTA_OK) {
		t->c = &c;
		rc = st->ops->cdev_each(st, c.id, tally_one, t, &err);
	}
	if (rc == FOTA_OK)
		rc = orch_payload_choose(cfg, st, &c, &pay, &err);
	if (rc == FOTA_OK)
		rc = orch_payload_last(st, c.id, pay_last, sizeof(pay_last), &err);
	if (rc) {
		reply_error(res, status_for(rc), NULL, err.msg);
		goto out;
	}
	o = orch_campaign_head_json(&c);
	cJSON_AddItemToObject(o, "counts", orch_counts_json(&t->all));
	cJSON_AddItemToObject(o, "payload", orch_payload_json(&pay, pay_last));
	stages = cJSON_AddArrayToObject(o, "stages");
	for (uint32_t i = 0; i < c.n_stages && i < ORCH_MAX_STAGES; i++) {
		cJSON *s = orch_counts_json(&t->stage[i]);

		cJSON_AddNumberToObject(s, "index", i + 1);
		cJSON_AddItemToArray(stages, s);
	}
	reply_json(res, 200, o);
out:
	orch_campaign_clear(&c);
	free(t);
}

static int event_one(void *ctx, const struct orch_event *e)
{
	cJSON *o = cJSON_CreateObject();
	char t[FOTA_TIME_STR_LEN];

	fota_time_format(e->ts, t);
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddStringToObject(o, "ts", t);
	cJSON_AddStringToObject(o, "campaign", e->campaign);
	cJSON_AddStringToObject(o, "device", e->device);
	cJSON_AddStringToObject(o, "kind", e->kind);
	cJSON_AddStringToObject(o, "result", e->result);
	cJSON_AddStringToObject(o, "detail", e->detail);
	cJSON_AddItemToArray(ctx, o);
	return 0;
}

static void campaign_events(struct orch_store *st, const char *id, struct orch_http_response *res)
{
	struct fota_error err = {0};
	struct orch_campaign c;
	cJSON *arr;
	fota_err rc;

	memset(&c, 0, sizeof(c));
	rc = st->ops->campaign_get(st, id, &c, &err);
	orch_campaign_clear(&c);
	if (rc) {
		reply_error(res, status_for(rc), NULL, err.msg);
		return;
	}
	arr = cJSON_CreateArray();
	rc = st->ops->event_each(st, id, NULL, event_one, arr, &err);
	if (rc) {
		cJSON_Delete(arr);
		reply_error(res, status_for(rc), NULL, err.msg);
		return;
	}
	reply_json(res, 200, arr);
}

/* Every event about one device, of any campaign or none (its group changes). */
static void device_events(struct orch_store *st, const char *id, struct orch_http_response *res)
{
	struct fota_error err = {0};
	struct orch_device d;
	cJSON *arr;
	fota_err rc = st->ops->device_get(st, id, &d, &err);

	if (rc) {
		reply_error(res, status_for(rc), NULL,
			    rc == FOTA_ERR_NOT_FOUND ? "no such device" : err.msg);
		return;
	}
	arr = cJSON_CreateArray();
	rc = st->ops->event_each(st, NULL, id, event_one, arr, &err);
	if (rc) {
		cJSON_Delete(arr);
		reply_error(res, status_for(rc), NULL, err.msg);
		return;
	}
	reply_json(res, 200, arr);
}

static void steer_campaign(struct orch_store *st, const char *id, const char *verb,
			   const char *actor, struct orch_http_response *res)
{
	struct fota_error err = {0};
	enum orch_cstate from, to;
	fota_err rc =
	    orch_campaign_command_by(st, id, verb, actor, fota_time_now(), &from, &to, &err);
	cJSON *o;

	if (rc) {
		reply_error(res, status_for(rc), NULL, err.msg);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "campaign", id);
	cJSON_AddStringToObject(o, "from", orch_cstate_name(from));
	cJSON_AddStringToObject(o, "state", orch_cstate_name(to));
	reply_json(res, 200, o);
}

static void create_campaign(struct orch_store *st, const struct orch_config *cfg,
			    const struct orch_http_request *req, const char *actor,
			    struct orch_http_response *res)
{
	char id[FOTA_MAX_NAME_LEN + 1] = "", field[ORCH_API_FIELD_MAX] = "";
	struct orch_campaign_created out;
	struct fota_error err = {0};
	struct orch_campaign c;
	bool force = false;
	fota_err rc;
	cJSON *o;

	memset(&c, 0, sizeof(c));
	rc = orch_api_campaign_body(req->body, req->body_len, &c, id, &force, field, &err);
	if (rc) {
		reply_error(res, 400, field, err.msg);
		goto out;
	}
	rc = orch_campaign_create(cfg, st, &c, id, force, actor, &out, &err);
	if (rc) {
		/* Which member the rule was about, where the service says. */
		snprintf(field, sizeof(field), "%s", out.field);
		reply_error(res, status_for(rc), field, err.msg);
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "campaign", c.id);
	cJSON_AddStringToObject(o, "state", "draft");
	if (out.forced)
		cJSON_AddStringToObject(o, "forced", out.preflight);
	reply_json(res, 201, o);
out:
	orch_campaign_clear(&c);
}

static void list_devices(struct orch_store *st, struct orch_http_response *res)
{
	struct fota_error err = {0};
	cJSON *arr = NULL;

	if (orch_devices_json(st, NULL, &arr, &err)) {
		reply_error(res, 500, NULL, err.msg);
		return;
	}
	reply_json(res, 200, arr);
}

static void show_device(struct orch_store *st, const char *id, struct orch_http_response *res)
{
	struct fota_error err = {0};
	struct orch_device d;
	fota_err rc = st->ops->device_get(st, id, &d, &err);

	if (rc == FOTA_ERR_NOT_FOUND)
		reply_error(res, 404, NULL, "no such device");
	else if (rc)
		reply_error(res, status_for(rc), NULL, err.msg);
	else
		reply_json(res, 200, orch_device_json(&d));
}

/* The registry changes in one transaction with its event; then, as `device add` does, the
 * device is sent its signed assignment, over the daemon's own broker session (a of
 * orch_daemon_assigner; NULL: not connected yet). Without a session the answer comes at once:
 * this thread also answers /healthz. */
static void set_groups(struct orch_store *st, struct orch_assigner *a, const char *id,
		       const struct orch_http_request *req, const char *actor,
		       struct orch_http_response *res)
{
	char groups[sizeof(((struct orch_device *)0)->groups)], field[ORCH_API_FIELD_MAX] = "";
	struct orch_assign_list changed = {0};
	struct fota_error err = {0};
	struct orch_device d;
	bool published = false;
	fota_err rc;
	cJSON *o;

	rc = orch_api_groups_body(req->body, req->body_len, groups, sizeof(groups), field, &err);
	if (rc) {
		reply_error(res, 400, field, err.msg);
		return;
	}
	rc = orch_device_set_groups(st, id, groups, actor, &d, &changed, &err);
	if (rc) {
		/* The rule of names and their number is about the body's groups. */
		reply_error(res, status_for(rc),
			    rc == FOTA_ERR_FIELD || rc == FOTA_ERR_TOO_BIG ? "groups" : NULL,
			    err.msg);
		goto out;
	}
	if (a == NULL)
		rc = fota_error_set(&err, FOTA_ERR_MQTT, "not connected to the broker yet");
	for (size_t i = 0; rc == FOTA_OK && i < changed.n && orch_assigner_can_sign(a); i++) {
		rc = orch_assigner_send(a, st, changed.e[i].id, changed.e[i].old_groups, NULL, NULL,
					&err);
		published = rc == FOTA_OK;
	}
	if (rc) {
		char msg[FOTA_ERROR_MSG_MAX + 96];

		snprintf(msg, sizeof(msg),
			 "the registry changed, but no assignment was published: %s (send it "
			 "again)",
			 err.msg);
		reply_error(res, 502, NULL, msg);
		goto out;
	}
	o = orch_device_json(&d);
	cJSON_AddBoolToObject(o, "assignment_published", published);
	reply_json(res, 200, o);
out:
	orch_assign_list_free(&changed);
}

static void list_images(const struct orch_config *cfg, struct orch_http_response *res)
{
	struct fota_error err = {0};
	unsigned damaged = 0;
	cJSON *arr = NULL;

	if (orch_images_json(cfg, &arr, &damaged, &err))
		reply_error(res, 500, NULL, err.msg);
	else
		reply_json(res, 200, arr);
}

static void show_image(const struct orch_config *cfg, const char *id,
		       struct orch_http_response *res)
{
	struct fota_error err = {0};
	cJSON *o = NULL;
	fota_err rc = orch_image_show_json(cfg, id, &o, &err);

	if (rc)
		reply_error(res, status_for(rc), rc == FOTA_ERR_INVAL ? "id" : NULL, err.msg);
	else
		reply_json(res, 200, o);
}

static void retry_campaign(struct orch_store *st, const char *id,
			   const struct orch_http_request *req, const char *actor,
			   struct orch_http_response *res)
{
	char device[FOTA_MAX_SEGMENT_LEN + 1], field[ORCH_API_FIELD_MAX] = "";
	struct fota_error err = {0};
	uint32_t n = 0;
	fota_err rc;
	cJSON *o;

	rc = orch_api_retry_body(req->body, req->body_len, device, field, &err);
	if (rc) {
		reply_error(res, 400, field, err.msg);
		return;
	}
	rc = orch_campaign_retry_by(st, id, device[0] ? device : NULL, actor, fota_time_now(), &n,
				    &err);
	if (rc) {
		/* The device, where the rule was about it (orch_campaign_retry_by's refusals of a
		 * device start "device "); else the campaign, which the path names. */
		reply_error(res, status_for(rc),
			    device[0] && strncmp(err.msg, "device ", 7) == 0 ? "device" : NULL,
			    err.msg);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "campaign", id);
	cJSON_AddNumberToObject(o, "retried", n);
	reply_json(res, 200, o);
}

/* The path's segment after prefix ("devices/") into id, and what follows it ("" or "/..."),
 * or NULL when the segment is empty or too long. */
static const char *path_id(const char *rest, char *id, size_t size)
{
	const char *slash = strchr(rest, '/');
	size_t len = slash ? (size_t)(slash - rest) : strlen(rest);

	if (len == 0 || len >= size)
		return NULL;
	memcpy(id, rest, len);
	id[len] = '\0';
	return rest + len;
}

/* Whether role may do it; else a 403 naming the role needed. */
static bool allowed(enum orch_role have, enum orch_role need, struct orch_http_response *res)
{
	char msg[96];

	if (have >= need)
		return true;
	snprintf(msg, sizeof(msg), "role %s may not do this; it needs %s", orch_role_name(have),
		 orch_role_name(need));
	reply_error(res, 403, NULL, msg);
	return false;
}

void orch_api_handle(struct orch_store *st, const struct orch_config *cfg,
		     struct orch_assigner *assigner, const struct orch_http_request *req,
		     struct orch_http_response *res)
{
	const char *rest = req->path + strlen(ORCH_API_PREFIX);
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
	enum orch_role role = orch_role_from_ou(req->client_ou);
	char id[FOTA_MAX_NAME_LEN + 1], verb[16], actor[2 * 128 + 32];
	const char *slash;
	size_t len;

	/* Whoever can reach a loopback listener is on this host already: it may look, as a
	 * viewer, and change nothing. Elsewhere the listener has checked a certificate. */
	if (req->local) {
		role = ORCH_ROLE_VIEWER;
	} else if (!req->client_cn[0] && !req->client_ou[0]) {
		reply_error(res, 401, NULL, "the API needs a client certificate");
		return;
	}
	if (role == ORCH_ROLE_NONE) {
		reply_error(res, 403, NULL,
			    "the client certificate's OU names no role (viewer, operator, "
			    "release-manager)");
		return;
	}
	/* Only a certificate's holder can change anything, so a change always has a name. */
	snprintf(actor, sizeof(actor), "%s (%s)", req->client_cn, orch_role_name(role));
	if (strcmp(rest, "devices") == 0 || strcmp(rest, "images") == 0) {
		if (!get)
			reply_error(res, 405, NULL, "only GET");
		else if (rest[0] == 'd')
			list_devices(st, res);
		else
			list_images(cfg, res);
		return;
	}
	if (strncmp(rest, "images/", 7) == 0) {
		const char *tail = path_id(rest + 7, id, sizeof(id));

		if (!tail || *tail)
			reply_error(res, 404, NULL, "no such image");
		else if (!get)
			reply_error(res, 405, NULL, "only GET");
		else
			show_image(cfg, id, res);
		return;
	}
	if (strncmp(rest, "devices/", 8) == 0) {
		bool put = strcmp(req->method, "PUT") == 0;
		const char *tail = path_id(rest + 8, id, sizeof(id));

		if (!tail)
			reply_error(res, 404, NULL, "no such device");
		else if (!*tail && !get)
			reply_error(res, 405, NULL, "only GET");
		else if (!*tail)
			show_device(st, id, res);
		else if (strcmp(tail, "/events") == 0 && get)
			device_events(st, id, res);
		else if (strcmp(tail, "/events") == 0)
			reply_error(res, 405, NULL, "only GET");
		else if (strcmp(tail, "/groups") != 0)
			reply_error(res, 404, NULL, "no such resource");
		else if (!put)
			reply_error(res, 405, NULL, "only PUT");
		else if (allowed(role, ORCH_ROLE_RELEASE_MANAGER, res))
			set_groups(st, assigner, id, req, actor, res);
		return;
	}
	if (strcmp(rest, "campaigns") == 0) {
		if (get)
			list_campaigns(st, res);
		else if (!post)
			reply_error(res, 405, NULL, "only GET and POST");
		else if (allowed(role, ORCH_ROLE_RELEASE_MANAGER, res))
			create_campaign(st, cfg, req, actor, res);
		return;
	}
	if (strncmp(rest, "campaigns/", 10) != 0) {
		reply_error(res, 404, NULL, "no such resource");
		return;
	}
	rest += 10;
	slash = strchr(rest, '/');
	len = slash ? (size_t)(slash - rest) : strlen(rest);
	if (len == 0 || len > FOTA_MAX_NAME_LEN) {
		reply_error(res, 404, NULL, "no such campaign");
		return;
	}
	memcpy(id, rest, len);
	id[len] = '\0';
	if (!slash) {
		if (!get)
			reply_error(res, 405, NULL, "only GET");
		else
			show_campaign(st, cfg, id, res);
		return;
	}
	snprintf(verb, sizeof(verb), "%.15s", slash + 1);
	if (strcmp(slash + 1, "events") == 0) {
		if (!get)
			reply_error(res, 405, NULL, "only GET");
		else
			campaign_events(st, id, res);
		return;
	}
	if (strcmp(verb, "start") != 0 && strcmp(verb, "pause") != 0 &&
	    strcmp(verb, "resume") != 0 && strcmp(verb, "abort") != 0 &&
	    strcmp(slash + 1, "retry") != 0) {
		reply_error(res, 404, NULL, "no such resource");
		return;
	}
	if (!post)
		reply_error(res, 405, NULL, "only POST");
	else if (!allowed(role, ORCH_ROLE_OPERATOR, res))
		return;
	else if (strcmp(verb, "retry") == 0)
		retry_campaign(st, id, req, actor, res);
	else
		steer_campaign(st, id, verb, actor, res);
}
