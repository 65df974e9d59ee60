/* SPDX-License-Identifier: Apache-2.0 */
/* `campaign`: create and steer staged rollouts in the store; `serve` publishes what they say. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fota/atomic_file.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#include "broadcaster.h"
#include "campaign.h"
#include "campaign_json.h"
#include "cmd.h"
#include "config.h"
#include "image_store.h"
#include "store.h"

#define BAR_WIDTH 24
#define DEFAULT_WAIT_TIMEOUT_S 600u

static const char campaign_usage[] =
    "Usage: fota-orchestrator campaign COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "  create ID --image IMAGE_ID --group G --stage SPEC [--stage SPEC...]\n"
    "         [--fail-threshold N|P%] [--admit-rate N] [--window FROM/TO] [--salt S]\n"
    "         [--device-timeout DURATION [--on-timeout failed|skipped]]\n"
    "         [--window-daily HH:MM-HH:MM [--tz ZONE]] [--force]\n"
    "  start ID | pause ID | resume ID | abort ID\n"
    "  retry ID [--device D]  re-admit failed and timed-out devices (a new directive)\n"
    "  status ID [--watch SECONDS] [--pending]\n"
    "  list\n"
    "  wait ID --state STATE [--timeout SECONDS]\n"
    "  events ID [--device D]\n"
    "  preview ID             which registered devices each stage admits\n"
    "\n"
    "A stage SPEC is devices and/or a percentage of the group, then options:\n"
    "  dev-1,dev-2            these devices (a canary)\n"
    "  50%                    a deterministic half of the group\n"
    "  dev-9+10%              both\n"
    "  ...:success=90:wait=10m  advance when 90 % of admitted devices confirmed, after a\n"
    "                         10 minute soak (defaults: success=100, wait=0)\n"
    "--fail-threshold pauses the campaign by itself at N failed devices, or P % of admitted\n"
    "ones. --admit-rate limits new admissions per minute. --window bounds when devices may\n"
    "start (RFC 3339 UTC times); --window-daily does so every day in local time of --tz\n"
    "(an IANA zone such as Europe/Berlin, default UTC); devices keep to it as well.\n"
    "--device-timeout (90s, 30m, 12h, 7d) times out an admitted\n"
    "device silent that long; it then counts as failed (default) or, with --on-timeout\n"
    "skipped, leaves the stage's success ratio. `create` refuses an unknown or empty group,\n"
    "a listed device that is not registered in the group, and devices whose registered\n"
    "model or hardware revision the image rules out, unless --force. `status --pending`\n"
    "lists admitted devices not yet settled and how long since each last reported.\n"
    "Every change is published by a running `serve`.\n"
    "\n"
    "Exit: 0 ok, 1 failure, 2 usage, 3 timeout (wait), 5 no such campaign or image,\n"
    "6 not allowed in the campaign's state; `wait` exits 1 if the campaign ended otherwise.\n"
    "\n";

enum {
	OPT_IMAGE = 1,
	OPT_GROUP,
	OPT_STAGE,
	OPT_FAIL,
	OPT_ADMIT_RATE,
	OPT_WINDOW,
	OPT_SALT,
	OPT_WATCH,
	OPT_STATE,
	OPT_TIMEOUT,
	OPT_DEVICE,
	OPT_DEVICE_TIMEOUT,
	OPT_ON_TIMEOUT,
	OPT_FORCE,
	OPT_PENDING,
	OPT_WINDOW_DAILY,
	OPT_TZ,
};

static int exit_for(const struct fota_error *err)
{
	return orch_exit_for(err->code);
}

/* --- create ---------------------------------------------------------------------------------- */

static fota_err parse_window(const char *s, struct orch_campaign *c, struct fota_error *err)
{
	char from[FOTA_TIME_STR_LEN + 1], to[FOTA_TIME_STR_LEN + 1];
	const char *slash = strchr(s, '/');
	fota_err rc = FOTA_OK;

	if (!slash || (size_t)(slash - s) > FOTA_TIME_STR_LEN ||
	    strlen(slash + 1) > FOTA_TIME_STR_LEN)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "--window: expected FROM/TO (either may be empty)");
	snprintf(from, sizeof(from), "%.*s", (int)(slash - s), s);
	snprintf(to, sizeof(to), "%s", slash + 1);
	if (from[0])
		rc = fota_time_parse(from, &c->not_before, err);
	if (rc == FOTA_OK && to[0])
		rc = fota_time_parse(to, &c->not_after, err);
	if (rc)
		fota_error_prefix(err, "--window");
	return rc;
}

/* --window-daily in zone tz, which this host must know: the engine admits by it. */
static fota_err daily_window(const char *spec, const char *tz, struct orch_campaign *c,
			     struct fota_error *err)
{
	struct fota_tz *zone = NULL;
	fota_err rc = fota_daily_window_parse(spec, tz, &c->daily, err);

