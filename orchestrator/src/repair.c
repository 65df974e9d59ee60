/* SPDX-License-Identifier: Apache-2.0 */
/* Repairs: device requests queued by the MQTT thread, answered unicast by one paced worker. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/request.h"
#include "fota/topics.h"

#include "cmd.h"
#include "repair.h"

struct queued {
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	struct fota_request req;
};

struct open_image {
	struct orch_image *img;
	uint64_t last_used;
};

struct orch_repair {
	const struct orch_config *cfg;
	const struct orch_publisher *pub;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct queued *queue; /* ring of ORCH_REPAIR_QUEUE_LEN */
	size_t head, len;
	struct orch_repair_stats stats;
	/* Worker-only state. */
	struct open_image open[ORCH_REPAIR_OPEN_IMAGES];
	uint64_t use_clock;
	uint8_t *frame_buf;
	size_t frame_cap;
};

static void bump(struct orch_repair *r, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&r->lock);
	*counter += n;
	pthread_mutex_unlock(&r->lock);
}

/* Stored bytes never change; a re-added manifest swaps the directory, which
 * orch_image_current() notices, so the cache never serves a stale table. */
static struct orch_image *get_image(struct orch_repair *r, const uint8_t id[FOTA_IMAGE_ID_LEN],
				    struct fota_error *err)
{
	char hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	struct open_image *slot = &r->open[0];
	size_t i;

	for (i = 0; i < ORCH_REPAIR_OPEN_IMAGES; i++) {
		struct open_image *o = &r->open[i];

		if (o->img && memcmp(o->img->id_bin, id, FOTA_IMAGE_ID_LEN) == 0) {
			if (orch_image_current(o->img)) {
				o->last_used = ++r->use_clock;
				return o->img;
			}
			slot = o; /* re-added with a new manifest: reopen in place */
			break;
		}
		if (!o->img || (slot->img && o->last_used < slot->last_used))
			slot = o;
	}
	fota_hex_encode(id, FOTA_IMAGE_ID_LEN, hex);
	orch_image_free(slot->img);
	slot->img = NULL;
	if (orch_image_open(r->cfg, hex, &slot->img, err))
		return NULL;
	slot->last_used = ++r->use_clock;
	if (orch_frame_buf_size(slot->img) > r->frame_cap) {
		uint8_t *nb = realloc(r->frame_buf, orch_frame_buf_size(slot->img));

		if (!nb) {
			fota_error_set(err, FOTA_ERR_NOMEM, "no memory for a chunk frame");
			return NULL;
		}
		r->frame_buf = nb;
		r->frame_cap = orch_frame_buf_size(slot->img);
	}
	return slot->img;
}

static void serve(struct orch_repair *r, const struct queued *q)
{
	struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_CHUNKS};
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	char hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	struct fota_error err = {0};
	const struct orch_image *img;
	uint32_t total, sent = 0;
	size_t i;

	fota_hex_encode(q->req.image_id, FOTA_IMAGE_ID_LEN, hex);
	img = get_image(r, q->req.image_id, &err);
	if (!img) {
		orch_log("repair for %s rejected: %s", q->device, err.msg);
		bump(r, &r->stats.rejected, 1);
		return;
	}
	for (i = 0; i < q->req.n_ranges; i++) {
		const struct fota_range *rg = &q->req.ranges[i];

		if ((uint64_t)rg->first + rg->count > img->manifest.chunk_count) {
			orch_log("repair for %s rejected: range %u+%u is beyond chunk count %u of "
				 "image %s",
				 q->device, rg->first, rg->count, img->manifest.chunk_count, hex);
			bump(r, &r->stats.rejected, 1);
			return;
		}
	}
	total = fota_request_total_chunks(&q->req);
	if (total > FOTA_MAX_REQUEST_CHUNKS) {
		orch_log("repair for %s rejected: %u chunks asked, at most %d per request",
			 q->device, total, FOTA_MAX_REQUEST_CHUNKS);
		bump(r, &r->stats.rejected, 1);
		return;
	}
	snprintf(t.device, sizeof(t.device), "%s", q->device);
	if (fota_topic_build(r->pub->prefix, &t, topic, sizeof(topic), &err)) {
		orch_fail("repair", &err);
		bump(r, &r->stats.rejected, 1);
		return;
	}
	if (q->req.want_table) {
		if (orch_publish_table(r->pub, topic, img, false, &err)) {
			orch_log("repair for %s: table of %s: %s", q->device, hex, err.msg);
			return;
		}
		bump(r, &r->stats.frames, 1);
	}
	for (i = 0; i < q->req.n_ranges; i++) {
		const struct fota_range *rg = &q->req.ranges[i];
		uint32_t k;

		for (k = 0; k < rg->count; k++) {
			if (orch_publish_chunk(r->pub, topic, img, rg->first + k, r->frame_buf,
					       NULL, &err)) {
				/* The device re-asks for what it still misses. */
				orch_log("repair for %s: chunk %u of %s: %s", q->device,
					 rg->first + k, hex, err.msg);
				goto done;
			}
			sent++;
		}
	}
