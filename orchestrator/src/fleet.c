/* SPDX-License-Identifier: Apache-2.0 */
/* Fleet view: latest status per device (sorted array) and the audit trail of status changes,
 * written to the store in batches by a thread of its own. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/timeutil.h"

#include "log.h"
#include "fleet.h"
#include "store.h"

/* Group commit: the writer takes whatever is waiting (at most a batch) as soon as it is
 * free, so a row waits only for the transaction in progress, never for a timer, and batches
 * grow by themselves while the store is busy (a restart replays every retained status at
 * once; one transaction per status would make the store, not the broker, the limit). */
#define AUDIT_BATCH 512
/* A batch the store refused is tried again after this. */
#define AUDIT_RETRY_MS 200
/* Changes waiting while the store is slow or down; ingestion waits beyond this, so the trail
 * loses nothing and memory stays bounded. */
#define AUDIT_PENDING_MAX 16384

struct entry {
	struct fota_status s;
	int64_t received_ms; /* monotonic time of the latest report */
};

struct orch_fleet {
	pthread_mutex_t lock;
	struct entry *devs; /* sorted by device */
	size_t n, cap;
	orch_fleet_cb cb;
	void *ctx;

	/* Audit trail: ingest appends to pending (under lock); the writer thread moves it to
	 * the store with its own handle. */
	struct orch_store *audit_store;
	struct orch_audit *pending;
	size_t n_pending;
	pthread_cond_t wake, room;
	pthread_t writer;
	bool writer_running, stopping;
};

/* Writes batch[0..n) in one transaction; on failure the caller retries the same batch. */
static fota_err audit_write(struct orch_store *st, struct orch_audit *batch, size_t n,
			    struct fota_error *err)
{
	fota_err rc = st->ops->begin(st, err);
	size_t i;

	for (i = 0; rc == FOTA_OK && i < n; i++)
		rc = st->ops->audit_append(st, &batch[i], err);
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, err);
	if (rc)
		st->ops->rollback(st);
	return rc;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static void *audit_writer(void *arg)
{
	struct orch_fleet *f = arg;
	struct orch_audit *batch = malloc(AUDIT_BATCH * sizeof(*batch));
	size_t n = 0;
	bool stop = false, reported = false;

	if (!batch) {
		orch_log("audit trail: out of memory; status changes are not recorded");
		return NULL;
	}
	while (!stop) {
		struct fota_error err = {0};
		struct timespec ts;

		pthread_mutex_lock(&f->lock);
		if (n > 0) {
			/* The store refused the batch in hand: wait a moment before trying again.
			 */
			deadline_in(&ts, AUDIT_RETRY_MS);
			while (!f->stopping &&
			       pthread_cond_timedwait(&f->wake, &f->lock, &ts) != ETIMEDOUT)
				;
		} else {
			while (!f->stopping && f->n_pending == 0)
				pthread_cond_wait(&f->wake, &f->lock);
		}
		stop = f->stopping;
		if (n == 0 && f->n_pending > 0) {
			n = f->n_pending < AUDIT_BATCH ? f->n_pending : AUDIT_BATCH;
			memcpy(batch, f->pending, n * sizeof(*batch));
			memmove(f->pending, f->pending + n, (f->n_pending - n) * sizeof(*batch));
			f->n_pending -= n;
			pthread_cond_broadcast(&f->room);
		}
		/* At the end, whatever is still pending goes out too. */
		if (stop && f->n_pending > 0)
			stop = false;
		pthread_mutex_unlock(&f->lock);
		if (n == 0)
			continue;
		if (audit_write(f->audit_store, batch, n, &err) == FOTA_OK) {
			n = 0;
			reported = false;
		} else if (!reported) {
			/* Kept and retried: the store may come back (a database restart). */
			orch_log("audit trail: %s; %zu status changes wait for the store", err.msg,
				 n);
			reported = true;
		}
		if (n && stop) {
			orch_log("audit trail: %zu status changes not recorded at exit", n);
			n = 0;
		}
	}
	free(batch);
	return NULL;
}

fota_err orch_fleet_new(const struct orch_config *audit_cfg, orch_fleet_cb cb, void *ctx,
			struct orch_fleet **out, struct fota_error *err)
{
	struct orch_fleet *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the fleet view");
	f->cb = cb;
	f->ctx = ctx;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	pthread_cond_init(&f->room, NULL);
	if (audit_cfg) {
		fota_err rc = orch_open_store(audit_cfg, &f->audit_store, err);

		if (rc == FOTA_OK) {
			f->pending = malloc(AUDIT_PENDING_MAX * sizeof(*f->pending));
			if (!f->pending)
				rc = fota_error_set(err, FOTA_ERR_NOMEM,
						    "no memory for the audit trail");
		}
		if (rc == FOTA_OK && pthread_create(&f->writer, NULL, audit_writer, f) != 0)
			rc = fota_error_set(err, FOTA_ERR_NOMEM,
					    "cannot start the audit trail's writer");
		if (rc) {
			fota_error_prefix(err, "audit trail");
			orch_fleet_free(f);
			return rc;
		}
		f->writer_running = true;
	}
	*out = f;
	return FOTA_OK;
}

