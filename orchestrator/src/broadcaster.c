/* SPDX-License-Identifier: Apache-2.0 */
/* Campaign broadcasts: one paced worker sends an image once per group, coalescing requests. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcaster.h"
#include "fota/timeutil.h"

#include "log.h"
#include "image_store.h"

struct job {
	enum orch_bcast_phase phase;
	uint64_t order; /* FIFO among queued jobs */
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint32_t devices;
	uint32_t first;	      /* chunk it starts at: 0, or where a restarted daemon resumes */
	uint32_t chunk_count; /* of the image, once running */
	/* The running broadcast's acknowledgements, counted by the MQTT thread. */
	struct fota_mqtt_tally tally;
	bool stopping;	      /* running, told to stop before its next chunk */
	bool again;	      /* run once more when this one ends */
	uint32_t fresh_since; /* devices admitted since the running one started */
};

/* A broadcast that ended with every chunk acknowledged, within or past its grace period
 * (orch_broadcast_in_grace). */
struct ended {
	bool used;
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint32_t first; /* the chunk it started at: the ones below came otherwise */
	int64_t ended_ms, duration_ms;
};

struct orch_broadcaster {
	const struct orch_config *cfg;
	const struct orch_publisher *pub;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool quit;
	uint64_t order;
	struct job jobs[ORCH_BROADCAST_JOBS];
	/* The latest ended broadcast per group and image, as many as jobs can run. */
	struct ended ended[ORCH_BROADCAST_JOBS];
	struct orch_broadcast_result results[ORCH_BROADCAST_RESULTS];
	size_t res_head, res_len;
	struct orch_broadcaster_stats totals;
};

const char *orch_bcast_action_name(enum orch_bcast_action a)
{
	static const char *const names[] = {"skipped", "started", "covered", "again"};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}

const char *orch_bcast_end_name(enum orch_bcast_end e)
{
	static const char *const names[] = {"success", "stopped", "failed"};

	return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

bool orch_broadcast_pays(uint32_t devices, uint32_t members)
{
	if (devices < ORCH_BROADCAST_MIN_DEVICES)
		return false;
	return members <= devices || (uint64_t)members + 1 <= 2 * (uint64_t)devices;
}

enum orch_bcast_action orch_broadcast_decide(enum orch_bcast_phase phase, bool stopping,
					     uint32_t *fresh_since, uint32_t devices,
					     uint32_t fresh, uint32_t members)
{
	switch (phase) {
	case ORCH_BCAST_IDLE:
		return orch_broadcast_pays(devices, members) ? ORCH_BCAST_STARTED
							     : ORCH_BCAST_SKIPPED;
	case ORCH_BCAST_QUEUED:
		/* Not started yet: it will carry every chunk to the new devices too. */
		return ORCH_BCAST_COVERED;
	case ORCH_BCAST_RUNNING:
		break;
	}
	if (stopping) {
		/* Paused and resumed before the worker noticed: the devices still need it. */
		return orch_broadcast_pays(devices, members) ? ORCH_BCAST_AGAIN
							     : ORCH_BCAST_SKIPPED;
	}
	if (fresh == 0)
		return ORCH_BCAST_COVERED;
	/* Devices admitted mid-broadcast missed its first chunks; a few of them repair, a
	 * crowd gets one more broadcast. */
	*fresh_since += fresh;
	return orch_broadcast_pays(*fresh_since, members) ? ORCH_BCAST_AGAIN : ORCH_BCAST_SKIPPED;
}

bool orch_broadcast_in_grace(int64_t duration_ms, int64_t ended_ms, int64_t now_ms)
{
	int64_t grace =
	    duration_ms < ORCH_BROADCAST_GRACE_MAX_MS ? duration_ms : ORCH_BROADCAST_GRACE_MAX_MS;

	return grace > 0 && now_ms >= ended_ms && now_ms - ended_ms < grace;
}

static struct job *find(struct orch_broadcaster *b, const char *group, const char *image_id)
{
	size_t i;

	for (i = 0; i < ORCH_BROADCAST_JOBS; i++) {
		struct job *j = &b->jobs[i];

		if (j->phase != ORCH_BCAST_IDLE && strcmp(j->group, group) == 0 &&
		    strcmp(j->image_id, image_id) == 0)
			return j;
	}
	return NULL;
}

/* Caller holds the lock; j is idle. */
static void queue_job(struct orch_broadcaster *b, struct job *j, const char *campaign,
		      const char *group, const char *image_id, uint32_t devices, uint32_t first)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->campaign, sizeof(j->campaign), "%s", campaign);
	snprintf(j->group, sizeof(j->group), "%s", group);
	snprintf(j->image_id, sizeof(j->image_id), "%s", image_id);
	j->devices = devices;
	j->first = first;
	j->order = ++b->order;
	j->phase = ORCH_BCAST_QUEUED;
	pthread_cond_signal(&b->cond);
}