	if (rc == FOTA_OK)
		rc = fota_tz_load(tz, &zone, err);
	if (rc)
		fota_error_prefix(err, "--window-daily/--tz");
	fota_tz_free(zone);
	return rc;
}

static int do_create(struct orch_config *cfg, struct orch_campaign *c, const char *id, bool force,
		     struct fota_error *err)
{
	struct orch_campaign_created res;
	struct orch_store *st = NULL;
	int ret = ORCH_EXIT_FAIL;
	fota_err rc;

	if (orch_open_store(cfg, &st, err)) {
		orch_fail("campaign create", err);
		goto out;
	}
	rc = orch_campaign_create(cfg, st, c, id, force, NULL, &res, err);
	if (res.forced)
		orch_warn("campaign create: --force: %s", res.preflight);
	if (res.refused) {
		orch_error("campaign create: refused: %s (--force creates it anyway)", err->msg);
		ret = rc == FOTA_ERR_NOT_FOUND ? ORCH_EXIT_NOT_FOUND : ORCH_EXIT_USAGE;
		goto out;
	}
	if (rc) {
		orch_fail("campaign create", err);
		ret = rc == FOTA_ERR_FIELD ? ORCH_EXIT_USAGE : exit_for(err);
		goto out;
	}
	if (res.incompatible && res.incompatible < res.members)
		orch_log("campaign create: %u of %u registered devices of group %s cannot take the "
			 "image; they are reported as incompatible, never admitted",
			 res.incompatible, res.members, c->group);
	if (cfg->json)
		printf("{\"campaign\":\"%s\",\"state\":\"draft\"}\n", c->id);
	else
		printf("campaign %s created (draft); `campaign start %s` begins it\n", c->id,
		       c->id);
	ret = ORCH_EXIT_OK;
out:
	orch_store_close(st);
	return ret;
}

/* --- start / pause / resume / abort ---------------------------------------------------------- */

static int do_transition(struct orch_config *cfg, const char *verb, const char *id,
			 struct fota_error *err)
{
	struct orch_store *st = NULL;
	enum orch_cstate from, to;
	int ret = ORCH_EXIT_FAIL;

	if (orch_open_store(cfg, &st, err)) {
		orch_fail("campaign", err);
		goto out;
	}
	if (orch_campaign_command(st, id, verb, fota_time_now(), &from, &to, err)) {
		orch_fail("campaign", err);
		ret = exit_for(err);
		goto out;
	}
	if (cfg->json)
		printf("{\"campaign\":\"%s\",\"state\":\"%s\"}\n", id, orch_cstate_name(to));
	else
		printf("campaign %s: %s -> %s\n", id, orch_cstate_name(from), orch_cstate_name(to));
	ret = ORCH_EXIT_OK;
out:
	orch_store_close(st);
	return ret;
}

static int do_retry(struct orch_config *cfg, const char *id, const char *device,
		    struct fota_error *err)
{
	struct orch_store *st = NULL;
	uint32_t n = 0;
	int ret = ORCH_EXIT_FAIL;

	if (orch_open_store(cfg, &st, err)) {
		orch_fail("campaign retry", err);
		goto out;
	}
	if (orch_campaign_retry(st, id, device, fota_time_now(), &n, err)) {
		orch_fail("campaign retry", err);
		ret = exit_for(err);
		goto out;
	}
	if (cfg->json)
		printf("{\"campaign\":\"%s\",\"retried\":%u}\n", id, n);
	else if (n)
		printf("campaign %s: %u device%s re-admitted; a running `serve` publishes the new "
		       "directive\n",
		       id, n, n == 1 ? "" : "s");
	else
		printf("campaign %s: no failed or timed-out device to retry\n", id);
	ret = ORCH_EXIT_OK;
out:
	orch_store_close(st);
	return ret;
}

/* --- status ---------------------------------------------------------------------------------- */

struct view {
	const struct orch_campaign *c;
	struct orch_counts all;
	struct orch_counts stage[ORCH_MAX_STAGES];
	cJSON *failures;
	cJSON *incompatible;
	int64_t last_confirm;
};

static int view_one(void *ctx, const struct orch_cdev *d)
{
	struct view *v = ctx;
	uint32_t s = d->stage < ORCH_MAX_STAGES ? d->stage : ORCH_MAX_STAGES - 1;

	orch_counts_add(&v->all, v->c, d);
	orch_counts_add(&v->stage[s], v->c, d);
	if (d->mark == ORCH_CMARK_INCOMPATIBLE) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "device", d->device);
		cJSON_AddStringToObject(o, "reason", d->reason);
		cJSON_AddItemToArray(v->incompatible, o);
	} else if (d->mark == ORCH_CMARK_TIMED_OUT || d->state == FOTA_STATE_FAILED ||
		   d->state == FOTA_STATE_ROLLED_BACK) {
		cJSON *o = cJSON_CreateObject();
		bool timed_out = d->mark == ORCH_CMARK_TIMED_OUT;

		cJSON_AddStringToObject(o, "device", d->device);
		cJSON_AddStringToObject(o, "state",
					timed_out ? "timed_out" : fota_state_name(d->state));
		cJSON_AddStringToObject(o, "result",
					timed_out ? (v->c->timeout_skips ? "skipped" : "failed")
						  : fota_result_name(d->result));
		cJSON_AddStringToObject(
		    o, "reason", timed_out ? "no report within the device timeout" : d->reason);
		cJSON_AddItemToArray(v->failures, o);
	}
	if (d->state == FOTA_STATE_CONFIRMED && d->updated > v->last_confirm)
		v->last_confirm = d->updated;
	return 0;
}

