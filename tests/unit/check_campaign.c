/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the rollout model: stage specs, admission, thresholds, broadcast coalescing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "payload_choice.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *spec;
	fota_err rc;
	const char *devices;
	uint32_t percent, success, wait;
	const char *msg; /* part of the error message */
} stage_cases[] = {
    {"dev-1,dev-2", FOTA_OK, "dev-1,dev-2", 0, 100, 0, NULL},
    {"50%", FOTA_OK, "", 50, 100, 0, NULL},
    {"dev-9+10%", FOTA_OK, "dev-9", 10, 100, 0, NULL},
    {"100%:success=90:wait=10m", FOTA_OK, "", 100, 90, 600, NULL},
    {"25%:wait=30:success=80%", FOTA_OK, "", 25, 80, 30, NULL},
    {"", FOTA_ERR_FIELD, NULL, 0, 0, 0, "no devices"},
    {"101%", FOTA_ERR_FIELD, NULL, 0, 0, 0, "over 100"},
    {"0%", FOTA_ERR_FIELD, NULL, 0, 0, 0, "admits nobody"},
    {"dev/1", FOTA_ERR_FIELD, NULL, 0, 0, 0, "not a device id"},
    {"dev-1,,dev-2", FOTA_ERR_FIELD, NULL, 0, 0, 0, "empty"},
    {"dev-1+x", FOTA_ERR_FIELD, NULL, 0, 0, 0, "percentage"},
    {"50%:speed=3", FOTA_ERR_FIELD, NULL, 0, 0, 0, "unknown option"},
    {"50%:success", FOTA_ERR_FIELD, NULL, 0, 0, 0, "needs a value"},
    {"50%:success=abc", FOTA_ERR_FIELD, NULL, 0, 0, 0, "not a number"},
};

START_TEST(test_stage_parse)
{
	struct fota_error err = {0};
	struct orch_cstage st;
	fota_err rc = orch_stage_parse(stage_cases[_i].spec, &st, &err);

	ck_assert_msg(rc == stage_cases[_i].rc, "'%s': rc %d (%s)", stage_cases[_i].spec, rc,
		      err.msg);
	if (rc == FOTA_OK) {
		ck_assert_str_eq(st.devices, stage_cases[_i].devices);
		ck_assert_uint_eq(st.percent, stage_cases[_i].percent);
		ck_assert_uint_eq(st.success_pct, stage_cases[_i].success);
		ck_assert_uint_eq(st.wait_s, stage_cases[_i].wait);
	} else {
		ck_assert_msg(strstr(err.msg, stage_cases[_i].msg), "'%s': message '%s'",
			      stage_cases[_i].spec, err.msg);
	}
	free(st.devices);
}
END_TEST

static void make(struct orch_campaign *c, const char *const *specs, size_t n)
{
	struct fota_error err = {0};
	size_t i;

	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "rollout-1");
	snprintf(c->group, sizeof(c->group), "lab");
	snprintf(c->salt, sizeof(c->salt), "salt-1");
	for (i = 0; i < n; i++)
		ck_assert_int_eq(orch_stage_parse(specs[i], &c->stages[i], &err), FOTA_OK);
	c->n_stages = (uint32_t)n;
}

/* Widening a stage (or moving to a wider one) never drops a device admitted before, over many
 * device ids and every percentage; and the engine agrees with what devices compute. */
START_TEST(test_admission_stable_when_widening)
{
	static const char *const specs[] = {"canary-1,canary-2", "10%", "50%", "100%"};
	struct orch_campaign c;
	struct fota_directive d;
	struct orch_image img;
	struct fota_error err = {0};
	char id[32];
	uint32_t p, stage, admitted_at_50 = 0;
	int i;

	make(&c, specs, N(specs));
	ck_assert_int_eq(orch_campaign_validate(&c, &err), FOTA_OK);
	memset(&img, 0, sizeof(img));
	img.manifest_jws = (char *)"{}";
	img.manifest_jws_len = 2;
	for (i = 0; i < 5000; i++) {
		bool was = false;

		snprintf(id, sizeof(id), i % 2 ? "gw-%05d" : "dev%d.x", i);
		for (stage = 0; stage < c.n_stages; stage++) {
			for (p = orch_campaign_stage_percent(&c, stage ? stage - 1 : 0);
			     p <= orch_campaign_stage_percent(&c, stage); p++) {
				bool now = orch_campaign_admits(&c, stage, p, id);

				ck_assert_msg(!was || now, "%s dropped at stage %u, %u%%", id,
					      stage, p);
				was = now;
			}
		}
		ck_assert_msg(was, "%s not admitted at 100%%", id);
		if (orch_campaign_admits(&c, 2, 50, id))
			admitted_at_50++;
	}
	/* Deterministic, and about the right share: 50 % of 5000 +- 4 %. */
	ck_assert_msg(admitted_at_50 > 2300 && admitted_at_50 < 2700, "50%% admitted %u",
		      admitted_at_50);

	/* The engine's rule equals the one devices apply to the directive it publishes. */
	c.stage = 1;
	c.cur_percent = 10;
	ck_assert_int_eq(orch_campaign_directive(&c, &img, 1000, &d, &err), FOTA_OK);
	ck_assert_uint_eq(d.n_admit_devices, 2);
	ck_assert_str_eq(d.salt, "salt-1");
	for (i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "gw-%05d", i);
		ck_assert_int_eq(fota_directive_admits(&d, id),
				 orch_campaign_admits(&c, 1, 10, id));
	}
	ck_assert(fota_directive_admits(&d, "canary-2"));
	fota_directive_clear(&d);
	orch_campaign_clear(&c);
}
END_TEST