static struct job *next_queued(struct orch_broadcaster *b)
{
	struct job *best = NULL;
	size_t i;

	for (i = 0; i < ORCH_BROADCAST_JOBS; i++) {
		struct job *j = &b->jobs[i];

		if (j->phase == ORCH_BCAST_QUEUED && (!best || j->order < best->order))
			best = j;
	}
	return best;
}

/* Asked by the publisher before every chunk; the flag is atomic so a chunk never waits for
 * the lock a request holds. */
static bool should_stop(void *ctx)
{
	struct job *j = ctx;

	return __atomic_load_n(&j->stopping, __ATOMIC_ACQUIRE);
}

/* Caller holds the lock. Keeps a broadcast that sent and had acknowledged every chunk for its
 * grace period, in place of an older one of the same group and image or of the oldest. */
static void record_ended(struct orch_broadcaster *b, const struct job *snap,
			 const struct orch_broadcast_result *r, int64_t now)
{
	struct ended *e = NULL, *unused = NULL, *oldest = NULL;
	size_t i;

	for (i = 0; i < ORCH_BROADCAST_JOBS && !e; i++) {
		struct ended *c = &b->ended[i];

		if (!c->used)
			unused = unused ? unused : c;
		else if (strcmp(c->group, snap->group) == 0 &&
			 strcmp(c->image_id, snap->image_id) == 0)
			e = c;
		else if (!oldest || c->ended_ms < oldest->ended_ms)
			oldest = c;
	}
	if (!e)
		e = unused ? unused : oldest;
	memset(e, 0, sizeof(*e));
	e->used = true;
	snprintf(e->campaign, sizeof(e->campaign), "%s", snap->campaign);
	snprintf(e->group, sizeof(e->group), "%s", snap->group);
	snprintf(e->image_id, sizeof(e->image_id), "%s", snap->image_id);
	e->first = snap->first;
	e->ended_ms = now;
	e->duration_ms = r->stats.elapsed_ms;
}

static void push_result(struct orch_broadcaster *b, const struct orch_broadcast_result *r)
{
	if (b->res_len == ORCH_BROADCAST_RESULTS) {
		orch_log("broadcast of %s to %s not recorded: %d results waiting",
			 b->results[b->res_head].image_id, b->results[b->res_head].group,
			 ORCH_BROADCAST_RESULTS);
		b->res_head = (b->res_head + 1) % ORCH_BROADCAST_RESULTS;
		b->res_len--;
	}
	b->results[(b->res_head + b->res_len) % ORCH_BROADCAST_RESULTS] = *r;
	b->res_len++;
}