struct expect {
	const struct orch_campaign *c;
	uint32_t per_stage[ORCH_MAX_STAGES]; /* registered devices each stage would admit */
	uint32_t members;		     /* registered group members, as the engine counts */
};

static int expect_one(void *ctx, const struct orch_device *d)
{
	struct expect *x = ctx;
	char why[FOTA_MAX_REASON_LEN + 1];
	uint32_t i;

	x->members++;
	/* Devices the image rules out are never admitted, so never expected. */
	if (!orch_campaign_compatible(x->c, d->model, d->hw, why, sizeof(why)))
		return 0;

	for (i = 0; i < x->c->n_stages; i++)
		if (orch_campaign_admits(x->c, i, orch_campaign_stage_percent(x->c, i), d->id))
			x->per_stage[i]++;
	return 0;
}

static size_t list_count(const char *list)
{
	size_t n = 1;

	for (; *list; list++)
		n += *list == ',';
	return n;
}

static void bar(char *out, uint32_t done, uint32_t failed, uint32_t total)
{
	uint32_t i, nd = total ? done * BAR_WIDTH / total : 0;
	uint32_t nf = total ? (failed * BAR_WIDTH + total - 1) / total : 0;

	for (i = 0; i < BAR_WIDTH; i++)
		out[i] = i < nd ? '#' : i < nd + nf ? 'x' : '.';
	out[BAR_WIDTH] = '\0';
}

