/* SPDX-License-Identifier: Apache-2.0 */
/* Fleet view: latest status per device (sorted array) and an append-only JSON-lines audit log. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fota/timeutil.h"

#include "cmd.h"
#include "fleet.h"

/* The audit log is synced at most this often: a state change is rare per device, but a
 * restart replays every retained status at once. */
#define AUDIT_SYNC_INTERVAL_MS 1000

struct entry {
	struct fota_status s;
	int64_t received_ms; /* monotonic time of the latest report */
};

struct orch_fleet {
	pthread_mutex_t lock;
	struct entry *devs; /* sorted by device */
	size_t n, cap;
	int audit_fd;
	char *audit_path;
	int64_t last_sync_ms;
	bool dirty;
	orch_fleet_cb cb;
	void *ctx;
};

fota_err orch_fleet_new(const char *events_path, orch_fleet_cb cb, void *ctx,
			struct orch_fleet **out, struct fota_error *err)
{
	struct orch_fleet *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the fleet view");
	f->audit_fd = -1;
	f->cb = cb;
	f->ctx = ctx;
	pthread_mutex_init(&f->lock, NULL);
	if (events_path) {
		f->audit_path = strdup(events_path);
		f->audit_fd = open(events_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (!f->audit_path || f->audit_fd < 0) {
			fota_error_set(err, FOTA_ERR_IO, "cannot open audit log %s: %s",
				       events_path, strerror(errno));
			orch_fleet_free(f);
			return err ? err->code : FOTA_ERR_IO;
		}
	}
	*out = f;
	return FOTA_OK;
}

void orch_fleet_free(struct orch_fleet *f)
{
	if (!f)
		return;
	if (f->audit_fd >= 0) {
		if (f->dirty)
			fdatasync(f->audit_fd);
		close(f->audit_fd);
	}
	pthread_mutex_destroy(&f->lock);
	free(f->audit_path);
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

/* Called with the lock held so lines keep the order in which statuses arrived. */
static void audit(struct orch_fleet *f, const struct fota_status *s)
{
	char ts[FOTA_TIME_STR_LEN], dts[FOTA_TIME_STR_LEN];
	cJSON *o;
	char *line = NULL;
	size_t len, off = 0;
	int64_t now;

	if (f->audit_fd < 0)
		return;
	o = cJSON_CreateObject();
	if (!o)
		goto fail;
	fota_time_format(fota_time_now(), ts);
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddStringToObject(o, "device", s->device);
	cJSON_AddStringToObject(o, "state", fota_state_name(s->state));
	cJSON_AddStringToObject(o, "result", fota_result_name(s->result));
	cJSON_AddStringToObject(o, "reason", s->reason);
	cJSON_AddStringToObject(o, "campaign", s->campaign);
	cJSON_AddStringToObject(o, "image", s->image_id);
	cJSON_AddStringToObject(o, "version", s->version);
	/* The device's own time lets readers drop the replays of retained statuses that follow
	 * an orchestrator restart: same device, device_ts and state means the same event. */
	fota_time_format(s->timestamp, dts);
	cJSON_AddStringToObject(o, "device_ts", dts);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		goto fail;
	len = strlen(line);
	line[len++] = '\n'; /* replaces the NUL; the line is written by length */
	/* One write() per line with O_APPEND keeps lines whole even with several writers. */
	while (off < len) {
		ssize_t n = write(f->audit_fd, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			orch_log("audit log %s: %s", f->audit_path, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	free(line);
	f->dirty = true;
	now = fota_time_mono_ms();
	if (now - f->last_sync_ms >= AUDIT_SYNC_INTERVAL_MS) {
		fdatasync(f->audit_fd);
		f->last_sync_ms = now;
		f->dirty = false;
	}
	return;
fail:
	orch_log("audit log %s: out of memory, event of %s not recorded", f->audit_path, s->device);
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
