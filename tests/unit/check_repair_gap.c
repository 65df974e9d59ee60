/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the repair gap: configured floor, stretched to the pace frames arrive at. */
#include <check.h>

#include "fota/repair_gap.h"
#include "testutil.h"

/* Feeds n frames spaced by the intervals in steps (cycled), starting at t; returns the end. */
static int64_t feed(struct repair_gap *g, int64_t t, const int64_t *steps, int nsteps, int n)
{
	for (int i = 0; i < n; i++) {
		t += steps[i % nsteps];
		repair_gap_frame(g, t);
	}
	return t;
}

START_TEST(test_floor_without_frames)
{
	struct repair_gap g;

	repair_gap_init(&g, 500);
	ck_assert_uint_eq(repair_gap_ms(&g), 500);
	repair_gap_frame(&g, 1000); /* one frame: no interval yet */
	ck_assert_uint_eq(repair_gap_ms(&g), 500);
}
END_TEST

START_TEST(test_fast_frames_keep_the_floor)
{
	static const int64_t fast[] = {20, 40, 10};
	struct repair_gap g;

	repair_gap_init(&g, 500);
	feed(&g, 1000, fast, 3, 50);
	ck_assert_uint_eq(repair_gap_ms(&g), 500);
}
END_TEST

/* A link slower than one frame per floor: the gap covers the spacing, and stays near it. */
START_TEST(test_slow_steady_frames_stretch_the_gap)
{
	static const int64_t slow[] = {1300};
	struct repair_gap g;
	uint32_t gap;

	repair_gap_init(&g, 500);
	feed(&g, 1000, slow, 1, 40);
	gap = repair_gap_ms(&g);
	ck_assert_uint_gt(gap, 1300);
	ck_assert_uint_lt(gap, 2 * 1300);
}
END_TEST

/* A lossy link: every third frame late by a retransmission. The gap covers the late ones. */
START_TEST(test_jitter_widens_the_gap)
{
	static const int64_t jitter[] = {1000, 1000, 2500};
	struct repair_gap g;

	repair_gap_init(&g, 500);
	feed(&g, 1000, jitter, 3, 60);
	ck_assert_uint_gt(repair_gap_ms(&g), 2500);
}
END_TEST

/* The interval across a repair request is its round trip, not the link's pace. */
START_TEST(test_break_is_not_a_sample)
{
	static const int64_t fast[] = {50};
	struct repair_gap g;
	int64_t t;

	repair_gap_init(&g, 500);
	t = feed(&g, 1000, fast, 1, 20);
	repair_gap_break(&g);
	repair_gap_frame(&g, t + 4000);
	ck_assert_uint_eq(repair_gap_ms(&g), 500);
	t = feed(&g, t + 4000, fast, 1, 5);
	ck_assert_uint_eq(repair_gap_ms(&g), 500);
}
END_TEST

/* A stream that stopped (broadcast over, campaign paused) and started again is not slow. */
START_TEST(test_stopped_stream_is_not_a_sample)
{
	static const int64_t fast[] = {50};
	struct repair_gap g;
	int64_t t;

	repair_gap_init(&g, 500);
	t = feed(&g, 1000, fast, 1, 20);
	repair_gap_frame(&g, t + REPAIR_GAP_MAX_MS + 1);
	ck_assert_uint_eq(repair_gap_ms(&g), 500);
}
END_TEST

START_TEST(test_await_broadcast_until_its_start_is_overdue)
{
	struct repair_gap g;
	int64_t table = 10000, overdue = table + REPAIR_GAP_BROADCAST_START * 1000;

	repair_gap_init(&g, 1000);
	ck_assert(repair_gap_await_broadcast(&g, 0, table, table));
	ck_assert(repair_gap_await_broadcast(&g, 0, table, overdue - 1));
	ck_assert(!repair_gap_await_broadcast(&g, 0, table, overdue));
	/* Its first frame came: no more waiting for the start. */
	ck_assert(!repair_gap_await_broadcast(&g, 1, table, table + 1));
}
END_TEST

START_TEST(test_limit_while_the_broadcast_runs)
{
	struct repair_gap g;
	int64_t last = 50000, over = last + REPAIR_GAP_BROADCAST_OVER * 1000;

	repair_gap_init(&g, 1000);
	ck_assert_uint_eq(repair_gap_limit(&g, 0, 0, last), UINT32_MAX); /* none seen */
	ck_assert_uint_eq(repair_gap_limit(&g, 7, last, last + 1), 7);
	ck_assert_uint_eq(repair_gap_limit(&g, 7, last, over - 1), 7);
	/* Silent for REPAIR_GAP_BROADCAST_OVER gaps: over, everything may be asked for. */
	ck_assert_uint_eq(repair_gap_limit(&g, 7, last, over), UINT32_MAX);
}
END_TEST

START_TEST(test_backoff_doubles_up_to_its_cap)
{
	ck_assert_int_eq(repair_gap_backoff_ms(1000, 0), 1000);
	ck_assert_int_eq(repair_gap_backoff_ms(1000, 1), 2000);
	ck_assert_int_eq(repair_gap_backoff_ms(1000, 3), 8000);
	ck_assert_int_eq(repair_gap_backoff_ms(1000, REPAIR_GAP_BACKOFF_SHIFTS), 32000);
	ck_assert_int_eq(repair_gap_backoff_ms(1000, 1000), 32000);
}
END_TEST

START_TEST(test_gap_is_capped)
{
	static const int64_t crawl[] = {50000, 5000};
	struct repair_gap g;

	repair_gap_init(&g, 500);
	feed(&g, 1000, crawl, 2, 40);
	ck_assert_uint_eq(repair_gap_ms(&g), REPAIR_GAP_MAX_MS);
	repair_gap_init(&g, REPAIR_GAP_MAX_MS * 2); /* a configured floor above the cap wins */
	feed(&g, 1000, crawl, 2, 40);
	ck_assert_uint_eq(repair_gap_ms(&g), REPAIR_GAP_MAX_MS * 2);
}
END_TEST

static Suite *repair_gap_suite(void)
{
	Suite *s = suite_create("repair_gap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_floor_without_frames);
	tcase_add_test(tc, test_fast_frames_keep_the_floor);
	tcase_add_test(tc, test_slow_steady_frames_stretch_the_gap);
	tcase_add_test(tc, test_jitter_widens_the_gap);
	tcase_add_test(tc, test_break_is_not_a_sample);
	tcase_add_test(tc, test_stopped_stream_is_not_a_sample);
	tcase_add_test(tc, test_gap_is_capped);
	tcase_add_test(tc, test_await_broadcast_until_its_start_is_overdue);
	tcase_add_test(tc, test_limit_while_the_broadcast_runs);
	tcase_add_test(tc, test_backoff_doubles_up_to_its_cap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(repair_gap_suite());
}
