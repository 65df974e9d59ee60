/* SPDX-License-Identifier: Apache-2.0 */
/* Changing the device registry: the rules `device add|import` and the HTTP API share, and the
 * assignments that tell devices their new groups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/timeutil.h"

#include "assign.h"
#include "broker.h"
#include "device_cert.h"
#include "device_service.h"
#include "dynsec.h"
#include "log.h"

cJSON *orch_device_json(const struct orch_device *d)
{
	char t[FOTA_TIME_STR_LEN];
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "device", d->id);
	cJSON_AddStringToObject(o, "model", d->model);
	cJSON_AddStringToObject(o, "hw", d->hw);
	cJSON_AddStringToObject(o, "version", d->version);
	cJSON_AddStringToObject(o, "groups", d->groups);
	cJSON_AddBoolToObject(o, "online", d->online);
	/* Seconds for programs (the dashboard's silence threshold), the string for people. */
	if (d->last_seen) {
		fota_time_format(d->last_seen, t);
		cJSON_AddNumberToObject(o, "last_seen", (double)d->last_seen);
		cJSON_AddStringToObject(o, "last_seen_time", t);
	} else {
		cJSON_AddNullToObject(o, "last_seen");
		cJSON_AddNullToObject(o, "last_seen_time");
	}
	return o;
}

static int add_device(void *ctx, const struct orch_device *d)
{
	cJSON_AddItemToArray(ctx, orch_device_json(d));
	return 0;
}

fota_err orch_devices_json(struct orch_store *st, const char *group, cJSON **out,
			   struct fota_error *err)
{
	cJSON *arr = cJSON_CreateArray();
	fota_err rc;

	*out = NULL;
	if (!arr)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	rc = st->ops->device_each(st, group, add_device, arr, err);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return FOTA_OK;
}

fota_err orch_device_groups_parse(const char *in, char *out, size_t size, struct fota_error *err)
{
	struct fota_assignment a;
	size_t n = 0;
	const char *p = in;

	out[0] = '\0';
	while (*p) {
		char g[FOTA_MAX_SEGMENT_LEN + 1];
		size_t len = strcspn(p, ";|,");

		if (len > 0) {
			if (len > FOTA_MAX_SEGMENT_LEN)
				return fota_error_set(err, FOTA_ERR_FIELD, "group name too long");
			memcpy(g, p, len);
			g[len] = '\0';
			if (!fota_topic_segment_valid(g))
				return fota_error_set(err, FOTA_ERR_FIELD,
						      "'%s' is not a group name ([A-Za-z0-9._-])",
						      g);
			if (n + len + 2 > size)
				return fota_error_set(err, FOTA_ERR_TOO_BIG, "too many groups");
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? "," : "", g);
		}
		p += len;
		if (*p)
			p++;
	}
	/* The registry never holds more groups than a device can follow. */
	return orch_assign_groups(out, &a, err);
}

fota_err orch_assign_list_add(struct orch_assign_list *l, const char *id, const char *old_groups,
			      struct fota_error *err)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->e, cap * sizeof(*l->e));

		if (p == NULL)
			return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
		l->e = p;
		l->cap = cap;
	}
	snprintf(l->e[l->n].id, sizeof(l->e[0].id), "%s", id);
	snprintf(l->e[l->n].old_groups, sizeof(l->e[0].old_groups), "%s", old_groups);
	l->n++;
	return FOTA_OK;
}

void orch_assign_list_free(struct orch_assign_list *l)
{
	free(l->e);
	memset(l, 0, sizeof(*l));
}

fota_err orch_device_store(struct orch_store *st, struct orch_device *d, bool set_groups,
			   struct orch_assign_list *changed, struct fota_error *err)
{
	struct orch_device old;
	bool known = st->ops->device_get(st, d->id, &old, NULL) == FOTA_OK;
	fota_err rc;

	/* A device entered by hand or imported was not seen: it keeps the presence its own
	 * reports gave it, so registering a connected device does not mark it offline. */
	if (known) {
		d->last_seen = old.last_seen;
		d->online = old.online;
	}
	rc = st->ops->device_put(st, d, set_groups, err);
	if (rc == FOTA_OK && set_groups && changed)
		rc = orch_assign_list_add(changed, d->id, known ? old.groups : "", err);
	return rc;
}

fota_err orch_device_cert_register(struct orch_store *st, const char *id, const char *cert_pem,
				   const char *device_ca, int64_t now, struct fota_error *err)
{
	fota_err rc;

	if (!device_ca || !*device_ca)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "no CA to check the certificate against (set [orchestrator] "
				      "device_ca or [broker] ca)");
	rc = orch_device_cert_check(cert_pem, device_ca, id, now, err);
	if (rc == FOTA_ERR_FIELD && err)
		fota_error_prefix(err, "certificate refused");
	if (rc == FOTA_OK)
		rc = st->ops->device_cert_put(st, id, cert_pem, err);
	return rc;
}

