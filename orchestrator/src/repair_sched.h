/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the fair repair scheduler, a pure data structure. */
#ifndef ORCH_REPAIR_SCHED_H
#define ORCH_REPAIR_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/limits.h"
#include "fota/request.h"

/*
 * What devices asked for and whose turn it is. Each device has one queue (one image, the
 * table or not, a set of disjoint chunk ranges); a new request merges into it, so a repeated
 * or overlapping request adds nothing. Devices are served round-robin, ORCH_REPAIR_TURN_CHUNKS
 * chunks per turn, and each draws from its own token bucket, so a device that floods requests
 * gets its turns like any other and no more bytes per second than its bucket allows.
 *
 * No threads, no clock, no I/O: the caller passes the time (milliseconds on any monotonic
 * clock) and locks around every call. Unit-tested in tests/unit/check_repair_sched.c.
 */

/* Devices with queued chunks or a bucket still refilling; requests from more are dropped (the
 * device asks again after its gap timeout). Enough for every device of a large campaign to
 * wait at once: about 1.3 KiB each, allocated as used (a 2,000-device campaign in which each
 * device repaired overflowed the former 1,024). */
#define ORCH_REPAIR_MAX_DEVICES 16384
/* Chunks one device may have queued: one largest request. The rest is dropped; the device
 * asks again for what it still misses. */
#define ORCH_REPAIR_DEVICE_CHUNKS FOTA_MAX_REQUEST_CHUNKS
/* Disjoint ranges one device may have queued. */
#define ORCH_REPAIR_DEVICE_RANGES (2 * FOTA_MAX_REQUEST_RANGES)
/* Chunks served to one device before the next device's turn. */
#define ORCH_REPAIR_TURN_CHUNKS 8
/* What one device may draw: 16 MiB per second (one largest request of 64 KiB chunks), after
 * a burst of as much. */
#define ORCH_REPAIR_DEVICE_RATE (16ull * 1024 * 1024)
#define ORCH_REPAIR_DEVICE_BURST (16ull * 1024 * 1024)
/* A device whose requests add nothing new or overflow its queue is logged at most this
 * often. */
#define ORCH_REPAIR_FLOOD_LOG_MS 10000

struct orch_rsched;

/* rate 0: no per-device limit. NULL on allocation failure. */
struct orch_rsched *orch_rsched_new(uint64_t device_rate, uint64_t device_burst);
void orch_rsched_free(struct orch_rsched *s); /* NULL is a no-op */

/* What orch_rsched_add did with one request. */
struct orch_rsched_added {
	uint32_t queued;    /* chunks newly queued */
	uint32_t duplicate; /* chunks that were queued already */
	uint32_t dropped;   /* chunks over the device's caps */
	bool table;	    /* the table was newly queued */
	bool replaced;	    /* the request named another image: the old queue was dropped */
	bool no_room;	    /* ORCH_REPAIR_MAX_DEVICES busy devices: the request was dropped */
	/* Set at most once per ORCH_REPAIR_FLOOD_LOG_MS per device, when requests since the last
	 * report added nothing or overflowed: totals since then, for one log line. */
	bool report;
	uint64_t flood_requests, flood_duplicate, flood_dropped, flood_served;
	int64_t flood_ms; /* the span they cover */
};

/* Merges req into the device's queue. */
void orch_rsched_add(struct orch_rsched *s, const char *device, const struct fota_request *req,
		     int64_t now_ms, struct orch_rsched_added *out);

/* One turn: the table (if asked) and up to ORCH_REPAIR_TURN_CHUNKS chunks, lowest first. */
struct orch_rsched_turn {
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	uint8_t image_id[FOTA_IMAGE_ID_LEN];
	bool table;
	struct fota_range ranges[ORCH_REPAIR_TURN_CHUNKS];
	size_t n_ranges;
	/* This turn emptied the queue: what the device was handed since its queue was last
	 * empty, for one log line per burst of requests rather than one per turn. */
	bool finished;
	uint32_t burst_chunks;
	bool burst_table;
	/* The device was reported as a flood (orch_rsched_added.report) and has not had a whole
	 * ORCH_REPAIR_FLOOD_LOG_MS without flooding since: its flood lines count what it is
	 * served, so the caller logs no line per emptied queue for it. */
	bool flooding;
};

enum orch_rsched_next {
	ORCH_RSCHED_IDLE = 0, /* nothing queued */
	ORCH_RSCHED_TURN,     /* *turn filled and taken off the queue */
	ORCH_RSCHED_WAIT,     /* every device with work is over its rate: ask again in *wait_ms */
};

/* The next device in round-robin order whose bucket is not empty. */
enum orch_rsched_next orch_rsched_next(struct orch_rsched *s, int64_t now_ms,
				       struct orch_rsched_turn *turn, int64_t *wait_ms);

/* Charges bytes sent to the device's bucket (it may go into debt: the next turns wait). */
void orch_rsched_charge(struct orch_rsched *s, const char *device, uint64_t bytes, int64_t now_ms);

/* Drops the device's queue (its image is unknown or its ranges are beyond the image). */
void orch_rsched_drop(struct orch_rsched *s, const char *device);

/* Chunks queued over all devices, and devices with something queued. */
uint64_t orch_rsched_queued(const struct orch_rsched *s);
size_t orch_rsched_waiting_devices(const struct orch_rsched *s);

#endif