/* Worker, without the lock: one broadcast from open to the last chunk. */
static void run(struct orch_broadcaster *b, struct job *j, const struct job *snap,
		struct orch_broadcast_result *r)
{
	struct fota_error err = {0};
	struct orch_image *img = NULL;
	fota_err rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->campaign, sizeof(r->campaign), "%s", snap->campaign);
	snprintf(r->group, sizeof(r->group), "%s", snap->group);
	snprintf(r->image_id, sizeof(r->image_id), "%s", snap->image_id);
	r->devices = snap->devices;
	r->stats.first = snap->first;
	rc = orch_image_open(b->cfg, snap->image_id, &img, &err);
	if (rc == FOTA_OK) {
		r->chunk_count = img->manifest.chunk_count;
		pthread_mutex_lock(&b->lock);
		j->chunk_count = r->chunk_count;
		pthread_mutex_unlock(&b->lock);
		if (snap->first)
			orch_log("broadcast of image %s to group %s (campaign %s, %u devices): "
				 "resuming at chunk %u of %u",
				 snap->image_id, snap->group, snap->campaign, snap->devices,
				 snap->first, r->chunk_count);
		else
			orch_log("broadcast of image %s to group %s (campaign %s, %u devices): "
				 "%u chunks",
				 snap->image_id, snap->group, snap->campaign, snap->devices,
				 r->chunk_count);
		rc = orch_broadcast_until(b->pub, snap->group, img, snap->first, should_stop, j,
					  &j->tally, &r->stats, &err);
	}
	if (rc == FOTA_OK) {
		r->end = ORCH_BCAST_DONE;
		orch_log("broadcast of image %s to group %s: sent %u chunks, %llu bytes in %.1f s "
			 "(window %u of %u at the end, halved %u times)",
			 snap->image_id, snap->group, r->stats.chunks,
			 (unsigned long long)r->stats.bytes, (double)r->stats.elapsed_ms / 1000.0,
			 r->stats.window_end, r->stats.window_max, r->stats.window_shrinks);
	} else {
		r->end = rc == FOTA_ERR_STATE ? ORCH_BCAST_STOPPED : ORCH_BCAST_FAILED;
		snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
		orch_log("broadcast of image %s to group %s %s after %u chunks (%u acknowledged): "
			 "%s; devices repair the rest",
			 snap->image_id, snap->group, orch_bcast_end_name(r->end), r->stats.chunks,
			 r->stats.acked, err.msg);
	}
	orch_image_free(img);
}

static void *worker(void *arg)
{
	struct orch_broadcaster *b = arg;
	struct orch_broadcast_result *r = malloc(sizeof(*r));
	struct job snap;

	if (!r) {
		orch_log("broadcast worker: out of memory; devices fetch images by repair");
		return NULL;
	}
	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct job *j;

		while (!b->quit && !(j = next_queued(b)))
			pthread_cond_wait(&b->cond, &b->lock);
		if (b->quit)
			break;
		j->phase = ORCH_BCAST_RUNNING;
		/* The previous run's publishes all settled before it returned. */
		memset(&j->tally, 0, sizeof(j->tally));
		__atomic_store_n(&j->stopping, false, __ATOMIC_RELEASE);
		j->again = false;
		j->fresh_since = 0;
		snap = *j;
		pthread_mutex_unlock(&b->lock);
		run(b, j, &snap, r);
		pthread_mutex_lock(&b->lock);
		/* Counted before the result is taken, so a recorded broadcast is in the totals. */
		b->totals.chunks += r->stats.chunks;
		b->totals.bytes += r->stats.bytes;
		if (r->end == ORCH_BCAST_DONE && r->stats.acked == r->stats.chunks)
			record_ended(b, &snap, r, fota_time_mono_ms());
		push_result(b, r);
		if (j->again && !b->quit) {
			j->phase = ORCH_BCAST_QUEUED;
			j->order = ++b->order;
			j->first = 0;
			j->chunk_count = 0;
			if (j->fresh_since)
				j->devices = j->fresh_since;
		} else {
			j->phase = ORCH_BCAST_IDLE;
		}
	}
	pthread_mutex_unlock(&b->lock);
	free(r);
	return NULL;
}

fota_err orch_broadcaster_new(const struct orch_config *cfg, const struct orch_publisher *pub,
			      struct orch_broadcaster **out, struct fota_error *err)
{
	struct orch_broadcaster *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (!b)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the broadcaster");
	b->cfg = cfg;
	b->pub = pub;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	if (pthread_create(&b->thread, NULL, worker, b) != 0) {
		orch_broadcaster_free(b);
		return fota_error_set(err, FOTA_ERR_NOMEM, "cannot start the broadcast worker");
	}
	b->started = true;
	*out = b;
	return FOTA_OK;
}

