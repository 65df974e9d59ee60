/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repair gap follows the frame inter-arrival time with the estimator TCP uses for its
 * retransmission timeout (RFC 6298: smoothed mean with gain 1/8, mean deviation with gain 1/4,
 * timeout = mean + 4 x deviation): steady frames give a gap just above their spacing, a jittery
 * lossy link a wider one.
 */
#include <string.h>

#include "fota/repair_gap.h"

void repair_gap_init(struct repair_gap *g, uint32_t floor_ms)
{
	memset(g, 0, sizeof(*g));
	g->floor_ms = floor_ms;
}

void repair_gap_frame(struct repair_gap *g, int64_t now_ms)
{
	int64_t sample = now_ms - g->last_ms;
	bool have_last = g->have_last;

	g->have_last = true;
	g->last_ms = now_ms;
	if (!have_last || sample < 0 || sample > (int64_t)REPAIR_GAP_MAX_MS)
		return;
	if (g->mean_ms == 0) {
		g->mean_ms = sample;
		g->dev_ms = sample / 2;
		return;
	}
	g->dev_ms +=
	    ((sample > g->mean_ms ? sample - g->mean_ms : g->mean_ms - sample) - g->dev_ms) / 4;
	g->mean_ms += (sample - g->mean_ms) / 8;
}

void repair_gap_break(struct repair_gap *g)
{
	g->have_last = false;
}

uint32_t repair_gap_ms(const struct repair_gap *g)
{
	int64_t gap = g->mean_ms + 4 * g->dev_ms;
	int64_t cap = g->floor_ms > REPAIR_GAP_MAX_MS ? g->floor_ms : REPAIR_GAP_MAX_MS;

	if (gap < (int64_t)g->floor_ms)
		gap = g->floor_ms;
	return (uint32_t)(gap > cap ? cap : gap);
}

bool repair_gap_await_broadcast(const struct repair_gap *g, uint32_t bcast_next, int64_t table_ms,
				int64_t now_ms)
{
	return bcast_next == 0 &&
	       now_ms - table_ms < REPAIR_GAP_BROADCAST_START * (int64_t)g->floor_ms;
}

uint32_t repair_gap_limit(const struct repair_gap *g, uint32_t bcast_next, int64_t last_bcast_ms,
			  int64_t now_ms)
{
	if (bcast_next > 0 &&
	    now_ms - last_bcast_ms < REPAIR_GAP_BROADCAST_OVER * (int64_t)repair_gap_ms(g))
		return bcast_next;
	return UINT32_MAX;
}

int64_t repair_gap_backoff_ms(uint32_t gap_ms, unsigned retries)
{
	return (int64_t)gap_ms << (retries < REPAIR_GAP_BACKOFF_SHIFTS ? retries
								       : REPAIR_GAP_BACKOFF_SHIFTS);
}