static void fmt_duration(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		snprintf(buf, size, "-");
	else if (s < 120)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(buf, size, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, size, "%lldh%02lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
}

/* How stage i's devices get the image (orch_broadcast_pays): from the devices it admitted,
 * or for a stage not reached yet from those it would admit. */
static const char *delivery(const struct orch_campaign *c, const struct view *v,
			    const struct expect *x, uint32_t i)
{
	uint32_t n = v->stage[i].admitted;

	if (i > c->stage && c->state != ORCH_CAMPAIGN_COMPLETED)
		n = x->per_stage[i] - (i ? x->per_stage[i - 1] : 0);
	return orch_broadcast_pays(n, x->members) ? "broadcast" : "unicast";
}

/* The payload line of `campaign status` (orch_payload_json in --json). */
static void print_payload(const struct orch_payload_choice *p, const char *last)
{
	if (!p->has_delta) {
		printf("payload  full (the image offers no delta)\n");
		return;
	}
	printf("payload  delta %s from base %s (version %s): broadcast %s now, %u of %u waiting "
	       "devices run the base\n",
	       p->delta_id, p->base_id, p->base_known ? p->base_version : "unknown: not stored",
	       p->delta ? "delta" : "full", p->on_base, p->waiting);
	if (last[0])
		printf("         last choice: %s\n", last);
}

static int show_status(const struct orch_config *cfg, struct orch_store *st, const char *id,
		       bool json, struct fota_error *err)
{
	struct orch_campaign c;
	struct view v;
	struct expect x;
	struct orch_payload_choice pay;
	char pay_last[ORCH_MAX_EVENT_DETAIL];
	int64_t now = fota_time_now(), eta = -1;
	uint32_t i, expected, nbcast = 0, nbcast_bad = 0;
	char t[FOTA_TIME_STR_LEN], d1[32], b[BAR_WIDTH + 1];
	cJSON *o = NULL, *stages;
	int ret = ORCH_EXIT_FAIL;

	memset(&v, 0, sizeof(v));
	memset(&x, 0, sizeof(x));
	if (st->ops->campaign_get(st, id, &c, err)) {
		orch_fail("campaign status", err);
		return exit_for(err);
	}
	v.c = &c;
	x.c = &c;
	v.failures = cJSON_CreateArray();
	v.incompatible = cJSON_CreateArray();
	if (st->ops->cdev_each(st, c.id, view_one, &v, err) ||
	    st->ops->device_each(st, c.group, expect_one, &x, err)) {
		orch_fail("campaign status", err);
		goto out;
	}
	if (orch_campaign_broadcasts(st, c.id, &nbcast, &nbcast_bad, err) ||
	    orch_payload_choose(cfg, st, &c, &pay, err) ||
	    orch_payload_last(st, c.id, pay_last, sizeof(pay_last), err)) {
		orch_fail("campaign status", err);
		goto out;
	}
	expected = c.n_stages ? x.per_stage[c.n_stages - 1] : 0;
	if (expected < v.all.admitted)
		expected = v.all.admitted;
	/* ETA from the confirmation rate so far; none before the first confirmation. */
	if (c.state == ORCH_CAMPAIGN_RUNNING && v.all.confirmed && c.started &&
	    v.last_confirm > c.started)
		eta = (int64_t)(expected - v.all.confirmed) * (v.last_confirm - c.started) /
		      v.all.confirmed;

	if (json) {
		o = orch_campaign_head_json(&c);
		cJSON_AddNumberToObject(o, "directive_seq", (double)c.directive_seq);
		cJSON_AddBoolToObject(o, "published", c.pub_rev >= c.want_rev);
		cJSON_AddNumberToObject(o, "expected_devices", expected);
		cJSON_AddNumberToObject(o, "group_members", x.members);
		cJSON_AddNumberToObject(o, "broadcasts", nbcast);
		cJSON_AddNumberToObject(o, "broadcasts_incomplete", nbcast_bad);
		cJSON_AddItemToObject(o, "payload", orch_payload_json(&pay, pay_last));
		cJSON_AddItemToObject(o, "counts", orch_counts_json(&v.all));
		stages = cJSON_AddArrayToObject(o, "stages");
		for (i = 0; i < c.n_stages; i++) {
			cJSON *s = orch_counts_json(&v.stage[i]);

			cJSON_AddNumberToObject(s, "index", i + 1);
			cJSON_AddStringToObject(s, "devices",
						c.stages[i].devices ? c.stages[i].devices : "");
			cJSON_AddNumberToObject(s, "percent", c.stages[i].percent);
			cJSON_AddNumberToObject(s, "success_pct", c.stages[i].success_pct);
			cJSON_AddNumberToObject(s, "wait_s", c.stages[i].wait_s);
			cJSON_AddStringToObject(s, "delivery", delivery(&c, &v, &x, i));
			cJSON_AddStringToObject(s, "status",
						i < c.stage || c.state == ORCH_CAMPAIGN_COMPLETED
						    ? "done"
						: i == c.stage ? "current"
							       : "pending");
			cJSON_AddItemToArray(stages, s);
		}
		cJSON_AddItemToObject(o, "failures", v.failures);
		v.failures = NULL;
		cJSON_AddItemToObject(o, "incompatible", v.incompatible);
		v.incompatible = NULL;
		cJSON_AddNumberToObject(o, "device_timeout_s", c.device_timeout_s);
		if (c.daily.set) {
			char w[FOTA_DAILY_WINDOW_STR_LEN + 1];

			fota_daily_window_format(&c.daily, w);
			cJSON_AddStringToObject(o, "window_daily", w);
			cJSON_AddStringToObject(o, "tz", c.daily.tz);
		} else {
			cJSON_AddNullToObject(o, "window_daily");
			cJSON_AddNullToObject(o, "tz");
		}
		cJSON_AddStringToObject(o, "on_timeout", c.timeout_skips ? "skipped" : "failed");
		if (eta >= 0)
			cJSON_AddNumberToObject(o, "eta_s", (double)eta);
		else
			cJSON_AddNullToObject(o, "eta_s");
		orch_print_json(o, NULL);
		ret = ORCH_EXIT_OK;
		goto out;
	}

	fota_time_format(c.started ? c.started : c.created, t);
	printf("campaign %s  image %s  group %s\n", c.id, c.image_id, c.group);
	printf("state    %s%s%s\n", orch_cstate_name(c.state), c.reason[0] ? ": " : "", c.reason);
	printf("%s  %s   directive seq %llu%s\n", c.started ? "started" : "created", t,
	       (unsigned long long)c.directive_seq,
	       c.pub_rev < c.want_rev ? " (change not yet published: is `serve` running?)" : "");
	printf("\n");
	for (i = 0; i < c.n_stages; i++) {
		const struct orch_cstage *g = &c.stages[i];
		const struct orch_counts *k = &v.stage[i];
		char what[48];
		const char *mark = i < c.stage || c.state == ORCH_CAMPAIGN_COMPLETED ? "done"
				   : i == c.stage				     ? "<- current"
										     : "";
		uint32_t total = k->admitted;

		if (g->devices && g->devices[0] && g->percent)
			snprintf(what, sizeof(what), "listed+%u%%", g->percent);
		else if (g->devices && g->devices[0])
			snprintf(what, sizeof(what), "canary (%zu)", list_count(g->devices));
		else
			snprintf(what, sizeof(what), "%u%%", g->percent);
		if (i > c.stage && c.state != ORCH_CAMPAIGN_COMPLETED)
			total = x.per_stage[i] - (i ? x.per_stage[i - 1] : 0);
		bar(b, k->confirmed, k->failed, total);
		printf("stage %u  %-14s [%s] %3u/%-3u confirmed  %u failed  %u in flight  ", i + 1,
		       what, b, k->confirmed, total, k->failed, k->in_flight);
		if (k->timed_out)
			printf("%u timed out  ", k->timed_out);
		printf("(needs %u%%, wait %us) %s %s\n", g->success_pct, g->wait_s,
		       delivery(&c, &v, &x, i), mark);
	}
	printf("\ndevices  %u admitted of %u expected:", v.all.admitted, expected);
	for (i = 0; i < FOTA_STATE__COUNT; i++)
		if (v.all.by_state[i])
			printf(" %s %u", fota_state_name((enum fota_state)i), v.all.by_state[i]);
	printf("\n");
	printf("broadcasts: %u", nbcast);
	if (nbcast_bad)
		printf(" (%u stopped or failed)", nbcast_bad);
	printf("\n");
	print_payload(&pay, pay_last);
	if (cJSON_GetArraySize(v.failures) > 0) {
		const cJSON *f;

		printf("failures (%d):\n", cJSON_GetArraySize(v.failures));
		cJSON_ArrayForEach(f, v.failures)
		{
			printf("  %-20s %-12s %s: %s\n",
			       cJSON_GetObjectItem(f, "device")->valuestring,
			       cJSON_GetObjectItem(f, "state")->valuestring,
			       cJSON_GetObjectItem(f, "result")->valuestring,
			       cJSON_GetObjectItem(f, "reason")->valuestring);
		}
	}
	if (cJSON_GetArraySize(v.incompatible) > 0) {
		const cJSON *f;

		printf("incompatible, not admitted (%d):\n", cJSON_GetArraySize(v.incompatible));
		cJSON_ArrayForEach(f, v.incompatible)
		{
			printf("  %-20s %s\n", cJSON_GetObjectItem(f, "device")->valuestring,
			       cJSON_GetObjectItem(f, "reason")->valuestring);
		}
	}
	if (c.daily.set) {
		char w[FOTA_DAILY_WINDOW_STR_LEN + 1];

		fota_daily_window_format(&c.daily, w);
		printf("daily window %s %s (devices are admitted and start work only inside it)\n",
		       w, c.daily.tz);
	}
	if (c.device_timeout_s) {
		fmt_duration(c.device_timeout_s, d1, sizeof(d1));
		printf("device timeout %s, timed-out devices count as %s\n", d1,
		       c.timeout_skips ? "skipped" : "failed");
	}
	fmt_duration(eta, d1, sizeof(d1));
	if (c.state == ORCH_CAMPAIGN_RUNNING)
		printf("ETA      %s\n", eta >= 0 ? d1 : "unknown (no device confirmed yet)");
	else if (c.finished) {
		fmt_duration(c.finished - c.started, d1, sizeof(d1));
		printf("took     %s\n", d1);
	}
	(void)now;
	ret = ORCH_EXIT_OK;
out:
	cJSON_Delete(v.failures);
	cJSON_Delete(v.incompatible);
	cJSON_Delete(o);
	orch_campaign_clear(&c);
	return ret;
}

struct pending {
	const struct orch_campaign *c;
	int64_t now;
	cJSON *arr;
	uint32_t n;
};

static int pending_one(void *ctx, const struct orch_cdev *d)
{
	struct pending *p = ctx;
	int64_t silent = p->now - orch_cdev_last_heard(p->c, d);
	bool timed_out = d->mark == ORCH_CMARK_TIMED_OUT;
	char t[FOTA_TIME_STR_LEN], ago[32];
	cJSON *o;

	if (!timed_out && orch_cdev_settled(d))
		return 0;
	p->n++;
	fmt_duration(silent, ago, sizeof(ago));
	if (!p->arr) {
		printf("%-24s %-12s %s %s ago\n", d->device,
		       timed_out ? "timed_out" : fota_state_name(d->state),
		       d->reported ? "last reported" : "admitted, never reported,", ago);
		return 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "device", d->device);
	cJSON_AddStringToObject(o, "state", timed_out ? "timed_out" : fota_state_name(d->state));
	cJSON_AddBoolToObject(o, "reported", d->reported);
	if (d->reported) {
		fota_time_format(d->updated, t);
		cJSON_AddStringToObject(o, "last_report", t);
	} else {
		cJSON_AddNullToObject(o, "last_report");
	}
	fota_time_format(d->admitted, t);
	cJSON_AddStringToObject(o, "admitted", t);
	cJSON_AddNumberToObject(o, "silent_s", (double)silent);
	cJSON_AddItemToArray(p->arr, o);
	return 0;
}

/* Admitted devices not settled yet (and timed-out ones): who holds the campaign up. */
static int show_pending(struct orch_store *st, const char *id, bool json, struct fota_error *err)
{
	struct orch_campaign c;
	struct pending p = {.c = &c, .now = fota_time_now()};
	int ret = ORCH_EXIT_FAIL;

	if (st->ops->campaign_get(st, id, &c, err)) {
		orch_fail("campaign status", err);
		return exit_for(err);
	}
	if (json)
		p.arr = cJSON_CreateArray();
	if (st->ops->cdev_each(st, c.id, pending_one, &p, err)) {
		orch_fail("campaign status", err);
	} else {
		if (json)
			orch_print_json(p.arr, "[]");
		else if (p.n == 0)
			printf("campaign %s: no admitted device is pending\n", c.id);
		ret = ORCH_EXIT_OK;
	}
	cJSON_Delete(p.arr);
	orch_campaign_clear(&c);
	return ret;
}

struct preview {
	const struct orch_campaign *c;
	cJSON *arr;
	bool json;
};

static int preview_one(void *ctx, const struct orch_device *d)
{
	struct preview *p = ctx;
	uint32_t i;

	for (i = 0; i < p->c->n_stages; i++)
		if (orch_campaign_admits(p->c, i, orch_campaign_stage_percent(p->c, i), d->id))
			break;
	if (p->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "device", d->id);
		if (i < p->c->n_stages)
			cJSON_AddNumberToObject(o, "stage", i + 1);
		else
			cJSON_AddNullToObject(o, "stage");
		cJSON_AddNumberToObject(o, "bucket", fota_admission_bucket(p->c->salt, d->id));
		cJSON_AddItemToArray(p->arr, o);
	} else if (i < p->c->n_stages) {
		printf("%-24s stage %u\n", d->id, i + 1);
	} else {
		printf("%-24s never\n", d->id);
	}
	return 0;
}

