/* SPDX-License-Identifier: Apache-2.0 */
/* The broadcast's acknowledgement clock: its cap, growth while answers are prompt, one
 * halving per window when they slow, and no reaction to jitter below the slack. */
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

/* Starts at one frame, doubles per round trip of prompt answers, stops at the cap. */
START_TEST(test_grows_while_prompt)
{
	struct orch_flow f;

	orch_flow_init(&f, 8, FRAME);
	ck_assert_uint_eq(orch_flow_window(&f), 1);
	acks(&f, 1, 300);
	ck_assert_uint_eq(orch_flow_window(&f), 2);
	acks(&f, 2, 300);
	ck_assert_uint_eq(orch_flow_window(&f), 4);
	acks(&f, 100, 300);
	ck_assert_uint_eq(orch_flow_window(&f), 8);
	ck_assert_uint_eq(f.shrinks, 0);
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

/* Slow answers halve the window once per window's worth of answers, down to one frame; prompt
 * ones then grow it by one per window's worth. */
START_TEST(test_shrinks_when_slow)
{
	struct orch_flow f;
	const int64_t slow_us = 100 * ORCH_FLOW_SLOW_FACTOR + ORCH_FLOW_SLACK_US + 1;

	orch_flow_init(&f, 8, FRAME);
	acks(&f, 10, 100);
	ck_assert_uint_eq(orch_flow_window(&f), 8);
	acks(&f, 1, slow_us);
	ck_assert_uint_eq(orch_flow_window(&f), 4);
	/* The rest of the old window comes back slow too: no second halving for it. */
	acks(&f, 7, slow_us);
	ck_assert_uint_eq(orch_flow_window(&f), 4);
	acks(&f, 1, slow_us);
	ck_assert_uint_eq(orch_flow_window(&f), 2);
	acks(&f, 20, slow_us);
	ck_assert_uint_eq(orch_flow_window(&f), 1);
	ck_assert_uint_eq(f.shrinks, 3);
	/* Additive growth now: one frame more per window of prompt answers. */
	acks(&f, 1, 100);
	ck_assert_uint_eq(orch_flow_window(&f), 2);
	acks(&f, 1, 100);
	ck_assert_uint_eq(orch_flow_window(&f), 2);
	acks(&f, 2, 100);
	ck_assert_uint_eq(orch_flow_window(&f), 3);
}
END_TEST

static Suite *flow_window_suite(void)
{
	Suite *s = suite_create("flow_window");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_grows_while_prompt);
	tcase_add_test(tc, test_jitter_is_not_congestion);
	tcase_add_test(tc, test_shrinks_when_slow);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(flow_window_suite());
}
