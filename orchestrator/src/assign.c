/* SPDX-License-Identifier: Apache-2.0 */
/* Group assignments: the registry is the truth about a device's groups; the device follows the
 * signed copy retained on its own topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/envelope.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#include "assign.h"
#include "broker.h"
#include "dynsec.h"
#include "publisher.h"
#include "store.h"
#include "store_rows.h"

/* Every group of a is in b. */
static bool all_in(const char *a, const char *b)
{
	for (const char *p = a; p && *p;) {
		size_t n = strcspn(p, ",");

		if (n > 0 && !orch_list_has(b, p, n))
			return false;
		p += n;
		if (*p)
			p++;
	}
	return true;
}

bool orch_assign_same_groups(const char *a, const char *b)
{
	return all_in(a, b) && all_in(b, a);
}

bool orch_assign_needed(const struct orch_device *d, int64_t now)
{
	if (orch_assign_same_groups(d->groups, d->reported))
		return false;
	if (!d->assignment_seq || !orch_assign_same_groups(d->groups, d->assigned))
		return true;
	return d->last_seen > d->assignment_published &&
	       now - d->assignment_published >= ORCH_ASSIGNMENT_RETRY_S;
}

bool orch_assign_due(const struct orch_device *d, int64_t now)
{
	return d->assignment_seq &&
	       d->assignment_expires - now <= (int64_t)ORCH_ASSIGNMENT_RENEW_DAYS * 86400;
}

fota_err orch_assign_groups(const char *groups_csv, struct fota_assignment *a,
			    struct fota_error *err)
{
	const char *p = groups_csv ? groups_csv : "";

	a->n_groups = 0;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len > 0) {
			if (a->n_groups == FOTA_MAX_ASSIGNED_GROUPS)
				return fota_error_set(err, FOTA_ERR_TOO_BIG,
						      "groups '%s': a device follows at most %d "
						      "groups",
						      groups_csv, FOTA_MAX_ASSIGNED_GROUPS);
			if (len > FOTA_MAX_SEGMENT_LEN)
				return fota_error_set(err, FOTA_ERR_FIELD, "group name too long");
			memcpy(a->groups[a->n_groups], p, len);
			a->groups[a->n_groups][len] = '\0';
			a->n_groups++;
		}
		p += len;
		if (*p)
			p++;
	}
	return FOTA_OK;
}

fota_err orch_assign_seq(struct orch_store *st, const char *device, uint64_t *seq,
			 struct fota_error *err)
{
	/* The store's sequence counters are keyed by name; no group name contains ':', so a
	 * device's counter never meets a group's. */
	char counter[FOTA_MAX_SEGMENT_LEN + 8];

	snprintf(counter, sizeof(counter), "device:%s", device);
	return st->ops->directive_seq_next(st, counter, seq, err);
}

fota_err orch_assign_send(struct fota_mqtt *mqtt, const struct orch_config *cfg,
			  struct fota_signer *signer, const char *device, const char *groups_csv,
			  uint64_t seq, struct fota_assignment *a, struct fota_error *err)
{
	struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_ASSIGNMENT};
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	char *json = NULL, *jws = NULL;
	fota_err rc;

	memset(a, 0, sizeof(*a));
	snprintf(t.device, sizeof(t.device), "%s", device);
	rc = fota_topic_build(cfg->prefix, &t, topic, sizeof(topic), err);
	if (rc == FOTA_OK)
		rc = orch_assign_groups(groups_csv, a, err);
	if (rc)
		return rc;
	a->assignment_seq = seq;
	snprintf(a->device, sizeof(a->device), "%s", device);
	a->created = fota_time_now();
	a->expires = a->created + (int64_t)ORCH_ASSIGNMENT_DAYS * 86400;
	rc = fota_assignment_to_json(a, &json, err);
	if (rc == FOTA_OK)
		rc = fota_envelope_sign(&signer, 1, (const uint8_t *)json, strlen(json), 0, &jws,
					err);
	if (rc == FOTA_OK && strlen(jws) > FOTA_MAX_ASSIGNMENT_BYTES)
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
				    "signed assignment of %zu bytes exceeds the %d-byte limit",
				    strlen(jws), FOTA_MAX_ASSIGNMENT_BYTES);
	if (rc == FOTA_OK)
		rc = fota_mqtt_publish(mqtt, topic, jws, strlen(jws), 1, true,
				       ORCH_PUBLISH_TIMEOUT_MS, err);
	free(json);
	free(jws);
	return rc;
}

fota_err orch_assign_publish(struct fota_mqtt *mqtt, const struct orch_config *cfg,
			     struct orch_store *st, struct fota_signer *signer, const char *device,
			     const char *groups_csv, uint64_t *seq, struct fota_error *err)
{
	struct fota_assignment a;
	uint64_t next = 0;
	fota_err rc;

	/* Checked before a sequence is spent on it. */
	rc = orch_assign_groups(groups_csv, &a, err);
	if (rc == FOTA_OK)
		rc = orch_assign_seq(st, device, &next, err);
	if (rc)
		return rc;
	rc = orch_assign_send(mqtt, cfg, signer, device, groups_csv, next, &a, err);
	/* Recorded once the broker has it: what campaigns and renewals go by. */
	if (rc == FOTA_OK)
		rc = st->ops->device_assignment_put(st, device, groups_csv ? groups_csv : "",
						    a.assignment_seq, a.created, a.expires, err);
	if (rc)
		fota_error_prefix(err, "assignment");
	else if (seq)
		*seq = a.assignment_seq;
	return rc;
}

fota_err orch_assign_device(struct fota_mqtt *m, struct orch_routes *routes,
			    const struct orch_config *cfg, struct orch_store *st,
			    struct fota_signer *signer, const char *device, const char *also_left,
			    struct orch_device *out, uint64_t *seq, struct fota_error *err)
{
	struct orch_device d;
	char left[2 * ORCH_GROUPS_LEN + 1];
	fota_err rc = st->ops->device_get(st, device, &d, err);

	if (rc == FOTA_OK && cfg->dynsec) {
		snprintf(left, sizeof(left), "%s%s%s", d.assigned,
			 d.assigned[0] && also_left && also_left[0] ? "," : "",
			 also_left ? also_left : "");
		rc = orch_dynsec_device(m, routes, cfg, d.id, left, d.groups, err);
	}
	if (rc == FOTA_OK)
		rc = orch_assign_publish(m, cfg, st, signer, d.id, d.groups, seq, err);
	if (rc == FOTA_OK && out)
		*out = d;
	return rc;
}
