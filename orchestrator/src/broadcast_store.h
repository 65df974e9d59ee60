/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: broadcasts in the store, so that they survive restarts. */
#ifndef ORCH_BROADCAST_STORE_H
#define ORCH_BROADCAST_STORE_H

#include "broadcaster.h"
#include "store.h"

/* The store lock (orch_store_ops.lock_try) that makes one orchestrator instance the owner of
 * the broadcasts of image_id to group: held while this instance queues or runs one, lost
 * with the instance's database connection. */
#define ORCH_BCAST_OWNER_LEN (FOTA_MAX_SEGMENT_LEN + FOTA_IMAGE_ID_HEX_LEN + 16)
void orch_bcast_owner_name(char out[ORCH_BCAST_OWNER_LEN], const char *group, const char *image_id);

/* Whether this instance's broadcaster queues or runs a broadcast of image_id to group. */
bool orch_bcast_local(struct orch_broadcaster *b, const char *group, const char *image_id);

/* Active rows looked at per call; more wait for the next one. */
#define ORCH_BCAST_ROWS_PER_SYNC 64

/*
 * One transaction: every finished broadcast becomes a campaign event ("broadcast", with what
 * the broker acknowledged) and its row says how it ended, and the instance gives up its
 * ownership; every queued or running one has an active row with the chunk up to which the
 * broker acknowledged it. An active row with no broadcast of this instance behind it is left
 * to the instance that owns it; one nobody owns (its instance died, or a pause dropped it
 * while queued) is taken over: resumed where the broker's acknowledgements end if its
 * campaign still runs, else marked "stopped". Called by the engine every tick.
 */
void orch_broadcasts_sync(struct orch_store *st, struct orch_broadcaster *b);

/*
 * At daemon start, before the first engine step: queues every broadcast a previous daemon
 * (or a dead instance: one no other instance owns) left active (killed, stopped, or cut off from
 * the broker before it recorded the end) from the first chunk the broker had not acknowledged, if
 * its campaign still runs; marks the others "stopped". Returns how many it resumed.
 */
unsigned orch_broadcasts_resume(struct orch_store *st, struct orch_broadcaster *b);

#endif
