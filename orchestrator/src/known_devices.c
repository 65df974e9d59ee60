/* SPDX-License-Identifier: Apache-2.0 */
/* The devices the store knows and their last recorded state: the fleet view that does not
 * depend on the broker replaying retained statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "known_devices.h"

static int add_id(struct orch_known *k, const char *id)
{
	if (k->n == k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 64;
		void *ids = realloc(k->ids, ncap * sizeof(*k->ids));

		if (ids == NULL) {
			k->oom = true;
			return 1;
		}
		k->ids = ids;
		k->cap = ncap;
	}
	snprintf(k->ids[k->n++], sizeof(k->ids[0]), "%s", id);
	return 0;
}

static int add_device(void *ctx, const struct orch_device *d)
{
	return add_id(ctx, d->id);
}

static int add_cdev(void *ctx, const struct orch_cdev *d)
{
	return add_id(ctx, d->device);
}

struct campaign_walk {
	struct orch_store *st;
	struct orch_known *k;
	struct fota_error *err;
	fota_err rc;
};

static int add_campaign(void *ctx, const char *campaign)
{
	struct campaign_walk *w = ctx;

	w->rc = w->st->ops->cdev_each(w->st, campaign, add_cdev, w->k, w->err);
	return w->rc != FOTA_OK;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

fota_err orch_known_devices(struct orch_store *st, bool active_only, struct orch_known *out,
			    struct fota_error *err)
{
	struct campaign_walk w = {st, out, err, FOTA_OK};
	size_t n = 0;
	fota_err rc = FOTA_OK;

	memset(out, 0, sizeof(*out));
	if (!active_only)
		rc = st->ops->device_each(st, NULL, add_device, out, err);
	if (rc == FOTA_OK)
		rc = st->ops->campaign_each(st, active_only, add_campaign, &w, err);
	if (rc == FOTA_OK)
		rc = w.rc;
	if (rc != FOTA_OK) {
		orch_known_free(out);
		return rc;
	}
	if (out->oom) {
		orch_known_free(out);
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	}
	if (out->n)
		qsort(out->ids, out->n, sizeof(*out->ids), cmp_id);
	for (size_t i = 0; i < out->n; i++)
		if (n == 0 || strcmp(out->ids[n - 1], out->ids[i]) != 0)
			memmove(out->ids[n++], out->ids[i], sizeof(out->ids[0]));
	out->n = n;
	return FOTA_OK;
}

void orch_known_free(struct orch_known *k)
{
	free(k->ids);
	memset(k, 0, sizeof(*k));
}

struct latest {
	struct orch_store *st;
	const char *device;
	struct orch_cdev best;
	char campaign[FOTA_MAX_NAME_LEN + 1];
	bool found;
	fota_err rc;
	struct fota_error *err;
};

static int latest_in_campaign(void *ctx, const char *campaign)
{
	struct latest *l = ctx;
	struct orch_cdev d;
	fota_err rc = l->st->ops->cdev_get(l->st, campaign, l->device, &d, l->err);

	if (rc == FOTA_ERR_NOT_FOUND) {
		fota_error_clear(l->err);
		return 0;
	}
	if (rc != FOTA_OK) {
		l->rc = rc;
		return 1;
	}
	if (d.reported && (!l->found || d.updated >= l->best.updated)) {
		l->best = d;
		l->found = true;
		snprintf(l->campaign, sizeof(l->campaign), "%s", campaign);
	}
	return 0;
}

fota_err orch_known_status(struct orch_store *st, const char *id, struct fota_status *out,
			   struct fota_error *err)
{
	struct latest l = {.st = st, .device = id, .err = err};
	struct orch_device dev;
	bool registered;
	fota_err rc;

	memset(out, 0, sizeof(*out));
	rc = st->ops->device_get(st, id, &dev, err);
	if (rc != FOTA_OK && rc != FOTA_ERR_NOT_FOUND)
		return rc;
	registered = rc == FOTA_OK;
	fota_error_clear(err);
	rc = st->ops->campaign_each(st, false, latest_in_campaign, &l, err);
	if (rc == FOTA_OK)
		rc = l.rc;
	if (rc != FOTA_OK)
		return rc;
	if (!registered && !l.found)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device '%s' in the store", id);
	snprintf(out->device, sizeof(out->device), "%s", id);
	out->state = FOTA_STATE_IDLE;
	if (registered) {
		snprintf(out->version, sizeof(out->version), "%s", dev.version);
		out->timestamp = dev.last_seen;
		if (!dev.online && dev.last_seen)
			out->state = FOTA_STATE_OFFLINE;
	}
	if (l.found) {
		if (!registered || dev.online || !dev.last_seen)
			out->state = l.best.state;
		out->result = l.best.result;
		snprintf(out->reason, sizeof(out->reason), "%s", l.best.reason);
		snprintf(out->campaign, sizeof(out->campaign), "%s", l.campaign);
		out->chunks_present = l.best.chunks_present;
		out->chunk_count = l.best.chunk_count;
		if (l.best.updated > out->timestamp)
			out->timestamp = l.best.updated;
	}
	return FOTA_OK;
}