/* --- list / events / wait -------------------------------------------------------------------- */

struct list_ctx {
	struct orch_store *st;
	cJSON *arr;
	bool json;
};

static int list_one(void *ctx, const char *id)
{
	struct list_ctx *l = ctx;
	struct orch_campaign c;
	struct fota_error err = {0};
	char t[FOTA_TIME_STR_LEN];

	if (l->st->ops->campaign_get(l->st, id, &c, &err))
		return 0;
	fota_time_format(c.created, t);
	if (l->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "campaign", c.id);
		cJSON_AddStringToObject(o, "state", orch_cstate_name(c.state));
		cJSON_AddStringToObject(o, "image", c.image_id);
		cJSON_AddStringToObject(o, "group", c.group);
		cJSON_AddNumberToObject(o, "stage", c.stage + 1);
		cJSON_AddNumberToObject(o, "stages_total", c.n_stages);
		cJSON_AddStringToObject(o, "created", t);
		cJSON_AddItemToArray(l->arr, o);
	} else {
		printf("%-24s %-10s %-16s %-16s %u/%u  %s\n", c.id, orch_cstate_name(c.state),
		       c.image_id, c.group, c.stage + 1, c.n_stages, t);
	}
	orch_campaign_clear(&c);
	return 0;
}

struct events_ctx {
	cJSON *arr;
	bool json;
};