void orch_broadcaster_free(struct orch_broadcaster *b)
{
	size_t i;

	if (!b)
		return;
	if (b->started) {
		pthread_mutex_lock(&b->lock);
		b->quit = true;
		for (i = 0; i < ORCH_BROADCAST_JOBS; i++)
			__atomic_store_n(&b->jobs[i].stopping, true, __ATOMIC_RELEASE);
		pthread_cond_signal(&b->cond);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->thread, NULL);
	}
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

enum orch_bcast_action orch_broadcaster_request(struct orch_broadcaster *b, const char *campaign,
						const char *group, const char *image_id,
						uint32_t devices, uint32_t fresh, uint32_t members)
{
	enum orch_bcast_action a;
	struct job *j;
	uint32_t fresh_since = 0;
	size_t i;

	pthread_mutex_lock(&b->lock);
	j = find(b, group, image_id);
	if (j) {
		fresh_since = j->fresh_since;
		a = orch_broadcast_decide(j->phase, __atomic_load_n(&j->stopping, __ATOMIC_ACQUIRE),
					  &fresh_since, devices, fresh, members);
		j->fresh_since = fresh_since;
		if (a == ORCH_BCAST_AGAIN) {
			j->again = true;
			if (!j->fresh_since)
				j->fresh_since = devices;
			snprintf(j->campaign, sizeof(j->campaign), "%s", campaign);
		}
		goto out;
	}
	a = orch_broadcast_decide(ORCH_BCAST_IDLE, false, &fresh_since, devices, fresh, members);
	if (a != ORCH_BCAST_STARTED)
		goto out;
	for (i = 0; i < ORCH_BROADCAST_JOBS && b->jobs[i].phase != ORCH_BCAST_IDLE; i++)
		;
	if (i == ORCH_BROADCAST_JOBS) {
		orch_log("broadcast of image %s to group %s skipped: %d broadcasts pending; "
			 "devices fetch it by repair",
			 image_id, group, ORCH_BROADCAST_JOBS);
		a = ORCH_BCAST_SKIPPED;
		goto out;
	}
	queue_job(b, &b->jobs[i], campaign, group, image_id, devices, 0);
out:
	pthread_mutex_unlock(&b->lock);
	return a;
}

enum orch_bcast_action orch_broadcaster_resume(struct orch_broadcaster *b, const char *campaign,
					       const char *group, const char *image_id,
					       uint32_t devices, uint32_t first)
{
	enum orch_bcast_action a = ORCH_BCAST_COVERED;
	size_t i;

	pthread_mutex_lock(&b->lock);
	if (find(b, group, image_id))
		goto out;
	for (i = 0; i < ORCH_BROADCAST_JOBS && b->jobs[i].phase != ORCH_BCAST_IDLE; i++)
		;
	if (i == ORCH_BROADCAST_JOBS) {
		a = ORCH_BCAST_SKIPPED;
		goto out;
	}
	queue_job(b, &b->jobs[i], campaign, group, image_id, devices, first);
	a = ORCH_BCAST_STARTED;
out:
	pthread_mutex_unlock(&b->lock);
	return a;
}

void orch_broadcaster_get_stats(struct orch_broadcaster *b, struct orch_broadcaster_stats *out)
{
	pthread_mutex_lock(&b->lock);
	*out = b->totals;
	pthread_mutex_unlock(&b->lock);
}

size_t orch_broadcaster_progress(struct orch_broadcaster *b, struct orch_broadcast_progress *out,
				 size_t max)
{
	size_t i, n = 0;

	pthread_mutex_lock(&b->lock);
	for (i = 0; i < ORCH_BROADCAST_JOBS && n < max; i++) {
		const struct job *j = &b->jobs[i];
		struct orch_broadcast_progress *p = &out[n];
		struct fota_mqtt_tally t = {0};

		if (j->phase == ORCH_BCAST_IDLE)
			continue;
		snprintf(p->campaign, sizeof(p->campaign), "%s", j->campaign);
		snprintf(p->group, sizeof(p->group), "%s", j->group);
		snprintf(p->image_id, sizeof(p->image_id), "%s", j->image_id);
		p->devices = j->devices;
		p->chunk_count = j->chunk_count;
		if (j->phase == ORCH_BCAST_RUNNING)
			fota_mqtt_tally_get(b->pub->mqtt, &j->tally, &t);
		/* Acknowledged in order (MQTT 3.1.1, 4.6): the first `acked` were sent first. */
		p->next_chunk = j->first + (uint32_t)t.acked;
		n++;
	}
	pthread_mutex_unlock(&b->lock);
	return n;
}

