/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the campaign engine: orch_engine_step and the operator commands driven
 * against an in-memory store, on a table of scripted reports and clock readings. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "testutil.h"

/* One scripted action at engine time t. */
enum act {
	END = 0,
	START,	/* campaign start */
	RESUME, /* campaign resume */
	RETRY,	/* campaign retry (dev NULL: all); n = devices expected re-admitted */
	REPORT, /* dev reports st/res, stamped dev_ts by the device */
	STEP,	/* orch_engine_step */
	EXPECT, /* campaign state want; failed_now, timed_out, admitted, incompatible counts */
};

struct action {
	enum act act;
	int64_t t;
	const char *dev;
	enum fota_state st;
	enum fota_result res;
	int64_t dev_ts;
	enum orch_cstate want;
	uint32_t failed_now, timed_out, admitted, incompatible, n;
};

#define AT(a, t_)                                                                                  \
	{                                                                                          \
		.act = (a), .t = (t_)                                                              \
	}
/* dev reports a failed model check (or state s, result r), stamped ts by the device. */
#define FAILS(t_, d, ts)                                                                           \
	{                                                                                          \
		.act = REPORT, .t = (t_), .dev = (d), .st = FOTA_STATE_FAILED,                     \
		.res = FOTA_RESULT_UNSUPPORTED, .dev_ts = (ts)                                     \
	}
#define REPORTS(t_, d, s, r, ts)                                                                   \
	{                                                                                          \
		.act = REPORT, .t = (t_), .dev = (d), .st = (s), .res = (r), .dev_ts = (ts)        \
	}
#define EXPECTS(s, fnow, tout, adm, inc)                                                           \
	{                                                                                          \
		.act = EXPECT, .want = (s), .failed_now = (fnow), .timed_out = (tout),             \
		.admitted = (adm), .incompatible = (inc)                                           \
	}
#define RETRIES(t_, d, count)                                                                      \
	{                                                                                          \
		.act = RETRY, .t = (t_), .dev = (d), .n = (count)                                  \
	}

static const struct {
	const char *name;
	const char *stages[2];
	uint32_t fail_count;
	uint32_t timeout_s;
	bool skips;
	struct action a[14];
} cases[] = {
    {"failures in the same second as start pause a threshold of 1",
     {"a,b", "100%"},
     1,
     0,
     false,
     {AT(START, 100), AT(STEP, 100), FAILS(100, "a", 100), FAILS(100, "b", 100), AT(STEP, 100),
      EXPECTS(ORCH_CAMPAIGN_PAUSED, 2, 0, 2, 0)}},
    {"a re-failure reported after a resume counts",
     {"a,b", "100%"},
     1,
     0,
     false,
     {AT(START, 100), AT(STEP, 100), FAILS(101, "a", 101), AT(STEP, 101),
      EXPECTS(ORCH_CAMPAIGN_PAUSED, 1, 0, 2, 0), AT(RESUME, 105), AT(STEP, 105),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 0, 2, 0), FAILS(106, "a", 106), AT(STEP, 106),
      EXPECTS(ORCH_CAMPAIGN_PAUSED, 1, 0, 2, 0)}},
    {"failure, resume and re-failure within one second, also on the device's clock",
     {"a,b", "100%"},
     1,
     0,
     false,
     {AT(START, 100), FAILS(100, "a", 100), AT(STEP, 100), AT(RESUME, 100), AT(STEP, 100),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 0, 2, 0), FAILS(100, "a", 100), AT(STEP, 100),
      EXPECTS(ORCH_CAMPAIGN_PAUSED, 1, 0, 2, 0)}},
    {"a retained replay of an acknowledged failure does not count",
     {"a,b", "100%"},
     1,
     0,
     false,
     {AT(START, 100), FAILS(101, "a", 101), AT(STEP, 101), AT(RESUME, 105), FAILS(106, "a", 101),
      AT(STEP, 106), EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 0, 2, 0)}},
    {"one failure stays under a threshold of 2",
     {"a,b", "100%"},
     2,
     0,
     false,
     {AT(START, 100), FAILS(100, "a", 100), AT(STEP, 100),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 1, 0, 2, 0)}},
    {"a silent device times out as a failure and pauses",
     {"a,b", "100%"},
     1,
     60,
     false,
     {AT(START, 100), AT(STEP, 100),
      REPORTS(110, "a", FOTA_STATE_CONFIRMED, FOTA_RESULT_SUCCESS, 110), AT(STEP, 159),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 0, 2, 0), AT(STEP, 160),
      EXPECTS(ORCH_CAMPAIGN_PAUSED, 1, 1, 2, 0)}},
    {"a silent device skipped by timeout lets the campaign complete",
     {"100%", NULL},
     1,
     60,
     true,
     {AT(START, 100), AT(STEP, 100),
      REPORTS(110, "a", FOTA_STATE_CONFIRMED, FOTA_RESULT_SUCCESS, 110), AT(STEP, 110),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 0, 2, 1), AT(STEP, 170), AT(STEP, 170),
      EXPECTS(ORCH_CAMPAIGN_COMPLETED, 0, 1, 2, 1)}},
    {"a late report ends a timeout; progress resets the silence",
     {"100%", NULL},
     0,
     60,
     true,
     {AT(START, 100), AT(STEP, 100), AT(STEP, 160), EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 2, 2, 1),
      REPORTS(170, "b", FOTA_STATE_DOWNLOADING, FOTA_RESULT_NONE, 170), AT(STEP, 200),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 1, 2, 1), AT(STEP, 230),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 2, 2, 1)}},
    {"retry re-admits failed and timed-out devices; a new failure counts again",
     {"a,b", "100%"},
     0,
     60,
     false,
     {AT(START, 100), AT(STEP, 100), FAILS(101, "a", 101), AT(STEP, 160),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 2, 1, 2, 0), RETRIES(170, NULL, 2), AT(STEP, 170),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 0, 0, 2, 0), FAILS(171, "a", 171), AT(STEP, 171),
      EXPECTS(ORCH_CAMPAIGN_RUNNING, 1, 0, 2, 0), RETRIES(172, "a", 1)}},
};

