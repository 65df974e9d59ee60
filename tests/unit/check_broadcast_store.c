/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for broadcasts in the store: what a restarted daemon resumes, marks stopped or
 * finished, and how an end is recorded. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broadcast_store.h"
#include "campaign.h"
#include "config.h"
#include "store.h"

static struct orch_store *st;
static struct orch_config cfg;
static struct orch_publisher pub;
static struct orch_broadcaster *bc;

static void create(const char *id, enum orch_cstate state)
{
	struct orch_campaign c;
	struct fota_error err = {0};

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.image_id, sizeof(c.image_id), "img");
	snprintf(c.group, sizeof(c.group), "lab");
	snprintf(c.salt, sizeof(c.salt), "%s", id);
	ck_assert_int_eq(orch_stage_parse("100%", &c.stages[0], &err), FOTA_OK);
	c.n_stages = 1;
	c.created = 1;
	ck_assert_int_eq(st->ops->campaign_create(st, &c, &err), FOTA_OK);
	c.state = state;
	ck_assert_int_eq(st->ops->campaign_put(st, &c, &err), FOTA_OK);
	orch_campaign_clear(&c);
}

static void row(const char *group, const char *image, const char *campaign, uint32_t count,
		uint32_t next)
{
	struct orch_bcast_rec b;
	struct fota_error err = {0};

	memset(&b, 0, sizeof(b));
	snprintf(b.group, sizeof(b.group), "%s", group);
	snprintf(b.image_id, sizeof(b.image_id), "%s", image);
	snprintf(b.campaign, sizeof(b.campaign), "%s", campaign);
	snprintf(b.state, sizeof(b.state), ORCH_BCAST_ACTIVE);
	b.devices = 3;
	b.chunk_count = count;
	b.next_chunk = next;
	ck_assert_int_eq(st->ops->bcast_put(st, &b, &err), FOTA_OK);
}

struct found {
	const char *group;
	struct orch_bcast_rec rec;
	bool hit;
};

static int find_group(void *ctx, const struct orch_bcast_rec *b)
{
	struct found *f = ctx;

	if (strcmp(b->group, f->group) == 0) {
		f->rec = *b;
		f->hit = true;
	}
	return 0;
}

static struct orch_bcast_rec get(const char *group)
{
	struct found f = {.group = group};
	struct fota_error err = {0};

	ck_assert_int_eq(st->ops->bcast_each(st, false, find_group, &f, &err), FOTA_OK);
	ck_assert_msg(f.hit, "no row for group %s", group);
	return f.rec;
}

static void wait_idle(void)
{
	/* The worker fails at once: the images are not in the (missing) state directory. */
	for (int i = 0; i < 1000 && orch_broadcaster_busy(bc); i++)
		usleep(10000);
	ck_assert(!orch_broadcaster_busy(bc));
}

static void setup(void)
{
	struct fota_error err = {0};

	ck_assert_msg(orch_store_open(":memory:", &st, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(st->ops->image_put(st, "img", "fw", "2.0.0", 1, &err), FOTA_OK);
	orch_config_init(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "/nonexistent/check_broadcast_store");
	memset(&pub, 0, sizeof(pub));
	pub.prefix = cfg.prefix;
	ck_assert_int_eq(orch_broadcaster_new(&cfg, &pub, &bc, &err), FOTA_OK);
	create("run", ORCH_CAMPAIGN_RUNNING);
	create("held", ORCH_CAMPAIGN_PAUSED);
}

static void teardown(void)
{
	orch_broadcaster_free(bc);
	orch_store_close(st);
}

static int count_bcast_events(void *ctx, const struct orch_event *e)
{
	struct orch_event *last = ctx;

	if (strcmp(e->kind, "broadcast") == 0)
		*last = *e;
	return 0;
}

START_TEST(test_resume_after_restart)
{
	struct fota_error err = {0};
	struct orch_event ev;

	row("lab", "00000000000000aa", "run", 64, 17);	 /* cut off midway */
	row("north", "00000000000000bb", "held", 64, 5); /* its campaign is paused */
	row("south", "00000000000000cc", "run", 64, 64); /* all acknowledged, end unrecorded */
	row("east", "00000000000000dd", "gone", 64, 3);	 /* its campaign was deleted */
	ck_assert_uint_eq(orch_broadcasts_resume(st, bc), 1);
	ck_assert_str_eq(get("north").state, "stopped");
	ck_assert_str_eq(get("south").state, "success");
	ck_assert_str_eq(get("east").state, "stopped");
	ck_assert_str_eq(get("lab").state, ORCH_BCAST_ACTIVE);
	wait_idle();
	/* The resumed one ended (its image cannot be read here): an event and its row say how,
	 * and that it had resumed at chunk 17. */
	orch_broadcasts_sync(st, bc);
	ck_assert_str_eq(get("lab").state, "failed");
	ck_assert_uint_eq(get("lab").next_chunk, 17);
	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(st->ops->event_each(st, "run", "", count_bcast_events, &ev, &err),
			 FOTA_OK);
	ck_assert_str_eq(ev.result, "failed");
	ck_assert_ptr_nonnull(strstr(ev.detail, "nothing sent (resumed at chunk 17)"));
}
END_TEST

START_TEST(test_active_row_without_broadcast_is_stopped)
{
	/* Dropped while queued by a pause: no result comes, so the next sync closes the row. */
	row("lab", "00000000000000aa", "held", 0, 0);
	orch_broadcasts_sync(st, bc);
	ck_assert_str_eq(get("lab").state, "stopped");
	/* Nothing is resumed from a closed row. */
	ck_assert_uint_eq(orch_broadcasts_resume(st, bc), 0);
}
END_TEST

START_TEST(test_unowned_active_row_is_taken_over)
{
	/* An instance sharing the database died midway (its ownership went with it): the next
	 * sync of a live instance resumes the broadcast where the broker's acknowledgements
	 * end. */
	row("lab", "00000000000000aa", "run", 64, 17);
	orch_broadcasts_sync(st, bc);
	ck_assert_str_eq(get("lab").state, ORCH_BCAST_ACTIVE);
	wait_idle();
	orch_broadcasts_sync(st, bc);
	ck_assert_str_eq(get("lab").state, "failed"); /* the image cannot be read here */
	ck_assert_uint_eq(get("lab").next_chunk, 17);
}
END_TEST

static Suite *broadcast_store_suite(void)
{
	Suite *s = suite_create("broadcast_store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_resume_after_restart);
	tcase_add_test(tc, test_active_row_without_broadcast_is_stopped);
	tcase_add_test(tc, test_unowned_active_row_is_taken_over);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(broadcast_store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