START_TEST(test_validate)
{
	static const char *const narrowing[] = {"50%", "10%"};
	struct orch_campaign c;
	struct fota_error err = {0};

	make(&c, narrowing, N(narrowing));
	ck_assert_int_eq(orch_campaign_validate(&c, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "may only widen"));
	orch_campaign_clear(&c);

	make(&c, narrowing, 1);
	c.not_before = 100;
	c.not_after = 50;
	ck_assert_int_eq(orch_campaign_validate(&c, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "window"));
	snprintf(c.group, sizeof(c.group), "a/b");
	ck_assert_int_eq(orch_campaign_validate(&c, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "group"));
	orch_campaign_clear(&c);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(orch_fail_threshold_parse("3", &c, &err), FOTA_OK);
	ck_assert_uint_eq(c.fail_count, 3);
	ck_assert_int_eq(orch_fail_threshold_parse("10%", &c, &err), FOTA_OK);
	ck_assert_uint_eq(c.fail_pct, 10);
	ck_assert_uint_eq(c.fail_count, 0);
	ck_assert_int_eq(orch_fail_threshold_parse("x", &c, &err), FOTA_ERR_FIELD);
}
END_TEST

/* A device in state st whose last report has store sequence seq. */
static void cdev(struct orch_counts *k, const struct orch_campaign *c, enum fota_state st,
		 int64_t seq)
{
	struct orch_cdev d;

	memset(&d, 0, sizeof(d));
	d.state = st;
	d.seq = seq;
	orch_counts_add(k, c, &d);
}

START_TEST(test_judge)
{
	static const char *const specs[] = {"a,b", "50%:success=80:wait=60", "100%"};
	struct orch_campaign c;
	struct orch_counts k;
	int i;

	make(&c, specs, N(specs));
	c.fail_count = 2;
	c.resumed_seq = 100;

	/* Canary: 1 of 2 confirmed holds; 2 of 2 meets, then advances (wait 0). */
	memset(&k, 0, sizeof(k));
	cdev(&k, &c, FOTA_STATE_CONFIRMED, 150);
	cdev(&k, &c, FOTA_STATE_DOWNLOADING, 150);
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 200), ORCH_VERDICT_HOLD);
	memset(&k, 0, sizeof(k));
	cdev(&k, &c, FOTA_STATE_CONFIRMED, 150);
	cdev(&k, &c, FOTA_STATE_CONFIRMED, 150);
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 200), ORCH_VERDICT_MET);
	c.stage_met = 200;
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 200), ORCH_VERDICT_ADVANCE);
	ck_assert_int_eq(orch_campaign_judge(&c, &k, false, 200), ORCH_VERDICT_HOLD);

	/* Stage 2: 80 % with a 60 s soak. */
	c.stage = 1;
	c.stage_met = 0;
	memset(&k, 0, sizeof(k));
	for (i = 0; i < 8; i++)
		cdev(&k, &c, FOTA_STATE_CONFIRMED, 150);
	cdev(&k, &c, FOTA_STATE_TESTING, 150);
	cdev(&k, &c, FOTA_STATE_FAILED, 150);
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 300), ORCH_VERDICT_MET);
	c.stage_met = 300;
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 359), ORCH_VERDICT_MET);
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 360), ORCH_VERDICT_ADVANCE);

	/* A second failure after the resume pauses; failures before it do not count. */
	cdev(&k, &c, FOTA_STATE_ROLLED_BACK, 90);
	ck_assert_uint_eq(k.failed, 2);
	ck_assert_uint_eq(k.failed_now, 1);
	ck_assert_int_ne(orch_campaign_judge(&c, &k, true, 360), ORCH_VERDICT_PAUSE);
	cdev(&k, &c, FOTA_STATE_FAILED, 200);
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 360), ORCH_VERDICT_PAUSE);

	/* Percentage threshold. */
	c.fail_count = 0;
	c.fail_pct = 10;
	memset(&k, 0, sizeof(k));
	for (i = 0; i < 19; i++)
		cdev(&k, &c, FOTA_STATE_CONFIRMED, 150);
	cdev(&k, &c, FOTA_STATE_FAILED, 150);
	ck_assert_int_ne(orch_campaign_judge(&c, &k, true, 400), ORCH_VERDICT_PAUSE);
	cdev(&k, &c, FOTA_STATE_FAILED, 150);
	cdev(&k, &c, FOTA_STATE_FAILED, 150);
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 400), ORCH_VERDICT_PAUSE);

	/* Last stage completes only when nothing is in flight. */
	c.fail_pct = 0;
	c.stage = 2;
	c.stage_met = 1;
	memset(&k, 0, sizeof(k));
	cdev(&k, &c, FOTA_STATE_CONFIRMED, 150);
	ck_assert_int_eq(orch_campaign_judge(&c, &k, true, 500), ORCH_VERDICT_COMPLETE);
	ck_assert_str_eq(orch_verdict_name(ORCH_VERDICT_COMPLETE), "complete");
	orch_campaign_clear(&c);
}
END_TEST