/* Registry: a and b take the image (model gw-100), c is another model. */
static const struct {
	const char *id, *model;
} registry[] = {{"a", "gw-100"}, {"b", ""}, {"c", "gw-200"}};

static struct orch_store *st;
static struct orch_engine *eng;
static struct orch_config cfg;

static void setup(void)
{
	struct fota_error err = {0};
	size_t i;

	ck_assert_msg(orch_store_open(":memory:", &st, &err) == FOTA_OK, "%s", err.msg);
	orch_config_init(&cfg);
	ck_assert_int_eq(orch_engine_new(&cfg, st, NULL, NULL, &eng, &err), FOTA_OK);
	for (i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
		struct orch_device d;

		memset(&d, 0, sizeof(d));
		snprintf(d.id, sizeof(d.id), "%s", registry[i].id);
		snprintf(d.model, sizeof(d.model), "%s", registry[i].model);
		snprintf(d.groups, sizeof(d.groups), "lab");
		ck_assert_int_eq(st->ops->device_put(st, &d, true, &err), FOTA_OK);
	}
	ck_assert_int_eq(st->ops->image_put(st, "img", "fw", "2.0.0", 1, &err), FOTA_OK);
}

static void teardown(void)
{
	orch_engine_free(eng);
	orch_store_close(st);
}

static void create_with(int k, const char *daily)
{
	struct orch_campaign c;
	struct fota_error err = {0};
	uint32_t i;

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "r1");
	snprintf(c.image_id, sizeof(c.image_id), "img");
	snprintf(c.group, sizeof(c.group), "lab");
	snprintf(c.salt, sizeof(c.salt), "r1");
	snprintf(c.model, sizeof(c.model), "gw-100");
	for (i = 0; i < 2 && cases[k].stages[i]; i++)
		ck_assert_int_eq(orch_stage_parse(cases[k].stages[i], &c.stages[i], &err), FOTA_OK);
	c.n_stages = i;
	c.fail_count = cases[k].fail_count;
	c.device_timeout_s = cases[k].timeout_s;
	c.timeout_skips = cases[k].skips;
	c.created = 1;
	if (daily)
		ck_assert_int_eq(fota_daily_window_parse(daily, "UTC", &c.daily, &err), FOTA_OK);
	ck_assert_int_eq(orch_campaign_validate(&c, &err), FOTA_OK);
	ck_assert_int_eq(st->ops->campaign_create(st, &c, &err), FOTA_OK);
	orch_campaign_clear(&c);
}

static void create(int k)
{
	create_with(k, NULL);
}

struct tally {
	const struct orch_campaign *c;
	struct orch_counts k;
};

static int count(void *ctx, const struct orch_cdev *d)
{
	struct tally *t = ctx;

	orch_counts_add(&t->k, t->c, d);
	return 0;
}

