/* SPDX-License-Identifier: Apache-2.0 */
/* Fair repair scheduling: per-device merged queues, round-robin turns, per-device buckets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repair_sched.h"

/* Requests that add nothing new, within one log interval, before a device counts as
 * flooding (an agent that re-asks while its first request waits sends a few). */
#define FLOOD_REDUNDANT 16

struct span {
	uint32_t first, end; /* [first, end) */
};

struct dev {
	bool used;
	bool in_ring;
	uint32_t hash;
	char id[FOTA_MAX_SEGMENT_LEN + 1];
	bool has_image;
	uint8_t image[FOTA_IMAGE_ID_LEN];
	bool table;
	struct span r[ORCH_REPAIR_DEVICE_RANGES]; /* sorted, disjoint, not adjacent */
	size_t n;
	uint32_t pending;
	uint32_t burst_chunks; /* handed out since the queue was last empty */
	bool burst_table;
	double tokens;
	int64_t last_ms;
	/* Flood accounting since f_since. */
	int64_t f_since, f_reported;
	/* Reported as a flood, and not yet a whole interval without flooding since: its served
	 * chunks are in its flood lines, not in one line per emptied queue. */
	bool f_logged;
	uint64_t f_requests, f_redundant, f_duplicate, f_dropped, f_served;
};

/* Open-addressing index from device id to slot: twice the slots, a power of two. */
#define INDEX_SIZE (2u * ORCH_REPAIR_MAX_DEVICES)

struct orch_rsched {
	uint64_t rate, burst;
	struct dev *devs; /* ORCH_REPAIR_MAX_DEVICES; pages of unused slots are never touched */
	size_t *ring;	  /* indices of devices with work, in turn order */
	size_t ring_head, ring_len;
	uint32_t *index;  /* INDEX_SIZE entries: slot + 1, 0 for empty */
	size_t scan_from; /* where the search for a free slot starts */
	uint64_t queued;
};

struct orch_rsched *orch_rsched_new(uint64_t device_rate, uint64_t device_burst)
{
	struct orch_rsched *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->devs = calloc(ORCH_REPAIR_MAX_DEVICES, sizeof(*s->devs));
	s->ring = calloc(ORCH_REPAIR_MAX_DEVICES, sizeof(*s->ring));
	s->index = calloc(INDEX_SIZE, sizeof(*s->index));
	if (!s->devs || !s->ring || !s->index) {
		orch_rsched_free(s);
		return NULL;
	}
	s->rate = device_rate;
	s->burst = device_burst ? device_burst : 1;
	return s;
}

void orch_rsched_free(struct orch_rsched *s)
{
	if (!s)
		return;
	free(s->devs);
	free(s->ring);
	free(s->index);
	free(s);
}

static uint32_t hash_id(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h;
}

static void refill(const struct orch_rsched *s, struct dev *d, int64_t now)
{
	if (s->rate == 0 || now <= d->last_ms)
		return;
	d->tokens += (double)(now - d->last_ms) * (double)s->rate / 1000.0;
	if (d->tokens > (double)s->burst)
		d->tokens = (double)s->burst;
	d->last_ms = now;
}

static bool has_work(const struct dev *d)
{
	return d->pending > 0 || d->table;
}

/* A device that has nothing queued and a full bucket is remembered for nothing. */
static bool idle(const struct orch_rsched *s, struct dev *d, int64_t now)
{
	if (!d->used)
		return true;
	if (d->in_ring || has_work(d))
		return false;
	refill(s, d, now);
	return s->rate == 0 || d->tokens >= (double)s->burst;
}

/* Index position holding id, or the empty one where it would go. */
static size_t index_pos(const struct orch_rsched *s, const char *id, uint32_t h)
{
	size_t pos = h & (INDEX_SIZE - 1);

	while (s->index[pos]) {
		const struct dev *d = &s->devs[s->index[pos] - 1];

		if (d->hash == h && strcmp(d->id, id) == 0)
			break;
		pos = (pos + 1) & (INDEX_SIZE - 1);
	}
	return pos;
}

/* Removes the entry at pos, moving later entries of its probe run back (no tombstones). */
static void index_remove(struct orch_rsched *s, size_t pos)
{
	size_t next = pos;

	s->index[pos] = 0;
	for (;;) {
		size_t home;

		next = (next + 1) & (INDEX_SIZE - 1);
		if (!s->index[next])
			return;
		home = s->devs[s->index[next] - 1].hash & (INDEX_SIZE - 1);
		/* The entry may move to pos unless its home lies cyclically in (pos, next]. */
		if ((next > pos && (home <= pos || home > next)) ||
		    (next < pos && home <= pos && home > next)) {
			s->index[pos] = s->index[next];
			s->index[next] = 0;
			pos = next;
		}
	}
}

static struct dev *find(struct orch_rsched *s, const char *id, uint32_t h)
{
	size_t pos = index_pos(s, id, h);

	return s->index[pos] ? &s->devs[s->index[pos] - 1] : NULL;
}

static struct dev *find_or_add(struct orch_rsched *s, const char *id, int64_t now)
{
	uint32_t h = hash_id(id);
	struct dev *d = find(s, id, h);
	size_t i, k;

