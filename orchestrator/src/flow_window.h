/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: how many QoS 1 frames a broadcast keeps in flight,
 * clocked by the broker's acknowledgements. */
#ifndef ORCH_FLOW_WINDOW_H
#define ORCH_FLOW_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* Frames in flight times frame size stays at or below this: Paho 1.3 finishes a PUBLISH that
 * does not fit the socket buffer only from its receive loop, and stalls for 0.1-1 s once
 * chunk x window passes about 2 MiB. */
#define ORCH_FLOW_MAX_BYTES (2u * 1024 * 1024)
/* An acknowledgement is slow when its round trip exceeds ORCH_FLOW_SLOW_FACTOR times the
 * smoothed round trip and also the smoothed one plus ORCH_FLOW_SLACK_US: the absolute slack
 * keeps scheduling jitter on a busy host (a loopback round trip is a fraction of a
 * millisecond) from counting as congestion. Not the fastest round trip ever seen: that one
 * comes from an idle broker, and a fan-out to a few hundred devices never returns to it, so
 * every answer read as slow and held the window at its floor (0.50x plain Paho at 200). */
#define ORCH_FLOW_SLOW_FACTOR 4
#define ORCH_FLOW_SLACK_US 50000
/* The window starts at and never falls below this many frames (or the cap, if smaller). With
 * one or two frames in flight, the short tail segment of a frame waits for the broker's
 * delayed ACK (Nagle, ~40 ms on Linux) before it leaves: the round trip the clock measures is
 * then its own making, reads as congestion and halves the window further, down to a broadcast
 * of ~1 MiB/s on loopback. */
#define ORCH_FLOW_MIN_FRAMES 4

/*
 * Acknowledgement clocking in the manner of TCP: the window starts at ORCH_FLOW_MIN_FRAMES and
 * grows by one per prompt acknowledgement (doubling each round trip) until the first slow one,
 * then by one per window's worth of prompt acknowledgements. A slow acknowledgement (a sudden
 * slowdown against the smoothed round trip) halves the window, at most once per window's worth
 * of acknowledgements, never below ORCH_FLOW_MIN_FRAMES; a slowdown that lasts raises the
 * smoothed round trip and the window grows again. The broker
 * acknowledges a QoS 1 PUBLISH once it has handed it to every subscriber's queue, so round
 * trips grow when the broker (its CPU, its fan-out, its socket buffers) falls behind.
 */
struct orch_flow {
	unsigned max;	  /* never more frames in flight than this */
	unsigned min;	  /* nor fewer: ORCH_FLOW_MIN_FRAMES, or max if smaller */
	double cwnd;	  /* current window, in frames */
	int64_t srtt_us;  /* smoothed round trip (gain 1/8); 0 before the first */
	uint64_t acks;	  /* acknowledgements seen */
	uint64_t hold;	  /* no second halving before this many acknowledgements */
	int slow_start;	  /* still doubling per round trip */
	unsigned shrinks; /* halvings so far (statistics) */
};

/* max_frames: the MQTT in-flight limit; frame_bytes: the largest frame of the broadcast.
 * The cap is the smaller of max_frames and ORCH_FLOW_MAX_BYTES / frame_bytes, at least 1. */
void orch_flow_init(struct orch_flow *f, unsigned max_frames, size_t frame_bytes);

/* One acknowledgement that took rtt_us from publish to PUBACK, measured from before the
 * publish call: Paho writes the frame in the caller's thread, and a PUBACK can arrive before
 * that call returns. */
void orch_flow_on_ack(struct orch_flow *f, int64_t rtt_us);

/* Frames that may be in flight now: 1 .. max. */
unsigned orch_flow_window(const struct orch_flow *f);

/* Monotonic microseconds, the clock round trips are measured with. */
int64_t orch_flow_now_us(void);

#endif
