/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How long the link may stay quiet before a device asks for repairs; the agent and the fleet
 * simulator share the rule. The configured gap_ms is the floor; on a link slower than one chunk
 * per gap_ms the gap follows the pace at which verified frames actually arrive, so the device
 * does not ask for chunks that are merely still on their way.
 */
#ifndef FOTA_REPAIR_GAP_H
#define FOTA_REPAIR_GAP_H

#include <stdbool.h>
#include <stdint.h>

/* The gap never exceeds this (or the floor, if higher): the stall timeout and max_retries
 * end a transfer that has really stopped. */
#define REPAIR_GAP_MAX_MS 60000u
/* A broadcast normally starts right behind the table; after this many gap floors without its
 * first frame, its start is overdue (a late joiner, a restart after it ended, a campaign that
 * sends none) and the device repairs. */
#define REPAIR_GAP_BROADCAST_START 5
/* A broadcast that fell silent for this many repair gaps is over (or dead): until then the
 * chunks above the highest one it brought are on their way and are not asked for. */
#define REPAIR_GAP_BROADCAST_OVER 10

struct repair_gap {
	uint32_t floor_ms;
	bool have_last;	 /* a frame arrived since the start or the last break */
	int64_t last_ms; /* monotonic time of that frame */
	int64_t mean_ms; /* smoothed inter-arrival time; 0: no sample yet */
	int64_t dev_ms;	 /* smoothed mean deviation of the inter-arrival time */
};

void repair_gap_init(struct repair_gap *g, uint32_t floor_ms);
/* A verified frame (new or not) arrived at now_ms. The interval since the previous one is a
 * sample of the link's pace unless a break came between, or it is longer than
 * REPAIR_GAP_MAX_MS (then the stream had stopped, a broadcast paused: it was not slow). */
void repair_gap_frame(struct repair_gap *g, int64_t now_ms);
/* A repair request went out: the next interval includes its round trip, not the link's pace. */
void repair_gap_break(struct repair_gap *g);
/* max(floor, mean + 4 x deviation), at most max(floor, REPAIR_GAP_MAX_MS). */
uint32_t repair_gap_ms(const struct repair_gap *g);

/* When a device may ask, as the agent and the fleet simulator both decide it. bcast_next is one
 * above the highest chunk the broadcast it follows brought (0: none yet), last_bcast_ms when its
 * last frame came, table_ms when the image's chunk table opened (its broadcast is due from
 * then). */

/* True while the device waits for its broadcast's first frame: before it, every chunk the
 * broadcast brings would be fetched twice. Until REPAIR_GAP_BROADCAST_START floors after the
 * table; then the start is overdue and the device repairs. */
bool repair_gap_await_broadcast(const struct repair_gap *g, uint32_t bcast_next, int64_t table_ms,
				int64_t now_ms);
/* How long after its previous request a device asks again when that one brought no new chunk:
 * gap_ms doubled per such request (retries), up to 2^REPAIR_GAP_BACKOFF_SHIFTS x gap_ms. A
 * request that brings nothing (lost, or cut because the broadcast brings the chunks) is not
 * repeated at the pace of the gap while the device waits. */
#define REPAIR_GAP_BACKOFF_SHIFTS 5
int64_t repair_gap_backoff_ms(uint32_t gap_ms, unsigned retries);
/* What a request may ask for lies below this. While the broadcast is under way (a frame came
 * within REPAIR_GAP_BROADCAST_OVER repair gaps) the chunks above the highest one it brought are
 * on their way, queued in the broker or the link: bcast_next. Otherwise UINT32_MAX: a broadcast
 * that fell silent is over (or dead), and everything missing may be asked for. */
uint32_t repair_gap_limit(const struct repair_gap *g, uint32_t bcast_next, int64_t last_bcast_ms,
			  int64_t now_ms);

#endif