	if (d)
		return d;
	/* The next free slot after the last one taken: slots are reused in turn, and a full
	 * table is seen after one pass. */
	for (k = 0; k < ORCH_REPAIR_MAX_DEVICES; k++) {
		i = (s->scan_from + k) % ORCH_REPAIR_MAX_DEVICES;
		if (idle(s, &s->devs[i], now))
			break;
	}
	if (k == ORCH_REPAIR_MAX_DEVICES)
		return NULL;
	s->scan_from = (i + 1) % ORCH_REPAIR_MAX_DEVICES;
	d = &s->devs[i];
	if (d->used)
		index_remove(s, index_pos(s, d->id, d->hash));
	memset(d, 0, sizeof(*d));
	d->used = true;
	d->hash = h;
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->tokens = (double)s->burst;
	d->last_ms = now;
	d->f_since = now;
	d->f_reported = now - ORCH_REPAIR_FLOOD_LOG_MS;
	s->index[index_pos(s, id, h)] = (uint32_t)(i + 1);
	return d;
}

static void clear_queue(struct orch_rsched *s, struct dev *d)
{
	s->queued -= d->pending;
	d->n = 0;
	d->pending = 0;
	d->table = false;
}

/* Inserts [a, b), which overlaps nothing queued, coalescing with neighbours. False if it
 * would need one range more than the device may have. */
static bool insert_gap(struct dev *d, uint32_t a, uint32_t b)
{
	size_t i = 0;
	bool left, right;

	while (i < d->n && d->r[i].first < a)
		i++;
	left = i > 0 && d->r[i - 1].end == a;
	right = i < d->n && d->r[i].first == b;
	if (left && right) {
		d->r[i - 1].end = d->r[i].end;
		memmove(&d->r[i], &d->r[i + 1], (d->n - i - 1) * sizeof(d->r[0]));
		d->n--;
	} else if (left) {
		d->r[i - 1].end = b;
	} else if (right) {
		d->r[i].first = a;
	} else {
		if (d->n == ORCH_REPAIR_DEVICE_RANGES)
			return false;
		memmove(&d->r[i + 1], &d->r[i], (d->n - i) * sizeof(d->r[0]));
		d->r[i].first = a;
		d->r[i].end = b;
		d->n++;
	}
	return true;
}

/* Merges [a, b) into the queue: only what is not queued yet, within the caps. */
static void add_range(struct orch_rsched *s, struct dev *d, uint32_t a, uint32_t b,
		      struct orch_rsched_added *out)
{
	struct span gaps[ORCH_REPAIR_DEVICE_RANGES + 1];
	size_t n = 0, i;
	uint32_t pos = a, fresh = 0;

	for (i = 0; i < d->n && pos < b; i++) {
		if (d->r[i].end <= pos)
			continue;
		if (d->r[i].first >= b)
			break;
		if (d->r[i].first > pos)
			gaps[n++] = (struct span){pos, d->r[i].first};
		pos = d->r[i].end;
	}
	if (pos < b)
		gaps[n++] = (struct span){pos, b};
	for (i = 0; i < n; i++)
		fresh += gaps[i].end - gaps[i].first;
	out->duplicate += (b - a) - fresh;
	for (i = 0; i < n; i++) {
		uint32_t room = ORCH_REPAIR_DEVICE_CHUNKS - d->pending;
		uint32_t len = gaps[i].end - gaps[i].first;

		if (len > room)
			len = room;
		if (len == 0 || !insert_gap(d, gaps[i].first, gaps[i].first + len)) {
			out->dropped += gaps[i].end - gaps[i].first;
			continue;
		}
		out->dropped += gaps[i].end - gaps[i].first - len;
		out->queued += len;
		d->pending += len;
		s->queued += len;
	}
}

static void ring_push(struct orch_rsched *s, struct dev *d)
{
	s->ring[(s->ring_head + s->ring_len) % ORCH_REPAIR_MAX_DEVICES] = (size_t)(d - s->devs);
	s->ring_len++;
	d->in_ring = true;
}

static bool flooding(const struct dev *d)
{
	return d->f_dropped > 0 || d->f_redundant >= FLOOD_REDUNDANT;
}

static void account(struct dev *d, const struct orch_rsched_added *a, int64_t now,
		    struct orch_rsched_added *out)
{
	if (now - d->f_since >= ORCH_REPAIR_FLOOD_LOG_MS && !flooding(d)) {
		d->f_requests = d->f_redundant = d->f_duplicate = d->f_dropped = d->f_served = 0;
		d->f_since = now;
		d->f_logged = false;
	}
	d->f_requests++;
	d->f_redundant += a->queued == 0 && !a->table;
	d->f_duplicate += a->duplicate;
	d->f_dropped += a->dropped;
	if (!flooding(d) || now - d->f_reported < ORCH_REPAIR_FLOOD_LOG_MS)
		return;
	out->report = true;
	out->flood_requests = d->f_requests;
	out->flood_duplicate = d->f_duplicate;
	out->flood_dropped = d->f_dropped;
	out->flood_served = d->f_served;
	out->flood_ms = now - d->f_since;
	d->f_logged = true;
	d->f_requests = d->f_redundant = d->f_duplicate = d->f_dropped = d->f_served = 0;
	d->f_since = d->f_reported = now;
}