/* The coalescing rule of campaign broadcasts (docs/campaigns.md, "Delivery"). */
static const struct {
	enum orch_bcast_phase phase;
	bool stopping;
	uint32_t fresh_before, devices, fresh;
	enum orch_bcast_action want;
	uint32_t fresh_after;
	uint32_t members; /* registered group members; 0: as many as devices */
} decide_cases[] = {
    /* Nothing running: a crowd gets a broadcast, a single device repairs. */
    {ORCH_BCAST_IDLE, false, 0, 3, 3, ORCH_BCAST_STARTED, 0, 0},
    {ORCH_BCAST_IDLE, false, 0, 1, 1, ORCH_BCAST_SKIPPED, 0, 0},
    {ORCH_BCAST_IDLE, false, 0, 0, 0, ORCH_BCAST_SKIPPED, 0, 0},
    /* A resume or restart admits nobody new but finds devices waiting. */
    {ORCH_BCAST_IDLE, false, 0, 5, 0, ORCH_BCAST_STARTED, 0, 0},
    /* Queued and not started: it serves the newcomers too. */
    {ORCH_BCAST_QUEUED, false, 0, 4, 4, ORCH_BCAST_COVERED, 0, 0},
    /* Running: a republish adds nobody; newcomers add up to one more broadcast. */
    {ORCH_BCAST_RUNNING, false, 0, 3, 0, ORCH_BCAST_COVERED, 0, 0},
    {ORCH_BCAST_RUNNING, false, 0, 1, 1, ORCH_BCAST_SKIPPED, 1, 0},
    {ORCH_BCAST_RUNNING, false, 1, 1, 1, ORCH_BCAST_AGAIN, 2, 0},
    {ORCH_BCAST_RUNNING, false, 0, 7, 7, ORCH_BCAST_AGAIN, 7, 0},
    /* Stopping (paused) and resumed before it noticed: run again for the waiting ones. */
    {ORCH_BCAST_RUNNING, true, 0, 3, 0, ORCH_BCAST_AGAIN, 0, 0},
    {ORCH_BCAST_RUNNING, true, 0, 1, 0, ORCH_BCAST_SKIPPED, 0, 0},
    /* A canary or a small share of a large group: unicast repair, not 1,000 copies. */
    {ORCH_BCAST_IDLE, false, 0, 2, 2, ORCH_BCAST_SKIPPED, 0, 1000},
    {ORCH_BCAST_IDLE, false, 0, 100, 100, ORCH_BCAST_SKIPPED, 0, 1000},
    {ORCH_BCAST_IDLE, false, 0, 500, 500, ORCH_BCAST_SKIPPED, 0, 1000},
    /* More than half the group: the broadcast costs the broker less. */
    {ORCH_BCAST_IDLE, false, 0, 501, 501, ORCH_BCAST_STARTED, 0, 1000},
    {ORCH_BCAST_IDLE, false, 0, 900, 0, ORCH_BCAST_STARTED, 0, 1000},
    /* Newcomers during a broadcast count by the same rule. */
    {ORCH_BCAST_RUNNING, false, 0, 50, 50, ORCH_BCAST_SKIPPED, 50, 1000},
    {ORCH_BCAST_RUNNING, false, 450, 60, 60, ORCH_BCAST_AGAIN, 510, 1000},
    /* Listed devices the registry does not know: as many members as devices. */
    {ORCH_BCAST_IDLE, false, 0, 3, 3, ORCH_BCAST_STARTED, 0, 2},
};