static void expect(int k, int i, const struct action *a)
{
	struct orch_campaign c;
	struct tally t;
	struct fota_error err = {0};

	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(st->ops->campaign_get(st, "r1", &c, &err), FOTA_OK);
	t.c = &c;
	ck_assert_int_eq(st->ops->cdev_each(st, "r1", count, &t, &err), FOTA_OK);
	ck_assert_msg(c.state == a->want, "%s, action %d: campaign %s, want %s (%s)", cases[k].name,
		      i, orch_cstate_name(c.state), orch_cstate_name(a->want), c.reason);
	ck_assert_msg(t.k.failed_now == a->failed_now, "%s, action %d: failed_now %u, want %u",
		      cases[k].name, i, t.k.failed_now, a->failed_now);
	ck_assert_msg(t.k.timed_out == a->timed_out, "%s, action %d: timed_out %u, want %u",
		      cases[k].name, i, t.k.timed_out, a->timed_out);
	ck_assert_msg(t.k.admitted == a->admitted, "%s, action %d: admitted %u, want %u",
		      cases[k].name, i, t.k.admitted, a->admitted);
	ck_assert_msg(t.k.incompatible == a->incompatible,
		      "%s, action %d: incompatible %u, want %u", cases[k].name, i, t.k.incompatible,
		      a->incompatible);
	orch_campaign_clear(&c);
}