void orch_rsched_add(struct orch_rsched *s, const char *device, const struct fota_request *req,
		     int64_t now_ms, struct orch_rsched_added *out)
{
	struct dev *d;
	size_t i;

	memset(out, 0, sizeof(*out));
	d = find_or_add(s, device, now_ms);
	if (!d) {
		out->no_room = true;
		out->dropped = fota_request_total_chunks(req);
		return;
	}
	if (d->has_image && memcmp(d->image, req->image_id, FOTA_IMAGE_ID_LEN) != 0 &&
	    has_work(d)) {
		/* A device works on one image; it moved on, so the old one is of no use. */
		clear_queue(s, d);
		d->burst_chunks = 0;
		d->burst_table = false;
		out->replaced = true;
	}
	memcpy(d->image, req->image_id, FOTA_IMAGE_ID_LEN);
	d->has_image = true;
	if (req->want_table && !d->table) {
		d->table = true;
		out->table = true;
	}
	for (i = 0; i < req->n_ranges; i++)
		add_range(s, d, req->ranges[i].first, req->ranges[i].first + req->ranges[i].count,
			  out);
	if (has_work(d) && !d->in_ring)
		ring_push(s, d);
	account(d, out, now_ms, out);
}

/* Moves up to ORCH_REPAIR_TURN_CHUNKS chunks (and the table) from d's queue into turn. */
static void take_turn(struct orch_rsched *s, struct dev *d, struct orch_rsched_turn *turn)
{
	uint32_t left = ORCH_REPAIR_TURN_CHUNKS;

	memset(turn, 0, sizeof(*turn));
	snprintf(turn->device, sizeof(turn->device), "%s", d->id);
	memcpy(turn->image_id, d->image, FOTA_IMAGE_ID_LEN);
	turn->table = d->table;
	d->table = false;
	while (left > 0 && d->n > 0) {
		struct span *r = &d->r[0];
		uint32_t len = r->end - r->first;

		if (len > left)
			len = left;
		turn->ranges[turn->n_ranges++] = (struct fota_range){r->first, len};
		r->first += len;
		left -= len;
		d->pending -= len;
		s->queued -= len;
		if (r->first == r->end) {
			memmove(&d->r[0], &d->r[1], (d->n - 1) * sizeof(d->r[0]));
			d->n--;
		}
	}
	d->burst_chunks += ORCH_REPAIR_TURN_CHUNKS - left;
	d->burst_table |= turn->table;
	d->f_served += ORCH_REPAIR_TURN_CHUNKS - left;
	turn->finished = !has_work(d);
	turn->burst_chunks = d->burst_chunks;
	turn->burst_table = d->burst_table;
	turn->flooding = d->f_logged;
	if (turn->finished) {
		d->burst_chunks = 0;
		d->burst_table = false;
	}
}

enum orch_rsched_next orch_rsched_next(struct orch_rsched *s, int64_t now_ms,
				       struct orch_rsched_turn *turn, int64_t *wait_ms)
{
	size_t tries = s->ring_len;
	int64_t wait = -1;

	while (tries-- > 0) {
		struct dev *d = &s->devs[s->ring[s->ring_head]];

		s->ring_head = (s->ring_head + 1) % ORCH_REPAIR_MAX_DEVICES;
		s->ring_len--;
		d->in_ring = false;
		if (!has_work(d))
			continue;
		refill(s, d, now_ms);
		if (s->rate && d->tokens <= 0) {
			int64_t w = (int64_t)(-d->tokens * 1000.0 / (double)s->rate) + 1;

			if (wait < 0 || w < wait)
				wait = w;
			ring_push(s, d); /* keeps its place in the order */
			continue;
		}
		take_turn(s, d, turn);
		if (has_work(d))
			ring_push(s, d);
		return ORCH_RSCHED_TURN;
	}
	if (wait < 0)
		return ORCH_RSCHED_IDLE;
	*wait_ms = wait;
	return ORCH_RSCHED_WAIT;
}

void orch_rsched_charge(struct orch_rsched *s, const char *device, uint64_t bytes, int64_t now_ms)
{
	struct dev *d = find(s, device, hash_id(device));

	if (!d || s->rate == 0)
		return;
	refill(s, d, now_ms);
	d->tokens -= (double)bytes;
}

void orch_rsched_drop(struct orch_rsched *s, const char *device)
{
	struct dev *d = find(s, device, hash_id(device));

	if (d) {
		clear_queue(s, d);
		d->burst_chunks = 0;
		d->burst_table = false;
	}
}

uint64_t orch_rsched_queued(const struct orch_rsched *s)
{
	return s->queued;
}

size_t orch_rsched_waiting_devices(const struct orch_rsched *s)
{
	size_t n = 0;

	for (size_t i = 0; i < ORCH_REPAIR_MAX_DEVICES; i++)
		n += s->devs[i].used && has_work(&s->devs[i]);
	return n;
}