bool orch_broadcaster_ahead(struct orch_broadcaster *b, const char *group, const char *image_id,
			    uint32_t *next, bool *ended)
{
	struct fota_mqtt_tally t = {0};
	const struct job *j;
	bool ahead = false;
	size_t i;

	*ended = false;
	pthread_mutex_lock(&b->lock);
	j = find(b, group, image_id);
	if (j && !__atomic_load_n(&j->stopping, __ATOMIC_ACQUIRE)) {
		ahead = true;
		if (j->phase == ORCH_BCAST_RUNNING)
			fota_mqtt_tally_get(b->pub->mqtt, &j->tally, &t);
		/* Acknowledged in order (MQTT 3.1.1, 4.6), as in orch_broadcaster_progress. */
		*next = j->first + (uint32_t)t.acked;
	} else if (!j) {
		int64_t now = fota_time_mono_ms();

		for (i = 0; i < ORCH_BROADCAST_JOBS && !ahead; i++) {
			const struct ended *e = &b->ended[i];

			if (!e->used || strcmp(e->group, group) != 0 ||
			    strcmp(e->image_id, image_id) != 0 ||
			    !orch_broadcast_in_grace(e->duration_ms, e->ended_ms, now))
				continue;
			/* Every chunk from where it started is acknowledged, and may still be on
			 * its way to the device. */
			ahead = *ended = true;
			*next = e->first;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return ahead;
}

void orch_broadcaster_stop(struct orch_broadcaster *b, const char *campaign)
{
	size_t i;

	pthread_mutex_lock(&b->lock);
	/* A stopped campaign's devices are told to pause or abort: nothing is on their way. */
	for (i = 0; i < ORCH_BROADCAST_JOBS; i++)
		if (b->ended[i].used && strcmp(b->ended[i].campaign, campaign) == 0)
			b->ended[i].used = false;
	for (i = 0; i < ORCH_BROADCAST_JOBS; i++) {
		struct job *j = &b->jobs[i];

		if (j->phase == ORCH_BCAST_IDLE || strcmp(j->campaign, campaign) != 0)
			continue;
		if (j->phase == ORCH_BCAST_QUEUED) {
			j->phase = ORCH_BCAST_IDLE;
			continue;
		}
		if (!__atomic_load_n(&j->stopping, __ATOMIC_ACQUIRE))
			orch_log("broadcast of image %s to group %s: stopping (campaign %s is no "
				 "longer running)",
				 j->image_id, j->group, campaign);
		__atomic_store_n(&j->stopping, true, __ATOMIC_RELEASE);
		j->again = false;
		j->fresh_since = 0;
	}
	pthread_mutex_unlock(&b->lock);
}

bool orch_broadcaster_take_result(struct orch_broadcaster *b, struct orch_broadcast_result *out)
{
	bool any;

	pthread_mutex_lock(&b->lock);
	any = b->res_len > 0;
	if (any) {
		*out = b->results[b->res_head];
		b->res_head = (b->res_head + 1) % ORCH_BROADCAST_RESULTS;
		b->res_len--;
	}
	pthread_mutex_unlock(&b->lock);
	return any;
}

bool orch_broadcaster_busy(struct orch_broadcaster *b)
{
	bool busy = false;
	size_t i;

	pthread_mutex_lock(&b->lock);
	for (i = 0; i < ORCH_BROADCAST_JOBS; i++)
		busy |= b->jobs[i].phase != ORCH_BCAST_IDLE;
	pthread_mutex_unlock(&b->lock);
	return busy;
}
