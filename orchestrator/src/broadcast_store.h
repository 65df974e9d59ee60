/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: broadcasts in the store, so that they survive restarts. */
#ifndef ORCH_BROADCAST_STORE_H
#define ORCH_BROADCAST_STORE_H

#include "broadcaster.h"
#include "store.h"

/* Active rows looked at per call; more wait for the next one. */
#define ORCH_BCAST_ROWS_PER_SYNC 64

/*
 * One transaction: every finished broadcast becomes a campaign event ("broadcast", with what
 * the broker acknowledged) and its row says how it ended; every queued or running one has an
 * active row with the chunk up to which the broker acknowledged it; an active row with no
 * broadcast behind it (dropped while queued by a pause) becomes "stopped". Called by the
 * engine every tick.
 */
void orch_broadcasts_sync(struct orch_store *st, struct orch_broadcaster *b);

/*
 * At daemon start, before the first engine step: queues every broadcast a previous daemon
 * left active (killed, stopped, or cut off from the broker before it recorded the end) from
 * the first chunk the broker had not acknowledged, if its campaign still runs; marks the
 * others "stopped". Returns how many it resumed.
 */
unsigned orch_broadcasts_resume(struct orch_store *st, struct orch_broadcaster *b);

#endif