done:
	bump(r, &r->stats.frames, sent);
	bump(r, &r->stats.served, 1);
	orch_log("repair for %s: sent %u chunk%s%s of image %s", q->device, sent,
		 sent == 1 ? "" : "s", q->req.want_table ? " and the table" : "", hex);
}

static void *worker(void *arg)
{
	struct orch_repair *r = arg;
	struct queued *q = malloc(sizeof(*q));

	if (!q) {
		orch_log("repair worker: out of memory");
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (!r->stopping && r->len == 0)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stopping) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		*q = r->queue[r->head];
		r->head = (r->head + 1) % ORCH_REPAIR_QUEUE_LEN;
		r->len--;
		pthread_mutex_unlock(&r->lock);
		serve(r, q);
	}
	free(q);
	return NULL;
}

fota_err orch_repair_new(const struct orch_config *cfg, const struct orch_publisher *pub,
			 struct orch_repair **out, struct fota_error *err)
{
	struct orch_repair *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the repair queue");
	r->queue = calloc(ORCH_REPAIR_QUEUE_LEN, sizeof(*r->queue));
	if (!r->queue) {
		free(r);
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the repair queue");
	}
	r->cfg = cfg;
	r->pub = pub;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, worker, r) != 0) {
		orch_repair_free(r);
		return fota_error_set(err, FOTA_ERR_NOMEM, "cannot start the repair worker");
	}
	r->started = true;
	*out = r;
	return FOTA_OK;
}

void orch_repair_free(struct orch_repair *r)
{
	size_t i;

	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stopping = true;
		pthread_cond_signal(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	for (i = 0; i < ORCH_REPAIR_OPEN_IMAGES; i++)
		orch_image_free(r->open[i].img);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->frame_buf);
	free(r->queue);
	free(r);
}

void orch_repair_submit(struct orch_repair *r, const char *device, const uint8_t *payload,
			size_t len)
{
	struct fota_error err = {0};
	struct queued *slot;
	struct fota_request req;

	if (len > FOTA_MAX_REQUEST_BYTES) {
		orch_log("repair for %s rejected: request of %zu bytes exceeds %d", device, len,
			 FOTA_MAX_REQUEST_BYTES);
		bump(r, &r->stats.rejected, 1);
		return;
	}
	memset(&req, 0, sizeof(req));
	if (fota_request_parse(payload, len, &req, &err)) {
		orch_log("repair for %s rejected: %s", device, err.msg);
		bump(r, &r->stats.rejected, 1);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (r->len == ORCH_REPAIR_QUEUE_LEN) {
		r->stats.dropped++;
		pthread_mutex_unlock(&r->lock);
		orch_log("repair for %s dropped: %d requests already queued", device,
			 ORCH_REPAIR_QUEUE_LEN);
		return;
	}
	slot = &r->queue[(r->head + r->len) % ORCH_REPAIR_QUEUE_LEN];
	snprintf(slot->device, sizeof(slot->device), "%s", device);
	slot->req = req;
	r->len++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void orch_repair_get_stats(struct orch_repair *r, struct orch_repair_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}
