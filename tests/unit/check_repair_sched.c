/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the fair repair scheduler: merging, caps, round-robin, per-device buckets,
 * flood reports. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repair_sched.h"

static struct fota_request request(uint8_t image, bool table, uint32_t first, uint32_t count)
{
	struct fota_request r;

	memset(&r, 0, sizeof(r));
	memset(r.image_id, image, sizeof(r.image_id));
	r.want_table = table;
	if (count) {
		r.ranges[0] = (struct fota_range){first, count};
		r.n_ranges = 1;
	}
	return r;
}

static void add(struct orch_rsched *s, const char *dev, struct fota_request r, int64_t now,
		struct orch_rsched_added *out)
{
	orch_rsched_add(s, dev, &r, now, out);
}

static uint32_t turn_chunks(const struct orch_rsched_turn *t)
{
	uint32_t n = 0;

	for (size_t i = 0; i < t->n_ranges; i++)
		n += t->ranges[i].count;
	return n;
}

START_TEST(test_merge_duplicates_and_overlaps)
{
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	struct fota_request two;

	add(s, "d", request(1, false, 0, 32), 0, &a);
	ck_assert_uint_eq(a.queued, 32);
	add(s, "d", request(1, false, 0, 32), 0, &a);
	ck_assert_uint_eq(a.queued, 0);
	ck_assert_uint_eq(a.duplicate, 32);
	add(s, "d", request(1, false, 16, 32), 0, &a);
	ck_assert_uint_eq(a.queued, 16);
	ck_assert_uint_eq(a.duplicate, 16);
	/* Two ranges in one request, one adjacent to what is queued, one inside it. */
	two = request(1, false, 48, 4);
	two.ranges[1] = (struct fota_range){10, 5};
	two.n_ranges = 2;
	add(s, "d", two, 0, &a);
	ck_assert_uint_eq(a.queued, 4);
	ck_assert_uint_eq(a.duplicate, 5);
	ck_assert_uint_eq(orch_rsched_queued(s), 52);
	ck_assert_uint_eq(orch_rsched_waiting_devices(s), 1);
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_turns_take_lowest_chunks_once)
{
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	struct orch_rsched_turn t;
	uint8_t seen[64] = {0};
	int64_t w;
	uint32_t total = 0;

	add(s, "d", request(1, true, 40, 10), 0, &a);
	ck_assert(a.table);
	add(s, "d", request(1, true, 3, 2), 0, &a);
	ck_assert(!a.table);
	while (orch_rsched_next(s, 0, &t, &w) == ORCH_RSCHED_TURN) {
		ck_assert_str_eq(t.device, "d");
		ck_assert_uint_le(turn_chunks(&t), ORCH_REPAIR_TURN_CHUNKS);
		/* The table comes with the first turn only. */
		ck_assert(t.table == (total == 0));
		for (size_t i = 0; i < t.n_ranges; i++)
			for (uint32_t k = 0; k < t.ranges[i].count; k++) {
				ck_assert_uint_eq(seen[t.ranges[i].first + k], 0);
				seen[t.ranges[i].first + k] = 1;
			}
		total += turn_chunks(&t);
	}
	ck_assert_uint_eq(total, 12);
	ck_assert(seen[3] && seen[4] && seen[40] && seen[49] && !seen[5] && !seen[39]);
	ck_assert_uint_eq(orch_rsched_queued(s), 0);
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_device_caps)
{
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	uint32_t i, queued = 0, dropped = 0;

	add(s, "d", request(1, false, 0, ORCH_REPAIR_DEVICE_CHUNKS), 0, &a);
	ck_assert_uint_eq(a.queued, ORCH_REPAIR_DEVICE_CHUNKS);
	add(s, "d", request(1, false, ORCH_REPAIR_DEVICE_CHUNKS, 10), 0, &a);
	ck_assert_uint_eq(a.queued, 0);
	ck_assert_uint_eq(a.dropped, 10);
	orch_rsched_free(s);

	/* Every other chunk: one range each, up to the range cap. */
	s = orch_rsched_new(0, 0);
	for (i = 0; i < ORCH_REPAIR_DEVICE_RANGES + 5; i++) {
		add(s, "e", request(1, false, 2 * i, 1), 0, &a);
		queued += a.queued;
		dropped += a.dropped;
	}
	ck_assert_uint_eq(queued, ORCH_REPAIR_DEVICE_RANGES);
	ck_assert_uint_eq(dropped, 5);
	/* Filling a hole joins two ranges and needs no new one. */
	add(s, "e", request(1, false, 1, 1), 0, &a);
	ck_assert_uint_eq(a.queued, 1);
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_round_robin)
{
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	struct orch_rsched_turn t;
	int64_t w;
	int turns = 0;

	add(s, "flood", request(1, false, 0, ORCH_REPAIR_DEVICE_CHUNKS), 0, &a);
	ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_TURN);
	ck_assert_str_eq(t.device, "flood");
	ck_assert_uint_eq(turn_chunks(&t), ORCH_REPAIR_TURN_CHUNKS);
	/* Another device asks for one chunk: it waits for one turn of the flood, not for the
	 * flood's remaining 248 chunks. */
	add(s, "quiet", request(2, false, 7, 1), 0, &a);
	ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_TURN);
	ck_assert_str_eq(t.device, "flood");
	turns++;
	ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_TURN);
	ck_assert_str_eq(t.device, "quiet");
	ck_assert_uint_eq(t.ranges[0].first, 7);
	ck_assert_uint_eq(t.image_id[0], 2);
	/* The flood keeps being served, turn by turn. */
	while (orch_rsched_next(s, 0, &t, &w) == ORCH_RSCHED_TURN) {
		ck_assert_str_eq(t.device, "flood");
		turns++;
	}
	ck_assert_int_eq(turns, ORCH_REPAIR_DEVICE_CHUNKS / ORCH_REPAIR_TURN_CHUNKS - 1);
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_round_robin_alternates)
{
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	struct orch_rsched_turn t;
	static const char *const order[] = {"a", "b", "c"};
	char last[FOTA_MAX_SEGMENT_LEN + 1] = "";
	int64_t w;

	add(s, "a", request(1, false, 0, 64), 0, &a);
	add(s, "b", request(1, false, 0, 64), 0, &a);
	add(s, "c", request(1, false, 0, 64), 0, &a);
	for (int i = 0; i < 24; i++) {
		ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_TURN);
		ck_assert_str_ne(t.device, last);
		ck_assert_str_eq(t.device, order[i % 3]);
		snprintf(last, sizeof(last), "%s", t.device);
	}
	ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_IDLE);
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_device_rate)
{
	/* 1000 bytes per second, burst 1000. */
	struct orch_rsched *s = orch_rsched_new(1000, 1000);
	struct orch_rsched_added a;
	struct orch_rsched_turn t;
	int64_t w = 0;

	add(s, "flood", request(1, false, 0, 64), 0, &a);
	ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_TURN);
	orch_rsched_charge(s, "flood", 3000, 0);
	/* In debt by 2000 bytes: nothing until 2 s later. */
	ck_assert_int_eq(orch_rsched_next(s, 10, &t, &w), ORCH_RSCHED_WAIT);
	ck_assert_int_ge(w, 1990);
	ck_assert_int_le(w, 2000);
	/* Another device is not held up by it. */
	add(s, "quiet", request(1, false, 0, 1), 10, &a);
	ck_assert_int_eq(orch_rsched_next(s, 10, &t, &w), ORCH_RSCHED_TURN);
	ck_assert_str_eq(t.device, "quiet");
	ck_assert_int_eq(orch_rsched_next(s, 1999, &t, &w), ORCH_RSCHED_WAIT);
	ck_assert_int_eq(orch_rsched_next(s, 2001, &t, &w), ORCH_RSCHED_TURN);
	ck_assert_str_eq(t.device, "flood");
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_flood_report_once_per_interval)
{
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	int reports = 0, i;

	/* A device that re-asks now and then is not a flood. */
	for (i = 0; i < 10; i++) {
		add(s, "calm", request(1, false, 0, 32), i * 1000, &a);
		ck_assert(!a.report);
	}
	/* 1000 identical requests within one second: one report. */
	for (i = 0; i < 1000; i++) {
		add(s, "flood", request(1, false, 0, 256), i, &a);
		if (a.report) {
			reports++;
			ck_assert_uint_eq(a.flood_requests,
					  17); /* the first queued, 16 redundant */
			ck_assert_uint_eq(a.flood_duplicate, 16 * 256);
		}
	}
	ck_assert_int_eq(reports, 1);
	/* The next request past the interval reports what came since. */
	add(s, "flood", request(1, false, 0, 256), 16 + ORCH_REPAIR_FLOOD_LOG_MS, &a);
	ck_assert(a.report);
	ck_assert_uint_eq(a.flood_requests, 1000 - 17 + 1);
	ck_assert_uint_eq(a.flood_dropped, 0);
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_flooding_device_turns_say_so)
{
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	struct orch_rsched_turn t;
	int64_t wait_ms, now = 0;
	bool reported = false;
	int i;

	/* A calm device's emptied queue gets its own log line. */
	add(s, "dev", request(1, false, 0, 4), now, &a);
	ck_assert_int_eq(orch_rsched_next(s, now, &t, &wait_ms), ORCH_RSCHED_TURN);
	ck_assert(t.finished);
	ck_assert(!t.flooding);
	/* Reported as a flood: its turns say so, its flood lines count what it is served. */
	for (i = 0; i < 40 && !reported; i++) {
		add(s, "dev", request(1, false, 0, 4), ++now, &a);
		reported = a.report;
	}
	ck_assert(reported);
	ck_assert_int_eq(orch_rsched_next(s, now, &t, &wait_ms), ORCH_RSCHED_TURN);
	ck_assert(t.finished);
	ck_assert(t.flooding);
	/* Still so right after the report, when its counters start again from zero. */
	add(s, "dev", request(1, false, 0, 4), ++now, &a);
	ck_assert(!a.report);
	ck_assert_int_eq(orch_rsched_next(s, now, &t, &wait_ms), ORCH_RSCHED_TURN);
	ck_assert(t.flooding);
	/* A whole interval without flooding: calm again. */
	now += ORCH_REPAIR_FLOOD_LOG_MS + 1;
	add(s, "dev", request(1, false, 0, 4), now, &a);
	ck_assert_int_eq(orch_rsched_next(s, now, &t, &wait_ms), ORCH_RSCHED_TURN);
	ck_assert(t.finished);
	ck_assert(!t.flooding);
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_other_image_replaces)
{
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	struct orch_rsched_turn t;
	int64_t w;

	add(s, "d", request(1, true, 0, 32), 0, &a);
	add(s, "d", request(2, false, 100, 2), 0, &a);
	ck_assert(a.replaced);
	ck_assert_uint_eq(orch_rsched_queued(s), 2);
	ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_TURN);
	ck_assert_uint_eq(t.image_id[0], 2);
	ck_assert(!t.table);
	ck_assert_uint_eq(t.ranges[0].first, 100);
	ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_IDLE);
	/* Dropping a queue (image unknown) leaves nothing to serve. */
	add(s, "d", request(2, false, 0, 8), 0, &a);
	orch_rsched_drop(s, "d");
	ck_assert_uint_eq(orch_rsched_queued(s), 0);
	ck_assert_int_eq(orch_rsched_next(s, 0, &t, &w), ORCH_RSCHED_IDLE);
	orch_rsched_free(s);
}
END_TEST