static void report(const struct action *a)
{
	struct fota_status s;
	struct fota_error err = {0};

	memset(&s, 0, sizeof(s));
	snprintf(s.device, sizeof(s.device), "%s", a->dev);
	snprintf(s.campaign, sizeof(s.campaign), "r1");
	s.state = a->st;
	s.result = a->res;
	s.timestamp = a->dev_ts;
	ck_assert_int_eq(st->ops->begin(st, &err), FOTA_OK);
	ck_assert_msg(orch_engine_ingest(eng, &s, "", a->t, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(st->ops->commit(st, &err), FOTA_OK);
}

START_TEST(test_engine_script)
{
	struct fota_error err = {0};
	enum orch_cstate from, to;
	uint32_t n;
	int i;

	create(_i);
	for (i = 0; cases[_i].a[i].act != END; i++) {
		const struct action *a = &cases[_i].a[i];

		switch (a->act) {
		case START:
		case RESUME:
			ck_assert_msg(orch_campaign_command(st, "r1",
							    a->act == START ? "start" : "resume",
							    a->t, &from, &to, &err) == FOTA_OK,
				      "%s: %s", cases[_i].name, err.msg);
			break;
		case RETRY:
			ck_assert_msg(orch_campaign_retry(st, "r1", a->dev, a->t, &n, &err) ==
					  FOTA_OK,
				      "%s: %s", cases[_i].name, err.msg);
			ck_assert_uint_eq(n, a->n);
			break;
		case REPORT:
			report(a);
			break;
		case STEP:
			ck_assert_msg(orch_engine_step(eng, "r1", a->t, &err) == FOTA_OK, "%s: %s",
				      cases[_i].name, err.msg);
			break;
		case EXPECT:
			expect(_i, i, a);
			break;
		case END:
			break;
		}
	}
}
END_TEST

struct kinds {
	char seen[512];
};

static int kind_of(void *ctx, const struct orch_event *e)
{
	struct kinds *k = ctx;
	size_t n = strlen(k->seen);

	snprintf(k->seen + n, sizeof(k->seen) - n, "%s:%s:%s ", e->device[0] ? e->device : "-",
		 e->kind, e->result);
	return 0;
}

/* The audit trail names timeouts, incompatible devices and retries. */
START_TEST(test_audit_trail)
{
	struct fota_error err = {0};
	enum orch_cstate from, to;
	struct kinds k = {{0}};
	uint32_t n;

	create(8); /* the retry case: two stages, timeout 60 */
	ck_assert_int_eq(orch_campaign_command(st, "r1", "start", 100, &from, &to, &err), FOTA_OK);
	ck_assert_int_eq(orch_engine_step(eng, "r1", 100, &err), FOTA_OK);
	ck_assert_int_eq(orch_engine_step(eng, "r1", 200, &err), FOTA_OK);
	ck_assert_int_eq(orch_campaign_retry(st, "r1", "b", 210, &n, &err), FOTA_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(st->ops->event_each(st, "r1", NULL, kind_of, &k, &err), FOTA_OK);
	ck_assert_msg(strstr(k.seen, "a:timed_out:failed "), "%s", k.seen);
	ck_assert_msg(strstr(k.seen, "b:retry:command "), "%s", k.seen);
	ck_assert_msg(strstr(k.seen, "-:retry:command "), "%s", k.seen);
	ck_assert_msg(!strstr(k.seen, "a:retry"), "%s", k.seen);
	/* Retrying a device that is not in the campaign, or that is fine, says so. */
	ck_assert_int_eq(orch_campaign_retry(st, "r1", "zz", 220, &n, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_int_eq(orch_campaign_retry(st, "r1", "b", 220, &n, &err), FOTA_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err.msg, "neither failed nor timed out"));
}
END_TEST

/* The 100 % stage admits c by percentage, but its registered model rules the image out. */
START_TEST(test_incompatible_never_admitted)
{
	struct fota_error err = {0};
	enum orch_cstate from, to;
	struct orch_cdev d;
	struct kinds k = {{0}};

	create(6); /* one stage, 100 % */
	ck_assert_int_eq(orch_campaign_command(st, "r1", "start", 100, &from, &to, &err), FOTA_OK);
	ck_assert_int_eq(orch_engine_step(eng, "r1", 100, &err), FOTA_OK);
	ck_assert_int_eq(st->ops->cdev_get(st, "r1", "c", &d, &err), FOTA_OK);
	ck_assert_str_eq(orch_cmark_name(d.mark), "incompatible");
	ck_assert_ptr_nonnull(strstr(d.reason, "gw-200"));
	ck_assert_int_eq(st->ops->event_each(st, "r1", "c", kind_of, &k, &err), FOTA_OK);
	ck_assert_msg(strstr(k.seen, "c:incompatible:") && !strstr(k.seen, "admitted"), "%s",
		      k.seen);
}
END_TEST

/* Create-time checks: unknown group, unknown or foreign canary, canary ruled out. */
START_TEST(test_preflight)
{
	struct orch_campaign c;
	struct fota_error err = {0};
	uint32_t members, incompatible;

	memset(&c, 0, sizeof(c));
	snprintf(c.group, sizeof(c.group), "lab");
	snprintf(c.model, sizeof(c.model), "gw-100");
	c.n_stages = 1;
	c.stages[0].devices = strdup("a");
	ck_assert_int_eq(orch_campaign_preflight(st, &c, &members, &incompatible, &err), FOTA_OK);
	ck_assert_uint_eq(members, 3);
	ck_assert_uint_eq(incompatible, 1);
	snprintf(c.stages[0].devices, 2, "c");
	ck_assert_int_eq(orch_campaign_preflight(st, &c, &members, &incompatible, &err),
			 FOTA_ERR_INCOMPATIBLE);
	ck_assert_msg(strstr(err.msg, "'c'") && strstr(err.msg, "gw-200"), "%s", err.msg);
	snprintf(c.stages[0].devices, 2, "x");
	ck_assert_int_eq(orch_campaign_preflight(st, &c, &members, &incompatible, &err),
			 FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "not in the registry"));
	c.stages[0].devices[0] = '\0';
	snprintf(c.group, sizeof(c.group), "nosuchgroup");
	ck_assert_int_eq(orch_campaign_preflight(st, &c, &members, &incompatible, &err),
			 FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no registered device"));
	orch_campaign_clear(&c);
}
END_TEST

/* A daily window of 01:00-02:00 UTC: nobody is admitted before it opens, and the directive
 * carries it to the devices. */
START_TEST(test_daily_window)
{
	struct fota_error err = {0};
	enum orch_cstate from, to;
	struct orch_campaign c;
	struct orch_image img;
	struct fota_directive d;
	struct tally t;

	create_with(6, "01:00-02:00"); /* one stage, 100 % */
	ck_assert_int_eq(orch_campaign_command(st, "r1", "start", 100, &from, &to, &err), FOTA_OK);
	ck_assert_int_eq(orch_engine_step(eng, "r1", 100, &err), FOTA_OK);
	ck_assert_int_eq(orch_engine_step(eng, "r1", 3599, &err), FOTA_OK);
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(st->ops->campaign_get(st, "r1", &c, &err), FOTA_OK);
	t.c = &c;
	ck_assert_int_eq(st->ops->cdev_each(st, "r1", count, &t, &err), FOTA_OK);
	ck_assert_uint_eq(t.k.admitted + t.k.incompatible, 0);
	orch_campaign_clear(&c);
	ck_assert_int_eq(orch_engine_step(eng, "r1", 3600, &err), FOTA_OK);
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(st->ops->campaign_get(st, "r1", &c, &err), FOTA_OK);
	t.c = &c;
	ck_assert_int_eq(st->ops->cdev_each(st, "r1", count, &t, &err), FOTA_OK);
	ck_assert_uint_eq(t.k.admitted, 2);
	ck_assert_uint_eq(t.k.incompatible, 1);
	memset(&img, 0, sizeof(img));
	img.manifest_jws = (char *)"{}";
	img.manifest_jws_len = 2;
	ck_assert_int_eq(orch_campaign_directive(&c, &img, 3600, &d, &err), FOTA_OK);
	ck_assert(d.daily.set);
	ck_assert_uint_eq(d.daily.start_min, 60);
	ck_assert_uint_eq(d.daily.end_min, 120);
	ck_assert_str_eq(d.daily.tz, "UTC");
	fota_directive_clear(&d);
	orch_campaign_clear(&c);
}
END_TEST

static const struct {
	const char *in;
	fota_err rc;
	uint32_t secs;
} durations[] = {
    {"90", FOTA_OK, 90},       {"90s", FOTA_OK, 90},	  {"10m", FOTA_OK, 600},
    {"12h", FOTA_OK, 43200},   {"7d", FOTA_OK, 604800},	  {"", FOTA_ERR_FIELD, 0},
    {"d", FOTA_ERR_FIELD, 0},  {"7w", FOTA_ERR_FIELD, 0}, {"400d", FOTA_ERR_FIELD, 0},
    {"-1", FOTA_ERR_FIELD, 0},
};

/* The registry's groups are the truth once set: a status naming other groups (a device that has
 * not applied its assignment yet) does not change them; it fills them in only for a device the
 * registry has no groups for. */
START_TEST(test_status_groups_do_not_override_registry)
{
	struct fota_status s;
	struct orch_device d;
	struct fota_error err = {0};

	memset(&s, 0, sizeof(s));
	snprintf(s.device, sizeof(s.device), "a");
	ck_assert_int_eq(st->ops->begin(st, &err), FOTA_OK);
	ck_assert_int_eq(orch_engine_ingest(eng, &s, "old,other", 10, &err), FOTA_OK);
	snprintf(s.device, sizeof(s.device), "new-1");
	ck_assert_int_eq(orch_engine_ingest(eng, &s, "field", 10, &err), FOTA_OK);
	ck_assert_int_eq(st->ops->commit(st, &err), FOTA_OK);
	ck_assert_int_eq(st->ops->device_get(st, "a", &d, &err), FOTA_OK);
	ck_assert_str_eq(d.groups, "lab");
	ck_assert_int_eq(d.last_seen, 10); /* the rest of the report still counts */
	ck_assert_int_eq(st->ops->device_get(st, "new-1", &d, &err), FOTA_OK);
	ck_assert_str_eq(d.groups, "field");
}
END_TEST

/* The ingest queue's depth and the age of its oldest entry, as /metrics shows them. */
START_TEST(test_ingest_queue_lag)
{
	struct orch_engine_stats es;

	orch_engine_get_stats(eng, &es);
	ck_assert_uint_eq(es.queued, 0);
	ck_assert_int_eq(es.oldest_ms, 0);
	orch_engine_submit_status(eng, "a", (const uint8_t *)"{}", 2);
	orch_engine_submit_status(eng, "b", (const uint8_t *)"{}", 2);
	/* The monotonic clock moves at least this much while the head waits. */
	usleep(30 * 1000);
	orch_engine_get_stats(eng, &es);
	ck_assert_uint_eq(es.queued, 2);
	ck_assert_int_ge(es.oldest_ms, 30);
	orch_engine_run_once(eng);
	orch_engine_get_stats(eng, &es);
	ck_assert_uint_eq(es.queued, 0);
	ck_assert_int_eq(es.oldest_ms, 0);
	ck_assert_uint_eq(es.statuses, 2);
}
END_TEST

START_TEST(test_duration)
{
	struct fota_error err = {0};
	uint32_t v = 0;

	ck_assert_msg(orch_duration_parse("--device-timeout", durations[_i].in, 365u * 86400, &v,
					  &err) == durations[_i].rc,
		      "'%s': %s", durations[_i].in, err.msg);
	if (durations[_i].rc == FOTA_OK)
		ck_assert_uint_eq(v, durations[_i].secs);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_engine_script, 0, TU_N(cases));
	tcase_add_test(tc, test_audit_trail);
	tcase_add_test(tc, test_incompatible_never_admitted);
	tcase_add_test(tc, test_preflight);
	tcase_add_test(tc, test_daily_window);
	tcase_add_test(tc, test_status_groups_do_not_override_registry);
	tcase_add_test(tc, test_ingest_queue_lag);
	tcase_add_loop_test(tc, test_duration, 0, TU_N(durations));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(engine_suite());
}
