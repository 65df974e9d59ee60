/* SPDX-License-Identifier: Apache-2.0 */
/* Acknowledgement-clocked window: grows while the broker answers promptly, halves when it
 * suddenly slows, so a broadcast needs no configured pace. */
#include <time.h>

#include "flow_window.h"

int64_t orch_flow_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void orch_flow_init(struct orch_flow *f, unsigned max_frames, size_t frame_bytes)
{
	size_t by_bytes = frame_bytes ? ORCH_FLOW_MAX_BYTES / frame_bytes : max_frames;

	f->max = max_frames;
	if (by_bytes < f->max)
		f->max = (unsigned)by_bytes;
	if (f->max < 1)
		f->max = 1;
	f->min = f->max < ORCH_FLOW_MIN_FRAMES ? f->max : ORCH_FLOW_MIN_FRAMES;
	f->cwnd = (double)f->min;
	f->srtt_us = 0;
	f->acks = 0;
	f->hold = 0;
	f->slow_start = 1;
	f->shrinks = 0;
}

static int slow(const struct orch_flow *f, int64_t rtt_us)
{
	return rtt_us > f->srtt_us * ORCH_FLOW_SLOW_FACTOR &&
	       rtt_us > f->srtt_us + ORCH_FLOW_SLACK_US;
}

void orch_flow_on_ack(struct orch_flow *f, int64_t rtt_us)
{
	int is_slow;

	if (rtt_us < 1)
		rtt_us = 1;
	if (f->srtt_us == 0)
		f->srtt_us = rtt_us;
	is_slow = slow(f, rtt_us);
	/* Judged against the smoothed round trip, then folded into it (gain 1/8, as TCP's
	 * SRTT): a load that lasts becomes the norm, so only a sudden slowdown halves. */
	f->srtt_us += (rtt_us - f->srtt_us) / 8;
	if (f->srtt_us < 1)
		f->srtt_us = 1;
	f->acks++;
	if (is_slow) {
		/* The frames already in flight were sent with the old window and come back slow
		 * too: one halving per window's worth of answers, as TCP reacts once per loss
		 * episode. */
		if (f->acks < f->hold)
			return;
		f->hold = f->acks + (uint64_t)f->cwnd;
		f->slow_start = 0;
		if (f->cwnd <= (double)f->min)
			return; /* at the floor: nothing to halve */
		f->cwnd /= 2.0;
		if (f->cwnd < (double)f->min)
			f->cwnd = (double)f->min;
		f->shrinks++;
		return;
	}
	f->cwnd += f->slow_start ? 1.0 : 1.0 / f->cwnd;
	if (f->cwnd > (double)f->max)
		f->cwnd = (double)f->max;
}

unsigned orch_flow_window(const struct orch_flow *f)
{
	unsigned w = (unsigned)f->cwnd;

	if (w < f->min)
		return f->min;
	return w > f->max ? f->max : w;
}