START_TEST(test_broadcast_decide)
{
	uint32_t fresh = decide_cases[_i].fresh_before;

	ck_assert_str_eq(
	    orch_bcast_action_name(orch_broadcast_decide(
		decide_cases[_i].phase, decide_cases[_i].stopping, &fresh, decide_cases[_i].devices,
		decide_cases[_i].fresh,
		decide_cases[_i].members ? decide_cases[_i].members : decide_cases[_i].devices)),
	    orch_bcast_action_name(decide_cases[_i].want));
	ck_assert_uint_eq(fresh, decide_cases[_i].fresh_after);
}
END_TEST

START_TEST(test_needs_image)
{
	struct orch_campaign c = {.resumed_seq = 100};
	struct orch_cdev d = {.reported = false};
	struct orch_counts k = {0};

	ck_assert(orch_cdev_needs_image(&c, &d)); /* admitted, silent so far */
	d.reported = true;
	d.state = FOTA_STATE_DOWNLOADING;
	d.chunk_count = 64;
	d.chunks_present = 10;
	ck_assert(orch_cdev_needs_image(&c, &d));
	d.chunks_present = 64;
	ck_assert(!orch_cdev_needs_image(&c, &d));
	d.state = FOTA_STATE_CONFIRMED;
	ck_assert(!orch_cdev_needs_image(&c, &d));
	d.state = FOTA_STATE_TESTING;
	ck_assert(!orch_cdev_needs_image(&c, &d));
	d.state = FOTA_STATE_IDLE;
	d.result = FOTA_RESULT_ABORTED;
	ck_assert(!orch_cdev_needs_image(&c, &d));
	/* Failed before the resume: it retries; after it: it waits for the operator. */
	d.state = FOTA_STATE_FAILED;
	d.result = FOTA_RESULT_STALLED;
	d.seq = 90;
	ck_assert(orch_cdev_needs_image(&c, &d));
	d.seq = 150;
	ck_assert(!orch_cdev_needs_image(&c, &d));
	orch_counts_add(&k, &c, &d);
	d.reported = false;
	orch_counts_add(&k, &c, &d);
	ck_assert_uint_eq(k.admitted, 2);
	ck_assert_uint_eq(k.need_image, 1);
}
END_TEST

/* How long after its end repair still leaves chunks to a broadcast: as long as it ran, capped. */
START_TEST(test_broadcast_grace)
{
	const int64_t end = 100000;

	/* A 2 s broadcast: 2 s of grace, from its end on. */
	ck_assert(orch_broadcast_in_grace(2000, end, end));
	ck_assert(orch_broadcast_in_grace(2000, end, end + 1999));
	ck_assert(!orch_broadcast_in_grace(2000, end, end + 2000));
	ck_assert(!orch_broadcast_in_grace(2000, end, end - 1)); /* before it ended: not grace */
	/* A long broadcast: the cap bounds what a device that really lost chunks waits. */
	ck_assert(orch_broadcast_in_grace(600000, end, end + ORCH_BROADCAST_GRACE_MAX_MS - 1));
	ck_assert(!orch_broadcast_in_grace(600000, end, end + ORCH_BROADCAST_GRACE_MAX_MS));
	/* A broadcast that took no measurable time leaves nothing in the broker. */
	ck_assert(!orch_broadcast_in_grace(0, end, end));
	ck_assert(!orch_broadcast_in_grace(-5, end, end));
}
END_TEST

/* The delta is broadcast only when more than half of the waiting devices run its base. */
START_TEST(test_delta_pays)
{
	ck_assert(!orch_delta_pays(0, 0));
	ck_assert(!orch_delta_pays(0, 1));
	ck_assert(orch_delta_pays(1, 1));
	ck_assert(!orch_delta_pays(1, 2));
	ck_assert(orch_delta_pays(2, 3));
	ck_assert(orch_delta_pays(4, 5));
	ck_assert(!orch_delta_pays(500, 1000));
	ck_assert(orch_delta_pays(501, 1000));
	ck_assert(orch_delta_pays(UINT32_MAX, UINT32_MAX));
}
END_TEST

static Suite *campaign_suite(void)
{
	Suite *s = suite_create("campaign");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_stage_parse, 0, N(stage_cases));
	tcase_add_test(tc, test_admission_stable_when_widening);
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_judge);
	tcase_add_loop_test(tc, test_broadcast_decide, 0, N(decide_cases));
	tcase_add_test(tc, test_broadcast_grace);
	tcase_add_test(tc, test_needs_image);
	tcase_add_test(tc, test_delta_pays);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(campaign_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