fota_err orch_device_add(struct orch_store *st, struct orch_device *d, const char *groups,
			 const char *cert_pem, const char *device_ca,
			 struct orch_assign_list *changed, struct fota_error *err)
{
	fota_err rc;

	if (!fota_topic_segment_valid(d->id))
		return fota_error_set(err, FOTA_ERR_FIELD, "'%s' is not a device id", d->id);
	rc = orch_device_groups_parse(groups ? groups : "", d->groups, sizeof(d->groups), err);
	if (rc == FOTA_OK)
		rc = st->ops->begin(st, err);
	if (rc)
		return rc;
	rc = orch_device_store(st, d, groups != NULL, changed, err);
	if (rc == FOTA_OK && cert_pem)
		rc =
		    orch_device_cert_register(st, d->id, cert_pem, device_ca, fota_time_now(), err);
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, err);
	if (rc)
		st->ops->rollback(st);
	return rc;
}

fota_err orch_device_set_groups(struct orch_store *st, const char *id, const char *groups,
				const char *actor, struct orch_device *out,
				struct orch_assign_list *changed, struct fota_error *err)
{
	char parsed[sizeof(out->groups)], was[sizeof(out->groups)];
	struct orch_event e;
	size_t before = changed ? changed->n : 0;
	fota_err rc;

	rc = orch_device_groups_parse(groups, parsed, sizeof(parsed), err);
	if (rc == FOTA_OK)
		rc = st->ops->begin(st, err);
	if (rc)
		return rc;
	rc = st->ops->device_get(st, id, out, err);
	if (rc == FOTA_ERR_NOT_FOUND)
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device %s", id);
	memset(&e, 0, sizeof(e));
	if (rc == FOTA_OK) {
		snprintf(e.device, sizeof(e.device), "%s", out->id);
		snprintf(e.kind, sizeof(e.kind), "groups");
		snprintf(was, sizeof(was), "%s", out->groups);
		memcpy(out->groups, parsed, sizeof(parsed));
		rc = orch_device_store(st, out, true, changed, err);
	}
	/* As stored: the registry keeps a device's groups in its own order. */
	if (rc == FOTA_OK)
		rc = st->ops->device_get(st, id, out, err);
	/* A long list is cut in the event, marked so: the registry holds it whole. */
	if (rc == FOTA_OK &&
	    snprintf(e.detail, sizeof(e.detail), "%s -> %s by %s", was[0] ? was : "(none)",
		     out->groups[0] ? out->groups : "(none)",
		     actor && *actor ? actor : "command") >= (int)sizeof(e.detail))
		memcpy(e.detail + sizeof(e.detail) - 4, "...", 4);
	if (rc == FOTA_OK)
		rc = st->ops->event_append(st, &e, err);
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, err);
	if (rc) {
		st->ops->rollback(st);
		if (changed)
			changed->n = before;
	}
	return rc;
}

/* One device of a batch: as read from the registry, what the broker's grants take it out
 * of, and the assignment sent. */
struct batch_dev {
	struct orch_device d;
	char left[2 * ORCH_GROUPS_LEN + 1];
	struct fota_assignment a;
};

/* Names the device of a failure. */
static fota_err on_device(fota_err rc, const char *device, struct fota_error *err)
{
	char where[FOTA_MAX_SEGMENT_LEN + 16];

	if (rc == FOTA_OK)
		return rc;
	snprintf(where, sizeof(where), "device %s", device);
	fota_error_prefix(err, where);
	return rc;
}

/*
 * orch_assign_device for n (at most ORCH_DYNSEC_BATCH) devices, with as few round trips and
 * syncs as the promises allow: the broker's grants in one command list, the assignment
 * sequences in one transaction committed durably before any is signed, the assignments
 * published together and, once the broker acknowledged them all, recorded in one transaction.
 */