void orch_fleet_free(struct orch_fleet *f)
{
	if (!f)
		return;
	if (f->writer_running) {
		pthread_mutex_lock(&f->lock);
		f->stopping = true;
		pthread_cond_signal(&f->wake);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->writer, NULL);
	}
	orch_store_close(f->audit_store);
	pthread_cond_destroy(&f->wake);
	pthread_cond_destroy(&f->room);
	pthread_mutex_destroy(&f->lock);
	free(f->pending);
	free(f->devs);
	free(f);
}

/* Index of device, or of where it would be inserted (with *found false). */
static size_t find(const struct orch_fleet *f, const char *device, bool *found)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->devs[mid].s.device, device);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static bool is_change(const struct fota_status *a, const struct fota_status *b)
{
	return !a || a->state != b->state || a->result != b->result ||
	       strcmp(a->campaign, b->campaign) != 0 || strcmp(a->image_id, b->image_id) != 0;
}

/* Called with the lock held so the trail keeps the order in which statuses arrived. */
static void audit(struct orch_fleet *f, const struct fota_status *s)
{
	struct orch_audit *a;

	if (!f->writer_running)
		return;
	while (f->n_pending == AUDIT_PENDING_MAX && !f->stopping)
		pthread_cond_wait(&f->room, &f->lock);
	if (f->n_pending == AUDIT_PENDING_MAX)
		return;
	a = &f->pending[f->n_pending++];
	memset(a, 0, sizeof(*a));
	a->ts = fota_time_now();
	snprintf(a->device, sizeof(a->device), "%s", s->device);
	snprintf(a->state, sizeof(a->state), "%s", fota_state_name(s->state));
	snprintf(a->result, sizeof(a->result), "%s", fota_result_name(s->result));
	snprintf(a->reason, sizeof(a->reason), "%s", s->reason);
	snprintf(a->campaign, sizeof(a->campaign), "%s", s->campaign);
	snprintf(a->image_id, sizeof(a->image_id), "%s", s->image_id);
	snprintf(a->version, sizeof(a->version), "%s", s->version);
	/* The device's own time lets readers drop the replays of retained statuses that follow
	 * an orchestrator restart: same device, device_ts and state means the same event. */
	a->device_ts = s->timestamp;
	if (f->n_pending == 1)
		pthread_cond_signal(&f->wake); /* the writer may be idle: rows wait for nothing */
}

void orch_fleet_ingest(struct orch_fleet *f, const char *device, const uint8_t *payload, size_t len)
{
	struct fota_error err = {0};
	struct fota_status cur, prev;
	bool found = false, had_prev = false;
	size_t at;

	memset(&cur, 0, sizeof(cur));
	if (fota_status_parse(payload, len, &cur, &err)) {
		orch_log("status from %s ignored: %s", device, err.msg);
		return;
	}
	if (cur.device[0] && strcmp(cur.device, device) != 0)
		orch_log("status from %s names device '%s'; using the topic's", device, cur.device);
	snprintf(cur.device, sizeof(cur.device), "%s", device);

	pthread_mutex_lock(&f->lock);
	at = find(f, device, &found);
	if (found) {
		prev = f->devs[at].s;
		had_prev = true;
	} else {
		if (f->n == f->cap) {
			size_t ncap = f->cap ? f->cap * 2 : 64;
			struct entry *nd = realloc(f->devs, ncap * sizeof(*nd));

			if (!nd) {
				pthread_mutex_unlock(&f->lock);
				orch_log("status from %s dropped: out of memory", device);
				return;
			}
			f->devs = nd;
			f->cap = ncap;
		}
		memmove(&f->devs[at + 1], &f->devs[at], (f->n - at) * sizeof(*f->devs));
		f->n++;
	}
	f->devs[at].s = cur;
	f->devs[at].received_ms = fota_time_mono_ms();
	if (is_change(had_prev ? &prev : NULL, &cur))
		audit(f, &cur);
	pthread_mutex_unlock(&f->lock);
	if (f->cb)
		f->cb(f->ctx, had_prev ? &prev : NULL, &cur);
}

bool orch_fleet_get(struct orch_fleet *f, const char *device, struct fota_status *out,
		    int64_t *received_ms)
{
	bool found = false;
	size_t at;

	pthread_mutex_lock(&f->lock);
	at = find(f, device, &found);
	if (found) {
		*out = f->devs[at].s;
		if (received_ms)
			*received_ms = f->devs[at].received_ms;
	}
	pthread_mutex_unlock(&f->lock);
	return found;
}

size_t orch_fleet_snapshot(struct orch_fleet *f, struct fota_status **out)
{
	size_t n, i;

	pthread_mutex_lock(&f->lock);
	n = f->n;
	*out = malloc((n ? n : 1) * sizeof(**out));
	if (!*out) {
		pthread_mutex_unlock(&f->lock);
		return (size_t)-1;
	}
	for (i = 0; i < n; i++)
		(*out)[i] = f->devs[i].s;
	pthread_mutex_unlock(&f->lock);
	return n;
}

int orch_status_percent(const struct fota_status *s)
{
	if (s->chunk_count == 0)
		return -1;
	return (int)((uint64_t)s->chunks_present * 100 / s->chunk_count);
}
