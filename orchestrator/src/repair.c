/* SPDX-License-Identifier: Apache-2.0 */
/* Repairs: device requests merged by the MQTT thread into the fair scheduler, answered unicast
 * by one paced worker, one device's turn at a time. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/request.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#include "log.h"
#include "repair.h"
#include "repair_sched.h"

/* Lines of one kind (rejected, dropped) logged per ORCH_REPAIR_FLOOD_LOG_MS at most. */
#define LOG_LINES_PER_INTERVAL 10

struct log_limit {
	int64_t since_ms; /* start of the current interval */
	unsigned lines;	  /* logged in it */
	uint64_t unlogged;
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
	struct orch_rsched *sched;
	struct orch_repair_stats stats;
	/* Invalid, dropped and cut requests are logged once per ORCH_REPAIR_FLOOD_LOG_MS each. */
	struct log_limit rejected_log, dropped_log, ahead_log;
	orch_repair_ahead_fn ahead;
	void *ahead_ctx;
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

/* Logs "repair for DEVICE WHAT: WHY" unless LOG_LINES_PER_INTERVAL lines of the kind were
 * logged in this interval; the next line that is logged says how many were not. Caller holds
 * no lock. */
static void log_limited(struct orch_repair *r, struct log_limit *l, const char *device,
			const char *what, const char *why)
{
	int64_t now = fota_time_mono_ms();
	uint64_t unlogged;

	pthread_mutex_lock(&r->lock);
	if (!l->since_ms || now - l->since_ms >= ORCH_REPAIR_FLOOD_LOG_MS) {
		l->since_ms = now;
		l->lines = 0;
	}
	if (l->lines == LOG_LINES_PER_INTERVAL) {
		l->unlogged++;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	l->lines++;
	unlogged = l->unlogged;
	l->unlogged = 0;
	pthread_mutex_unlock(&r->lock);
	if (unlogged)
		orch_log("repair for %s %s: %s (and %llu more requests %s before, not logged)",
			 device, what, why, (unsigned long long)unlogged, what);
	else
		orch_log("repair for %s %s: %s", device, what, why);
}

static void log_rejected(struct orch_repair *r, const char *device, const char *why)
{
	bump(r, &r->stats.rejected, 1);
	log_limited(r, &r->rejected_log, device, "rejected", why);
}

static void drop_device(struct orch_repair *r, const char *device)
{
	pthread_mutex_lock(&r->lock);
	orch_rsched_drop(r->sched, device);
	pthread_mutex_unlock(&r->lock);
}

/* One turn: the table if asked, then the turn's chunks. Returns the bytes sent. */
static uint64_t serve(struct orch_repair *r, const struct orch_rsched_turn *t)
{
	struct fota_topic topic_spec = {.kind = FOTA_TOPIC_DEVICE_CHUNKS};
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	char hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	char why[FOTA_ERROR_MSG_MAX + 64];
	struct fota_error err = {0};
	const struct orch_image *img;
	uint64_t bytes = 0;
	uint32_t sent = 0;
	size_t i;

	fota_hex_encode(t->image_id, FOTA_IMAGE_ID_LEN, hex);
	img = get_image(r, t->image_id, &err);
	if (!img) {
		drop_device(r, t->device);
		log_rejected(r, t->device, err.msg);
		return 0;
	}
	for (i = 0; i < t->n_ranges; i++) {
		const struct fota_range *rg = &t->ranges[i];

		if ((uint64_t)rg->first + rg->count > img->manifest.chunk_count) {
			/* Ranges are merged, so whatever else the device asked is suspect too. */
			drop_device(r, t->device);
			snprintf(why, sizeof(why),
				 "range %u+%u is beyond chunk count %u of image %s", rg->first,
				 rg->count, img->manifest.chunk_count, hex);
			log_rejected(r, t->device, why);
			return 0;
		}
	}
	snprintf(topic_spec.device, sizeof(topic_spec.device), "%s", t->device);
	if (fota_topic_build(r->pub->prefix, &topic_spec, topic, sizeof(topic), &err)) {
		drop_device(r, t->device);
		orch_fail("repair", &err);
		return 0;
	}
	if (t->table) {
		if (orch_publish_table(r->pub, topic, img, false, &err)) {
			orch_log("repair for %s: table of %s: %s", t->device, hex, err.msg);
			drop_device(r, t->device);
			return 0;
		}
		bytes += FOTA_FRAME_HEADER_LEN + img->table_len;
		bump(r, &r->stats.frames, 1);
	}
	for (i = 0; i < t->n_ranges; i++) {
		const struct fota_range *rg = &t->ranges[i];

		for (uint32_t k = 0; k < rg->count; k++) {
			size_t len = 0;

			if (orch_publish_chunk(r->pub, topic, img, rg->first + k, r->frame_buf,
					       &len, NULL, NULL, &err)) {
				/* The device re-asks for what it still misses. */
				orch_log("repair for %s: chunk %u of %s: %s", t->device,
					 rg->first + k, hex, err.msg);
				drop_device(r, t->device);
				bump(r, &r->stats.frames, sent);
				return bytes;
			}
			bytes += len;
			sent++;
		}
	}
	bump(r, &r->stats.frames, sent);
	if (t->finished && !t->flooding)
		orch_log("repair for %s: sent %u chunk%s%s of image %s", t->device, t->burst_chunks,
			 t->burst_chunks == 1 ? "" : "s", t->burst_table ? " and the table" : "",
			 hex);
	return bytes;
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *worker(void *arg)
{
	struct orch_repair *r = arg;
	struct orch_rsched_turn *t = malloc(sizeof(*t));

	if (!t) {
		orch_log("repair worker: out of memory");
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		struct timespec until;
		int64_t wait_ms = 0;
		uint64_t bytes;

		switch (orch_rsched_next(r->sched, fota_time_mono_ms(), t, &wait_ms)) {
		case ORCH_RSCHED_IDLE:
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		case ORCH_RSCHED_WAIT:
			/* Every device with work drew its share; a new one may come meanwhile. */
			deadline_in(&until, wait_ms);
			while (!r->stopping &&
			       pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
				;
			continue;
		case ORCH_RSCHED_TURN:
			break;
		}
		pthread_mutex_unlock(&r->lock);
		bytes = serve(r, t);
		pthread_mutex_lock(&r->lock);
		orch_rsched_charge(r->sched, t->device, bytes, fota_time_mono_ms());
	}
	pthread_mutex_unlock(&r->lock);
	free(t);
	return NULL;
}

fota_err orch_repair_new(const struct orch_config *cfg, const struct orch_publisher *pub,
			 struct orch_repair **out, struct fota_error *err)
{
	struct orch_repair *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	*out = NULL;
	if (!r)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the repair queue");
	r->sched = orch_rsched_new(ORCH_REPAIR_DEVICE_RATE, ORCH_REPAIR_DEVICE_BURST);
	if (!r->sched) {
		free(r);
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the repair queue");
	}
	r->cfg = cfg;
	r->pub = pub;
	pthread_mutex_init(&r->lock, NULL);
	/* Waits for a device's bucket are measured on the clock the scheduler is fed. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
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
	orch_rsched_free(r->sched);
	free(r);
}

/* Cuts req to the chunks below the first one the device's group broadcast still brings: a
 * device that asks early (its copy of the broadcast is late, the broker or its link holds it)
 * would otherwise get the rest of the image twice, once unicast, and the broker would hold one
 * unicast copy per such device on top of the broadcast. The same within the grace period after
 * the broadcast ended, when the broker may still be delivering it. True when nothing is left to
 * serve. */
static bool leave_to_broadcast(struct orch_repair *r, const char *device, struct fota_request *req)
{
	char why[128 + FOTA_IMAGE_ID_HEX_LEN];
	char hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint32_t next, cut;
	bool ended = false;

	if (req->n_ranges == 0)
		return false;
	next = r->ahead(r->ahead_ctx, device, req->image_id, &ended);
	if (next == UINT32_MAX || (cut = fota_request_clip(req, next)) == 0)
		return false;
	pthread_mutex_lock(&r->lock);
	r->stats.ahead_requests++;
	r->stats.ahead_chunks += cut;
	if (ended) {
		r->stats.grace_requests++;
		r->stats.grace_chunks += cut;
	}
	pthread_mutex_unlock(&r->lock);
	fota_hex_encode(req->image_id, FOTA_IMAGE_ID_LEN, hex);
	if (ended)
		snprintf(why, sizeof(why),
			 "%u chunk%s from %u on came by the broadcast of %s, which ended within "
			 "its grace period",
			 cut, cut == 1 ? "" : "s", next, hex);
	else
		snprintf(why, sizeof(why),
			 "%u chunk%s from %u on come by the running broadcast of %s", cut,
			 cut == 1 ? "" : "s", next, hex);
	log_limited(r, &r->ahead_log, device, "cut", why);
	return req->n_ranges == 0 && !req->want_table;
}

void orch_repair_set_ahead(struct orch_repair *r, orch_repair_ahead_fn fn, void *ctx)
{
	r->ahead_ctx = ctx;
	r->ahead = fn;
}

void orch_repair_submit(struct orch_repair *r, const char *device, const uint8_t *payload,
			size_t len)
{
	struct fota_error err = {0};
	struct orch_rsched_added a;
	struct fota_request req;
	char why[FOTA_ERROR_MSG_MAX + 64];

	if (len > FOTA_MAX_REQUEST_BYTES) {
		snprintf(why, sizeof(why), "request of %zu bytes exceeds %d", len,
			 FOTA_MAX_REQUEST_BYTES);
		log_rejected(r, device, why);
		return;
	}
	memset(&req, 0, sizeof(req));
	if (fota_request_parse(payload, len, &req, &err)) {
		log_rejected(r, device, err.msg);
		return;
	}
	if (r->ahead && leave_to_broadcast(r, device, &req))
		return;
	pthread_mutex_lock(&r->lock);
	orch_rsched_add(r->sched, device, &req, fota_time_mono_ms(), &a);
	if (a.queued || a.table) {
		r->stats.served++;
		pthread_cond_signal(&r->cond);
	} else if (a.dropped) {
		r->stats.dropped++;
	} else {
		r->stats.merged++;
	}
	pthread_mutex_unlock(&r->lock);
	if (a.no_room) {
		snprintf(why, sizeof(why), "%d devices are waiting already",
			 ORCH_REPAIR_MAX_DEVICES);
		log_limited(r, &r->dropped_log, device, "dropped", why);
	}
	if (a.report)
		orch_log("repair requests from %s: %llu in %.1f s, %llu chunks asked again while "
			 "queued, %llu chunks over its %d-chunk queue dropped, %llu chunks served "
			 "(at most %llu MiB/s per device)",
			 device, (unsigned long long)a.flood_requests, (double)a.flood_ms / 1000.0,
			 (unsigned long long)a.flood_duplicate, (unsigned long long)a.flood_dropped,
			 ORCH_REPAIR_DEVICE_CHUNKS, (unsigned long long)a.flood_served,
			 (unsigned long long)(ORCH_REPAIR_DEVICE_RATE >> 20));
}

void orch_repair_get_stats(struct orch_repair *r, struct orch_repair_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}
