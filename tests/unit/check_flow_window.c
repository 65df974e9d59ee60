/* SPDX-License-Identifier: Apache-2.0 */
/* The broadcast's acknowledgement clock: its cap and floor, growth while answers are prompt,
 * one halving per window when they suddenly slow, none for jitter below the slack nor for a
 * load that lasts. */
#include <check.h>

#include "flow_window.h"
#include "testutil.h"

#define FRAME (64u * 1024 + 64)

static void acks(struct orch_flow *f, unsigned n, int64_t rtt_us)
{
	for (unsigned i = 0; i < n; i++)
		orch_flow_on_ack(f, rtt_us);
}

/* The MQTT in-flight limit caps the window, and so does the 2 MiB Paho stall bound. */
START_TEST(test_cap)
{
	struct orch_flow f;

	orch_flow_init(&f, 8, FRAME);
	ck_assert_uint_eq(f.max, 8);
	orch_flow_init(&f, 64, FRAME);
	ck_assert_uint_eq(f.max, ORCH_FLOW_MAX_BYTES / FRAME);
	orch_flow_init(&f, 8, 256u * 1024 + 64);
	ck_assert_uint_eq(f.max, 7);
	orch_flow_init(&f, 8, 4u * 1024 * 1024);
	ck_assert_uint_eq(f.max, 1);
	orch_flow_init(&f, 0, FRAME);
	ck_assert_uint_eq(f.max, 1);
}
END_TEST

/* Starts at the floor, doubles per round trip of prompt answers, stops at the cap. */
START_TEST(test_grows_while_prompt)
{
	struct orch_flow f;

	orch_flow_init(&f, 16, FRAME);
	ck_assert_uint_eq(orch_flow_window(&f), ORCH_FLOW_MIN_FRAMES);
	acks(&f, 1, 300);
	ck_assert_uint_eq(orch_flow_window(&f), ORCH_FLOW_MIN_FRAMES + 1);
	acks(&f, ORCH_FLOW_MIN_FRAMES - 1, 300);
	ck_assert_uint_eq(orch_flow_window(&f), 2 * ORCH_FLOW_MIN_FRAMES);
	acks(&f, 100, 300);
	ck_assert_uint_eq(orch_flow_window(&f), 16);
	ck_assert_uint_eq(f.shrinks, 0);
}
END_TEST

/* A sudden slowdown: a round trip past the slow factor and the slack over a smoothed one of
 * 100 us. */
#define SPIKE_US (100 * ORCH_FLOW_SLOW_FACTOR + ORCH_FLOW_SLACK_US + 1)

/* One or two frames in flight make their own slow round trips (a frame's tail waits for a
 * delayed ACK): the window never goes below the floor, nor above a smaller cap. */
START_TEST(test_floor)
{
	struct orch_flow f;

	orch_flow_init(&f, 8, FRAME);
	for (int i = 0; i < 50; i++) {
		acks(&f, 200, 100); /* prompt again: the smoothed round trip is back at 100 us */
		acks(&f, 1, SPIKE_US);
		ck_assert_uint_ge(orch_flow_window(&f), ORCH_FLOW_MIN_FRAMES);
	}
	orch_flow_init(&f, 2, FRAME);
	ck_assert_uint_eq(orch_flow_window(&f), 2);
	acks(&f, 10, 100);
	acks(&f, 1, SPIKE_US);
	ck_assert_uint_eq(orch_flow_window(&f), 2);
}
END_TEST

/* Round trips many times the fastest but within the absolute slack are scheduling jitter on
 * a busy host, not congestion. */
START_TEST(test_jitter_is_not_congestion)
{
	struct orch_flow f;

	orch_flow_init(&f, 8, FRAME);
	acks(&f, 10, 100);
	acks(&f, 50, 100 + ORCH_FLOW_SLACK_US);
	ck_assert_uint_eq(orch_flow_window(&f), 8);
	ck_assert_uint_eq(f.shrinks, 0);
}
END_TEST

/* A sudden slowdown halves the window once per window's worth of answers, down to the floor;
 * prompt answers then grow it by about one per window's worth. */
START_TEST(test_shrinks_when_slow)
{
	struct orch_flow f;

	orch_flow_init(&f, 16, FRAME);
	acks(&f, 40, 100);
	ck_assert_uint_eq(orch_flow_window(&f), 16);
	acks(&f, 1, SPIKE_US);
	ck_assert_uint_eq(orch_flow_window(&f), 8);
	ck_assert_uint_eq(f.shrinks, 1);
	/* The rest of the old window comes back slow too: no second halving for it (and once
	 * the smoothed round trip has caught up, the window grows by one per window again). */
	acks(&f, 15, 50 * SPIKE_US);
	ck_assert_uint_eq(f.shrinks, 1);
	ck_assert_uint_ge(orch_flow_window(&f), 8);
	/* From the cap of 8, a sudden slowdown halves to the floor. */
	orch_flow_init(&f, 8, FRAME);
	acks(&f, 40, 100);
	ck_assert_uint_eq(orch_flow_window(&f), 8);
	acks(&f, 1, SPIKE_US);
	ck_assert_uint_eq(orch_flow_window(&f), ORCH_FLOW_MIN_FRAMES);
	acks(&f, 100, 100);
	ck_assert_uint_gt(orch_flow_window(&f), ORCH_FLOW_MIN_FRAMES);
}
END_TEST

/* A load that lasts (a broker fanning out to a few hundred devices answers in 100-300 ms
 * where an idle one answered in well under one) is the new norm, not congestion: after at
 * most one halving the window grows back to its cap. */
START_TEST(test_lasting_load_is_not_congestion)
{
	struct orch_flow f;

	orch_flow_init(&f, 8, FRAME);
	acks(&f, 10, 700);
	ck_assert_uint_eq(orch_flow_window(&f), 8);
	for (int i = 0; i < 250; i++)
		acks(&f, 1, i % 3 ? 200000 : 120000);
	ck_assert_uint_le(f.shrinks, 1);
	ck_assert_uint_eq(orch_flow_window(&f), 8);
}
END_TEST

static Suite *flow_window_suite(void)
{
	Suite *s = suite_create("flow_window");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_grows_while_prompt);
	tcase_add_test(tc, test_floor);
	tcase_add_test(tc, test_jitter_is_not_congestion);
	tcase_add_test(tc, test_shrinks_when_slow);
	tcase_add_test(tc, test_lasting_load_is_not_congestion);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(flow_window_suite());
}