START_TEST(test_device_table_full)
{
	struct orch_rsched *s = orch_rsched_new(1000, 1000);
	struct orch_rsched_added a;
	struct orch_rsched_turn t;
	char id[32];
	int64_t w;
	int i;

	for (i = 0; i < ORCH_REPAIR_MAX_DEVICES; i++) {
		snprintf(id, sizeof(id), "dev-%d", i);
		add(s, id, request(1, false, 0, 1), 0, &a);
		ck_assert(!a.no_room);
	}
	add(s, "late", request(1, false, 0, 1), 0, &a);
	ck_assert(a.no_room);
	ck_assert_uint_eq(a.dropped, 1);
	/* Served and refilled devices make room again. */
	while (orch_rsched_next(s, 0, &t, &w) == ORCH_RSCHED_TURN)
		;
	add(s, "late", request(1, false, 0, 1), 0, &a);
	ck_assert(!a.no_room);
	ck_assert_uint_eq(a.queued, 1);
	orch_rsched_free(s);
}
END_TEST

/* Every device of a 2,000-device campaign may ask at once (twice over here): each request is
 * queued and served exactly once, and the ids stay told apart while slots are reused. */
START_TEST(test_campaign_fleet_all_queued)
{
	enum { FLEET = 4000 };
	struct orch_rsched *s = orch_rsched_new(0, 0);
	struct orch_rsched_added a;
	struct orch_rsched_turn t;
	static unsigned char served[FLEET];
	char id[32];
	int64_t w;
	int i, round;

	for (round = 0; round < 3; round++) {
		memset(served, 0, sizeof(served));
		for (i = 0; i < FLEET; i++) {
			snprintf(id, sizeof(id), "sim-%d", i + 1);
			add(s, id, request((uint8_t)(round + 1), false, (uint32_t)i % 7, 3), round,
			    &a);
			ck_assert_msg(!a.no_room, "%s turned away", id);
			ck_assert_uint_eq(a.queued, 3);
		}
		ck_assert_uint_eq(orch_rsched_queued(s), (uint64_t)FLEET * 3);
		while (orch_rsched_next(s, round, &t, &w) == ORCH_RSCHED_TURN) {
			ck_assert_int_eq(sscanf(t.device, "sim-%d", &i), 1);
			ck_assert_int_ge(i, 1);
			ck_assert_int_le(i, FLEET);
			ck_assert_uint_eq(turn_chunks(&t), 3);
			ck_assert_uint_eq(t.ranges[0].first, (uint32_t)(i - 1) % 7);
			served[i - 1]++;
		}
		for (i = 0; i < FLEET; i++)
			ck_assert_msg(served[i] == 1, "sim-%d served %d times", i + 1, served[i]);
		/* Other names take the freed slots before the fleet asks again. */
		for (i = 0; i < 100; i++) {
			snprintf(id, sizeof(id), "other-%d-%d", round, i);
			add(s, id, request(9, false, 0, 1), round, &a);
			ck_assert(!a.no_room);
		}
		while (orch_rsched_next(s, round, &t, &w) == ORCH_RSCHED_TURN)
			ck_assert_ptr_nonnull(strstr(t.device, "other-"));
	}
	orch_rsched_free(s);
}
END_TEST

static Suite *repair_sched_suite(void)
{
	Suite *s = suite_create("repair_sched");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_merge_duplicates_and_overlaps);
	tcase_add_test(tc, test_campaign_fleet_all_queued);
	tcase_add_test(tc, test_turns_take_lowest_chunks_once);
	tcase_add_test(tc, test_device_caps);
	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_round_robin_alternates);
	tcase_add_test(tc, test_device_rate);
	tcase_add_test(tc, test_flood_report_once_per_interval);
	tcase_add_test(tc, test_flooding_device_turns_say_so);
	tcase_add_test(tc, test_other_image_replaces);
	tcase_add_test(tc, test_device_table_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(repair_sched_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