static fota_err publish_batch(const struct orch_config *cfg, struct orch_store *st,
			      struct fota_signer *signer, struct fota_mqtt *mqtt,
			      struct orch_routes *routes, const struct orch_assign_entry *e,
			      size_t n, bool progress, struct fota_error *err)
{
	struct batch_dev *b = calloc(n, sizeof(*b));
	struct orch_dynsec_grant g[ORCH_DYNSEC_BATCH];
	fota_err rc = b ? FOTA_OK : fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	size_t k;

	for (k = 0; rc == FOTA_OK && k < n; k++) {
		rc = on_device(st->ops->device_get(st, e[k].id, &b[k].d, err), e[k].id, err);
		/* Checked before a sequence is spent on it. */
		if (rc == FOTA_OK)
			rc = on_device(orch_assign_groups(b[k].d.groups, &b[k].a, err), e[k].id,
				       err);
		snprintf(b[k].left, sizeof(b[k].left), "%s%s%s", b[k].d.assigned,
			 b[k].d.assigned[0] && e[k].old_groups[0] ? "," : "", e[k].old_groups);
		g[k] = (struct orch_dynsec_grant){
		    .device = b[k].d.id, .old_groups = b[k].left, .new_groups = b[k].d.groups};
	}
	if (rc == FOTA_OK && cfg->dynsec)
		rc = orch_dynsec_devices(mqtt, routes, cfg, g, n, err);
	if (rc == FOTA_OK && (rc = st->ops->begin(st, err)) == FOTA_OK) {
		for (k = 0; rc == FOTA_OK && k < n; k++)
			rc = on_device(orch_assign_seq(st, b[k].d.id, &b[k].a.assignment_seq, err),
				       b[k].d.id, err);
		if (rc == FOTA_OK)
			rc = st->ops->commit_durable(st, err);
		if (rc)
			st->ops->rollback(st);
	}
	for (k = 0; rc == FOTA_OK && k < n; k++) {
		rc = orch_assign_send(mqtt, cfg, signer, b[k].d.id, b[k].d.groups,
				      b[k].a.assignment_seq, &b[k].a, err);
		if (rc) {
			fota_error_prefix(err, "assignment");
			on_device(rc, b[k].d.id, err);
		}
	}
	if (rc == FOTA_OK &&
	    (rc = fota_mqtt_flush(mqtt, ORCH_PUBLISH_TIMEOUT_MS, err)) != FOTA_OK) {
		fota_error_prefix(err, "assignment");
		rc = err->code = FOTA_ERR_MQTT;
	}
	/* Recorded once the broker has them: what campaigns and renewals go by. */
	if (rc == FOTA_OK && (rc = st->ops->begin(st, err)) == FOTA_OK) {
		for (k = 0; rc == FOTA_OK && k < n; k++)
			rc = on_device(st->ops->device_assignment_put(
					   st, b[k].d.id, b[k].d.groups, b[k].a.assignment_seq,
					   b[k].a.created, b[k].a.expires, err),
				       b[k].d.id, err);
		if (rc == FOTA_OK)
			rc = st->ops->commit(st, err);
		if (rc)
			st->ops->rollback(st);
	}
	for (k = 0; rc == FOTA_OK && progress && k < n; k++)
		fprintf(stderr, "assignment %llu for %s: groups %s\n",
			(unsigned long long)b[k].a.assignment_seq, b[k].d.id,
			b[k].d.groups[0] ? b[k].d.groups : "(none)");
	free(b);
	return rc;
}

fota_err orch_device_assignments_publish(const struct orch_config *cfg, struct orch_store *st,
					 const struct orch_assign_list *l,
					 const char *client_id_suffix, bool progress,
					 bool *published, struct fota_error *err)
{
	struct fota_signer *signer = NULL;
	struct fota_mqtt *mqtt = NULL;
	struct orch_config *own = NULL;
	struct orch_routes routes;
	fota_err rc;

	*published = false;
	if (l->n == 0 || !cfg->orch_key[0])
		return FOTA_OK;
	own = malloc(sizeof(*own));
	if (!own)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	*own = *cfg;
	/* In `serve` the daemon's own session has the process's id: a second connection with
	 * it would push the daemon off the broker. */
	snprintf(own->client_id, sizeof(own->client_id), "%.*s%s",
		 (int)(sizeof(own->client_id) - 1 - strlen(client_id_suffix)), cfg->client_id,
		 client_id_suffix);
	orch_routes_init(&routes, own->prefix);
	rc = fota_signer_load(own->orch_key, NULL, &signer, err);
	if (rc) {
		fota_error_prefix(err, "load orchestrator key");
		goto out;
	}
	rc = orch_broker_check_files(own, err);
	if (rc) {
		fota_error_prefix(err, "configuration");
		goto out;
	}
	rc = orch_broker_connect(own, &routes, &mqtt, err);
	if (rc) {
		fota_error_prefix(err, "connect to broker");
		if (rc != FOTA_ERR_FIELD)
			rc = err->code = FOTA_ERR_MQTT;
		goto out;
	}
	for (size_t i = 0; i < l->n; i += ORCH_DYNSEC_BATCH) {
		size_t n = l->n - i < ORCH_DYNSEC_BATCH ? l->n - i : ORCH_DYNSEC_BATCH;

		rc = publish_batch(own, st, signer, mqtt, &routes, l->e + i, n, progress, err);
		if (rc) {
			if (!fota_mqtt_is_connected(mqtt))
				rc = err->code = FOTA_ERR_MQTT;
			goto out;
		}
	}
	*published = true;
out:
	fota_mqtt_free(mqtt);
	orch_routes_destroy(&routes);
	fota_signer_free(signer);
	free(own);
	return rc;
}
