/* SPDX-License-Identifier: Apache-2.0 */
/* Which payload a campaign's broadcast carries: the delta when most of the devices waiting for
 * the image run its base, else the full payload; the others fetch theirs by repair. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/digest.h"

#include "image_store.h"
#include "payload_choice.h"

bool orch_delta_pays(uint32_t on_base, uint32_t waiting)
{
	return waiting > 0 && (uint64_t)on_base * 2 > waiting;
}

/* The ids of the admitted devices still waiting for the image. */
struct waiting {
	const struct orch_campaign *c;
	char (*id)[FOTA_MAX_SEGMENT_LEN + 1];
	size_t n, cap;
	bool oom;
};

static int collect_waiting(void *ctx, const struct orch_cdev *d)
{
	struct waiting *w = ctx;

	if (!orch_cdev_needs_image(w->c, d))
		return 0;
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		void *tmp = realloc(w->id, ncap * sizeof(*w->id));

		if (!tmp) {
			w->oom = true;
			return 1;
		}
		w->id = tmp;
		w->cap = ncap;
	}
	memcpy(w->id[w->n++], d->device, sizeof(w->id[0]));
	return 0;
}

/* The delta the campaign image's manifest offers, and the version of its base if stored. */
static fota_err read_delta(const struct orch_config *cfg, const char *image_id,
			   struct orch_payload_choice *out, struct fota_error *err)
{
	struct orch_image *img = NULL, *base = NULL;
	fota_err rc = orch_image_open(cfg, image_id, &img, err);

	/* An image no longer stored cannot be broadcast at all: nothing to choose. */
	if (rc == FOTA_ERR_NOT_FOUND)
		return FOTA_OK;
	if (rc)
		return rc;
	if (img->manifest.has_delta) {
		out->has_delta = true;
		fota_hex_encode(img->manifest.delta.sha256, FOTA_IMAGE_ID_LEN, out->delta_id);
		fota_hex_encode(img->manifest.delta.from_sha256, FOTA_IMAGE_ID_LEN, out->base_id);
		/* A base no longer stored has no known version: no device counts as on it. */
		if (orch_image_open(cfg, out->base_id, &base, NULL) == FOTA_OK) {
			out->base_known = true;
			snprintf(out->base_version, sizeof(out->base_version), "%s",
				 base->manifest.version);
		}
	}
	orch_image_free(base);
	orch_image_free(img);
	return FOTA_OK;
}

fota_err orch_payload_choose(const struct orch_config *cfg, struct orch_store *st,
			     const struct orch_campaign *c, struct orch_payload_choice *out,
			     struct fota_error *err)
{
	struct waiting w = {.c = c};
	fota_err rc;
	size_t i;

	memset(out, 0, sizeof(*out));
	snprintf(out->payload_id, sizeof(out->payload_id), "%s", c->image_id);
	rc = read_delta(cfg, c->image_id, out, err);
	if (rc || !out->has_delta)
		return rc;
	/* Collected first: the registry is read after the walk, not inside it. */
	rc = st->ops->cdev_each(st, c->id, collect_waiting, &w, err);
	if (rc == FOTA_OK && w.oom)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	for (i = 0; rc == FOTA_OK && i < w.n; i++) {
		struct orch_device d;

		out->waiting++;
		if (out->base_known && st->ops->device_get(st, w.id[i], &d, NULL) == FOTA_OK &&
		    strcmp(d.version, out->base_version) == 0)
			out->on_base++;
	}
	free(w.id);
	if (rc)
		return rc;
	out->delta = orch_delta_pays(out->on_base, out->waiting);
	if (out->delta)
		memcpy(out->payload_id, out->delta_id, sizeof(out->payload_id));
	return FOTA_OK;
}

void orch_payload_choice_describe(const struct orch_payload_choice *p, char *out, size_t size)
{
	if (!p->has_delta)
		snprintf(out, size, "full %s broadcast: the image offers no delta", p->payload_id);
	else if (!p->base_known)
		snprintf(out, size,
			 "full %s broadcast: the delta's base %s is not stored, so no device is "
			 "known to run it",
			 p->payload_id, p->base_id);
	else
		snprintf(out, size,
			 "%s %s broadcast: %u of %u waiting devices run the delta's base %s "
			 "(version %s); the others take the %s payload by repair",
			 p->delta ? "delta" : "full", p->payload_id, p->on_base, p->waiting,
			 p->base_id, p->base_version, p->delta ? "full" : "delta");
}

static int last_payload(void *ctx, const struct orch_event *ev)
{
	char *out = ctx;

	if (strcmp(ev->kind, "payload") == 0)
		snprintf(out, ORCH_MAX_EVENT_DETAIL, "%s", ev->detail);
	return 0;
}

fota_err orch_payload_last(struct orch_store *st, const char *campaign, char *out, size_t size,
			   struct fota_error *err)
{
	char last[ORCH_MAX_EVENT_DETAIL] = "";
	fota_err rc = st->ops->event_each(st, campaign, "", last_payload, last, err);

	snprintf(out, size, "%s", last);
	return rc;
}