static int event_one(void *ctx, const struct orch_event *e)
{
	struct events_ctx *x = ctx;
	char t[FOTA_TIME_STR_LEN];

	fota_time_format(e->ts, t);
	if (x->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "seq", (double)e->seq);
		cJSON_AddStringToObject(o, "ts", t);
		cJSON_AddStringToObject(o, "campaign", e->campaign);
		cJSON_AddStringToObject(o, "device", e->device);
		cJSON_AddStringToObject(o, "kind", e->kind);
		cJSON_AddStringToObject(o, "result", e->result);
		cJSON_AddStringToObject(o, "detail", e->detail);
		cJSON_AddItemToArray(x->arr, o);
	} else {
		printf("%6lld %s %-16s %-12s %-10s %s\n", (long long)e->seq, t,
		       e->device[0] ? e->device : "-", e->kind,
		       e->result[0] && strcmp(e->result, "none") != 0 ? e->result : "", e->detail);
	}
	return 0;
}

static int do_wait(struct orch_store *st, const char *id, enum orch_cstate want, uint64_t timeout_s,
		   struct fota_error *err)
{
	int64_t deadline = fota_time_mono_ms() + (int64_t)timeout_s * 1000;
	struct orch_campaign c;

	for (;;) {
		if (st->ops->campaign_get(st, id, &c, err)) {
			orch_fail("campaign wait", err);
			return exit_for(err);
		}
		orch_campaign_clear(&c);
		if (c.state == want)
			return ORCH_EXIT_OK;
		if ((c.state == ORCH_CAMPAIGN_ABORTED || c.state == ORCH_CAMPAIGN_COMPLETED) &&
		    want != c.state) {
			orch_log("campaign %s is %s, not %s", id, orch_cstate_name(c.state),
				 orch_cstate_name(want));
			return ORCH_EXIT_FAIL;
		}
		if (fota_time_mono_ms() >= deadline) {
			orch_log("campaign %s: still %s after %llu s (waited for %s)", id,
				 orch_cstate_name(c.state), (unsigned long long)timeout_s,
				 orch_cstate_name(want));
			return ORCH_EXIT_TIMEOUT;
		}
		if (!orch_sleep_ms(200)) {
			orch_log("campaign wait: interrupted; campaign %s is still %s", id,
				 orch_cstate_name(c.state));
			return ORCH_EXIT_INTERRUPTED;
		}
	}
}

