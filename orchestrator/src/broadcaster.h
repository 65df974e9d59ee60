/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the worker that broadcasts campaign images to groups. */
#ifndef ORCH_BROADCASTER_H
#define ORCH_BROADCASTER_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/limits.h"

#include "config.h"
#include "publisher.h"

/* A broadcast is worth it from this many devices waiting for the image on; a single device
 * fetches the image by repair requests just as cheaply, without loading every group member's
 * link. */
#define ORCH_BROADCAST_MIN_DEVICES 2
/* Broadcasts (one per group and image) queued or running at once; more requests are left to
 * repair. */
#define ORCH_BROADCAST_JOBS 16
/* Finished broadcasts waiting for the engine to record them; older ones are dropped. */
#define ORCH_BROADCAST_RESULTS 64

/* Where the broadcast of one image to one group stands. */
enum orch_bcast_phase {
	ORCH_BCAST_IDLE = 0,
	ORCH_BCAST_QUEUED,
	ORCH_BCAST_RUNNING,
};

/* What a request did. */
enum orch_bcast_action {
	ORCH_BCAST_SKIPPED = 0, /* too few devices or too small a share: repair serves them */
	ORCH_BCAST_STARTED,	/* queued for the worker */
	ORCH_BCAST_COVERED,	/* a queued or running broadcast already serves them */
	ORCH_BCAST_AGAIN,	/* one more broadcast runs after the current one */
};

const char *orch_bcast_action_name(enum orch_bcast_action a);

/*
 * Whether a group broadcast pays for `devices` devices out of a group of `members` registered
 * members, or each device should fetch the image by unicast repair instead. The broker
 * sends a broadcast to every connected member: one copy in and `members` out, against one in
 * and one out per device for unicast. So a broadcast pays from ORCH_BROADCAST_MIN_DEVICES
 * devices when members + 1 <= 2 x devices, i.e. when more than half the group needs the image;
 * members below devices (unregistered listed devices) count as devices.
 */
bool orch_broadcast_pays(uint32_t devices, uint32_t members);

/*
 * The coalescing rule, pure for tests. A directive wants the image for `devices` devices,
 * `fresh` of them admitted by that very directive, in a group of `members` registered members
 * (orch_broadcast_pays). stopping: the running broadcast was told to stop (paused);
 * *fresh_since counts devices admitted since the running one started.
 */
enum orch_bcast_action orch_broadcast_decide(enum orch_bcast_phase phase, bool stopping,
					     uint32_t *fresh_since, uint32_t devices,
					     uint32_t fresh, uint32_t members);

/*
 * The grace period after a broadcast ended: the broker acknowledged every chunk, but may still
 * hold copies in its per-client queues or be writing them to a slow subscriber, so a device
 * that asks for chunks then may merely not have them yet. Until duration_ms (how long the
 * broadcast ran) has passed again after ended_ms, and never longer than
 * ORCH_BROADCAST_GRACE_MAX_MS, repair leaves the broadcast's chunks to it
 * (docs/orchestrator.md, "Repair protocol"). A broker that drains its queues at least half as
 * fast as the broadcast filled them is done by then; past it, every request is served in full.
 */
#define ORCH_BROADCAST_GRACE_MAX_MS 30000
bool orch_broadcast_in_grace(int64_t duration_ms, int64_t ended_ms, int64_t now_ms);

enum orch_bcast_end {
	ORCH_BCAST_DONE = 0, /* every chunk went out */
	ORCH_BCAST_STOPPED,  /* the campaign was paused or aborted, or the daemon stopped */
	ORCH_BCAST_FAILED,   /* devices repair what they miss */
};

const char *orch_bcast_end_name(enum orch_bcast_end e);

struct orch_broadcast_result {
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint32_t devices; /* how many it was run for */
	uint32_t chunk_count;
	enum orch_bcast_end end;
	struct orch_broadcast_stats stats; /* stats.acked: what the broker acknowledged */
	char msg[FOTA_ERROR_MSG_MAX];	   /* why it stopped or failed */
};

/* A queued or running broadcast, for the engine to persist so that a restart resumes it. */
struct orch_broadcast_progress {
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint32_t devices;
	uint32_t chunk_count; /* 0 until it started */
	/* Every chunk below this was acknowledged by the broker (queued: where it will start). */
	uint32_t next_chunk;
};

struct orch_broadcaster;

/* Starts the worker thread. cfg and pub must outlive the broadcaster. */
fota_err orch_broadcaster_new(const struct orch_config *cfg, const struct orch_publisher *pub,
			      struct orch_broadcaster **out, struct fota_error *err);
/* Stops the running broadcast between two chunks, joins the worker and frees; NULL is a
 * no-op. */
void orch_broadcaster_free(struct orch_broadcaster *b);

/* Never blocks on the network: queues, coalesces or skips (orch_broadcast_decide). */
enum orch_bcast_action orch_broadcaster_request(struct orch_broadcaster *b, const char *campaign,
						const char *group, const char *image_id,
						uint32_t devices, uint32_t fresh, uint32_t members);

/* Queues the broadcast of image_id to group from chunk `first` on, as a restarted daemon
 * continues one it had not finished; ORCH_BCAST_COVERED if one is queued or running already,
 * ORCH_BCAST_SKIPPED if every slot is taken. */
enum orch_bcast_action orch_broadcaster_resume(struct orch_broadcaster *b, const char *campaign,
					       const char *group, const char *image_id,
					       uint32_t devices, uint32_t first);

/* Copies up to max queued or running broadcasts into out; returns how many. */
size_t orch_broadcaster_progress(struct orch_broadcaster *b, struct orch_broadcast_progress *out,
				 size_t max);

/* Whether a broadcast of image_id to group is queued or running (and not told to stop), and if
 * so *next: the first chunk the broker has not acknowledged yet. Every chunk from *next on
 * still goes to each connected member of the group. Also true, with *ended set and *next the
 * chunk it started at, for a broadcast that sent and had acknowledged every chunk and is
 * within its grace period (orch_broadcast_in_grace): its chunks may still be on their way. */
bool orch_broadcaster_ahead(struct orch_broadcaster *b, const char *group, const char *image_id,
			    uint32_t *next, bool *ended);

/* Drops queued broadcasts of the campaign and stops its running one before the next chunk. */
void orch_broadcaster_stop(struct orch_broadcaster *b, const char *campaign);

/* Takes the oldest finished broadcast (false: none) so the caller can record it. */
bool orch_broadcaster_take_result(struct orch_broadcaster *b, struct orch_broadcast_result *out);

/* What the broadcasts sent since the broadcaster started, added as each one ends (done,
 * stopped or failed). */
struct orch_broadcaster_stats {
	uint64_t chunks; /* chunk frames published */
	uint64_t bytes;	 /* their bytes, frame headers included */
};

void orch_broadcaster_get_stats(struct orch_broadcaster *b, struct orch_broadcaster_stats *out);

/* True while a broadcast is queued or running. */
bool orch_broadcaster_busy(struct orch_broadcaster *b);

#endif
