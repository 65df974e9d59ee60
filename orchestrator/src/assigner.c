/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's sender of group assignments: one lock around the dynamic-security exchange
 * (its response hook has room for one waiter) and the publish, on the session that is up
 * anyway, so no caller opens a broker connection of its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign.h"
#include "assigner.h"
#include "log.h"

struct orch_assigner {
	const struct orch_config *cfg;
	struct fota_mqtt *mqtt;
	struct orch_routes *routes;
	struct fota_signer *signer;
	pthread_mutex_t lock;
};

struct orch_assigner *orch_assigner_new(const struct orch_config *cfg, struct fota_mqtt *m,
					struct orch_routes *routes, struct fota_signer *signer)
{
	struct orch_assigner *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->cfg = cfg;
	a->mqtt = m;
	a->routes = routes;
	a->signer = signer;
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void orch_assigner_free(struct orch_assigner *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

bool orch_assigner_can_sign(const struct orch_assigner *a)
{
	return a && a->signer;
}

fota_err orch_assigner_send(struct orch_assigner *a, struct orch_store *st, const char *device,
			    const char *also_left, struct orch_device *out, uint64_t *seq,
			    struct fota_error *err)
{
	fota_err rc;

	if (!a->signer)
		return fota_error_set(err, FOTA_ERR_STATE, "no orchestrator key");
	/* A lost session would make the publish wait out its timeout: say so at once. */
	if (!fota_mqtt_is_connected(a->mqtt))
		return fota_error_set(err, FOTA_ERR_MQTT, "not connected to the broker");
	pthread_mutex_lock(&a->lock);
	rc = orch_assign_device(a->mqtt, a->routes, a->cfg, st, a->signer, device, also_left, out,
				seq, err);
	pthread_mutex_unlock(&a->lock);
	if (rc && rc != FOTA_ERR_NOT_FOUND && !fota_mqtt_is_connected(a->mqtt))
		rc = err->code = FOTA_ERR_MQTT;
	return rc;
}

struct due {
	int64_t now;
	char (*ids)[FOTA_MAX_SEGMENT_LEN + 1];
	size_t n, cap;
	bool oom;
};

static int collect_due(void *ctx, const struct orch_device *d)
{
	struct due *u = ctx;

	if (!orch_assign_due(d, u->now))
		return 0;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		void *p = realloc(u->ids, cap * sizeof(*u->ids));

		if (!p) {
			u->oom = true;
			return 1;
		}
		u->ids = p;
		u->cap = cap;
	}
	memcpy(u->ids[u->n++], d->id, sizeof(u->ids[0]));
	return 0;
}

void orch_assigner_renew(struct orch_assigner *a, struct orch_store *st, int64_t now)
{
	struct due u = {.now = now};
	struct fota_error err = {0};

	if (!a->signer)
		return;
	/* Collected first: sending writes the rows the walk reads. */
	if (st->ops->device_each(st, NULL, collect_due, &u, &err) ||
	    (u.oom && fota_error_set(&err, FOTA_ERR_NOMEM, "out of memory"))) {
		orch_fail("assignment renewal", &err);
		goto out;
	}
	for (size_t i = 0; i < u.n; i++) {
		struct orch_device d;
		uint64_t seq = 0;

		if (orch_assigner_send(a, st, u.ids[i], NULL, &d, &seq, &err)) {
			char what[FOTA_MAX_SEGMENT_LEN + 48];

			snprintf(what, sizeof(what), "renew the assignment of %s", u.ids[i]);
			orch_fail(what, &err);
			if (err.code == FOTA_ERR_MQTT)
				break; /* the next timer tries again */
			continue;
		}
		orch_log("assignment %llu for %s renewed: groups %s", (unsigned long long)seq, d.id,
			 d.groups[0] ? d.groups : "(none)");
	}
out:
	free(u.ids);
}