/* Ends a listing whose rows were printed as they came, or collected in arr for --json: prints
 * arr (json) or the failure, frees arr and returns the exit code. */
static int end_list(fota_err rc, const char *what, const struct fota_error *err, cJSON *arr,
		    bool json)
{
	int ret = ORCH_EXIT_FAIL;

	if (rc) {
		orch_fail(what, err);
	} else {
		if (json)
			orch_print_json(arr, NULL);
		ret = ORCH_EXIT_OK;
	}
	cJSON_Delete(arr);
	return ret;
}

int orch_cmd_campaign(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"image", required_argument, NULL, OPT_IMAGE},
	    {"group", required_argument, NULL, OPT_GROUP},
	    {"stage", required_argument, NULL, OPT_STAGE},
	    {"fail-threshold", required_argument, NULL, OPT_FAIL},
	    {"admit-rate", required_argument, NULL, OPT_ADMIT_RATE},
	    {"window", required_argument, NULL, OPT_WINDOW},
	    {"salt", required_argument, NULL, OPT_SALT},
	    {"watch", required_argument, NULL, OPT_WATCH},
	    {"state", required_argument, NULL, OPT_STATE},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"device", required_argument, NULL, OPT_DEVICE},
	    {"device-timeout", required_argument, NULL, OPT_DEVICE_TIMEOUT},
	    {"on-timeout", required_argument, NULL, OPT_ON_TIMEOUT},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"pending", no_argument, NULL, OPT_PENDING},
	    {"window-daily", required_argument, NULL, OPT_WINDOW_DAILY},
	    {"tz", required_argument, NULL, OPT_TZ},
	    ORCH_COMMON_LONGOPTS,
	};
	struct orch_config cfg;
	struct fota_error err = {0};
	struct orch_campaign c;
	struct orch_store *st = NULL;
	const char *sub = NULL, *id = NULL, *device = NULL;
	enum orch_cstate want = ORCH_CAMPAIGN__COUNT;
	uint64_t watch = 0, timeout_s = DEFAULT_WAIT_TIMEOUT_S, v = 0;
	bool force = false, pending = false, on_timeout_set = false;
	const char *daily = NULL, *tz = NULL;
	int opt, ret = ORCH_EXIT_USAGE;
	fota_err rc;

	memset(&c, 0, sizeof(c));
	orch_config_init(&cfg);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		rc = FOTA_OK;
		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		switch (opt) {
		case OPT_IMAGE:
			snprintf(c.image_id, sizeof(c.image_id), "%s", optarg);
			break;
		case OPT_GROUP:
			snprintf(c.group, sizeof(c.group), "%s", optarg);
			break;
		case OPT_STAGE:
			if (c.n_stages == ORCH_MAX_STAGES) {
				rc = fota_error_set(&err, FOTA_ERR_TOO_BIG, "more than %d stages",
						    ORCH_MAX_STAGES);
				break;
			}
			rc = orch_stage_parse(optarg, &c.stages[c.n_stages++], &err);
			break;
		case OPT_FAIL:
			rc = orch_fail_threshold_parse(optarg, &c, &err);
			break;
		case OPT_ADMIT_RATE:
			rc = orch_parse_u64("--admit-rate", optarg, 0, 1000000, &v, &err);
			c.admit_per_min = (uint32_t)v;
			break;
		case OPT_WINDOW:
			rc = parse_window(optarg, &c, &err);
			break;
		case OPT_SALT:
			if (!*optarg || strlen(optarg) > FOTA_MAX_NAME_LEN)
				rc = fota_error_set(&err, FOTA_ERR_FIELD,
						    "--salt must have 1..%d characters",
						    FOTA_MAX_NAME_LEN);
			else
				snprintf(c.salt, sizeof(c.salt), "%s", optarg);
			break;
		case OPT_WATCH:
			rc = orch_parse_u64("--watch", optarg, 1, 3600, &watch, &err);
			break;
		case OPT_STATE:
			if (!orch_cstate_parse(optarg, &want))
				rc =
				    fota_error_set(&err, FOTA_ERR_FIELD,
						   "--state: '%s' is not a campaign state", optarg);
			break;
		case OPT_TIMEOUT:
			rc = orch_parse_u64("--timeout", optarg, 1, 30u * 86400, &timeout_s, &err);
			break;
		case OPT_DEVICE:
			device = optarg;
			break;
		case OPT_DEVICE_TIMEOUT:
			rc = orch_duration_parse("--device-timeout", optarg, 365u * 86400,
						 &c.device_timeout_s, &err);
			if (rc == FOTA_OK && c.device_timeout_s == 0)
				rc = fota_error_set(&err, FOTA_ERR_FIELD,
						    "--device-timeout must be above 0");
			break;
		case OPT_ON_TIMEOUT:
			on_timeout_set = true;
			if (strcmp(optarg, "failed") == 0 || strcmp(optarg, "skipped") == 0)
				c.timeout_skips = optarg[0] == 's';
			else
				rc = fota_error_set(
				    &err, FOTA_ERR_FIELD,
				    "--on-timeout: '%s' is neither failed nor skipped", optarg);
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_PENDING:
			pending = true;
			break;
		case OPT_WINDOW_DAILY:
			daily = optarg;
			break;
		case OPT_TZ:
			tz = optarg;
			break;
		default:
			fputs(campaign_usage, stderr);
			goto out;
		}
		if (rc) {
			orch_fail("campaign", &err);
			goto out;
		}
	}
	if (orch_cli_help(&cfg, campaign_usage)) {
		ret = ORCH_EXIT_OK;
		goto out;
	}
	/* argv[0] is "campaign"; getopt moved the operands to the end. */
	if (optind < argc)
		sub = argv[optind++];
	if (optind < argc)
		id = argv[optind++];
	if (!sub || optind != argc || (strcmp(sub, "list") != 0 && !id)) {
		orch_log("campaign: need a command and a campaign id (try --help)");
		goto out;
	}
	if (orch_cli_load_config(&cfg, &err))
		goto out;
	if (strcmp(sub, "create") == 0) {
		if (!c.image_id[0] || !c.group[0]) {
			orch_log("campaign create: need --image, --group and at least one --stage");
			goto out;
		}
		if (on_timeout_set && !c.device_timeout_s) {
			orch_log("campaign create: --on-timeout needs --device-timeout");
			goto out;
		}
		if (tz && !daily) {
			orch_log("campaign create: --tz needs --window-daily");
			goto out;
		}
		if (daily && daily_window(daily, tz ? tz : "UTC", &c, &err)) {
			orch_fail("campaign create", &err);
			goto out;
		}
		ret = do_create(&cfg, &c, id, force, &err);
		goto out;
	}
	if (strcmp(sub, "retry") == 0) {
		ret = do_retry(&cfg, id, device, &err);
		goto out;
	}
	if (strcmp(sub, "start") == 0 || strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0 ||
	    strcmp(sub, "abort") == 0) {
		ret = do_transition(&cfg, sub, id, &err);
		goto out;
	}
	ret = ORCH_EXIT_FAIL;
	if (orch_open_store(&cfg, &st, &err)) {
		orch_fail("campaign", &err);
		goto out;
	}
	if (strcmp(sub, "status") == 0) {
		for (;;) {
			/* Clear-screen codes only for a terminal: in a pipe or a log they are
			 * noise, and successive snapshots simply follow each other. */
			if (watch && !cfg.json && isatty(STDOUT_FILENO))
				printf("\033[H\033[2J");
			ret = pending ? show_pending(st, id, cfg.json, &err)
				      : show_status(&cfg, st, id, cfg.json, &err);
			fflush(stdout);
			if (!watch || ret != ORCH_EXIT_OK || !orch_sleep_ms((long)watch * 1000))
				break;
		}
	} else if (strcmp(sub, "list") == 0) {
		struct list_ctx l = {.st = st, .json = cfg.json};

		l.arr = cJSON_CreateArray();
		if (!cfg.json)
			printf("%-24s %-10s %-16s %-16s %-5s %s\n", "CAMPAIGN", "STATE", "IMAGE",
			       "GROUP", "STAGE", "CREATED");
		rc = st->ops->campaign_each(st, false, list_one, &l, &err);
		ret = end_list(rc, "campaign list", &err, l.arr, cfg.json);
	} else if (strcmp(sub, "events") == 0) {
		struct events_ctx x = {.json = cfg.json};
		struct orch_campaign probe;

		if (st->ops->campaign_get(st, id, &probe, &err)) {
			orch_fail("campaign events", &err);
			ret = exit_for(&err);
			goto out;
		}
		orch_campaign_clear(&probe);
		x.arr = cJSON_CreateArray();
		rc = st->ops->event_each(st, id, device, event_one, &x, &err);
		ret = end_list(rc, "campaign events", &err, x.arr, cfg.json);
	} else if (strcmp(sub, "preview") == 0) {
		struct preview p = {.json = cfg.json};

		if (st->ops->campaign_get(st, id, &c, &err)) {
			orch_fail("campaign preview", &err);
			ret = exit_for(&err);
			goto out;
		}
		p.c = &c;
		p.arr = cJSON_CreateArray();
		rc = st->ops->device_each(st, c.group, preview_one, &p, &err);
		ret = end_list(rc, "campaign preview", &err, p.arr, cfg.json);
	} else if (strcmp(sub, "wait") == 0) {
		if (want == ORCH_CAMPAIGN__COUNT) {
			orch_log("campaign wait: need --state");
			ret = ORCH_EXIT_USAGE;
			goto out;
		}
		ret = do_wait(st, id, want, timeout_s, &err);
	} else {
		orch_log("campaign: unknown command '%s' (try --help)", sub);
		ret = ORCH_EXIT_USAGE;
	}
out:
	orch_store_close(st);
	orch_campaign_clear(&c);
	return ret;
}
