/* SPDX-License-Identifier: Apache-2.0 */
/* Campaign rollout: stage model, admission, thresholds, and the engine that runs campaigns. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/daily_window.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#include "assign.h"
#include "assigner.h"
#include "broadcast_store.h"
#include "campaign_keys.h"
#include "key_delivery.h"
#include "payload_choice.h"
#include "campaign.h"
#include "store_rows.h"
#include "log.h"

/* Statuses waiting for the engine thread; beyond this they are dropped (retained statuses and
 * the next report fill the gap). */
#define ENGINE_QUEUE_LEN 8192
/* Statuses written per store transaction. */
#define ENGINE_BATCH 256

/* --- model ----------------------------------------------------------------------------------- */

static fota_err parse_u32(const char *what, const char *s, size_t len, uint32_t max, uint32_t *out,
			  struct fota_error *err)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s: expected a number", what);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return fota_error_set(err, FOTA_ERR_FIELD, "%s: '%.*s' is not a number",
					      what, (int)len, s);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s: %llu is over %u", what,
				      (unsigned long long)v, max);
	*out = (uint32_t)v;
	return FOTA_OK;
}

/* "90", "90s", "10m", "12h" or "7d" of at most max seconds; len bytes of s. */
static fota_err parse_duration(const char *what, const char *s, size_t len, uint32_t max,
			       uint32_t *out, struct fota_error *err)
{
	uint32_t mul = 1, v = 0;
	fota_err rc;

	if (len > 0) {
		switch (s[len - 1]) {
		case 'd':
			mul = 86400;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'm':
			mul = 60;
			break;
		case 's':
			break;
		default:
			mul = 0;
		}
		if (mul)
			len--;
		else
			mul = 1;
	}
	rc = parse_u32(what, s, len, max, &v, err);
	if (rc)
		return rc;
	if ((uint64_t)v * mul > max)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s: '%s' is over %u seconds", what, s,
				      max);
	*out = v * mul;
	return FOTA_OK;
}

fota_err orch_duration_parse(const char *what, const char *s, uint32_t max, uint32_t *out,
			     struct fota_error *err)
{
	return parse_duration(what, s, strlen(s), max, out, err);
}

/* Checks a comma-joined device list: valid ids, at most FOTA_MAX_ADMIT_DEVICES. */
static fota_err check_list(const char *list, size_t *count, struct fota_error *err)
{
	const char *p = list;
	size_t n = 0;

	while (p && *p) {
		char id[FOTA_MAX_SEGMENT_LEN + 1];
		size_t len = strcspn(p, ",");

		if (len == 0 || len > FOTA_MAX_SEGMENT_LEN)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "stage: empty or overlong device id in '%s'", list);
		memcpy(id, p, len);
		id[len] = '\0';
		if (!fota_topic_segment_valid(id))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "stage: '%s' is not a device id ([A-Za-z0-9._-])",
					      id);
		n++;
		p += len;
		if (*p == ',')
			p++;
	}
	*count = n;
	return FOTA_OK;
}

fota_err orch_stage_parse(const char *spec, struct orch_cstage *out, struct fota_error *err)
{
	const char *colon = strchr(spec, ':');
	size_t head = colon ? (size_t)(colon - spec) : strlen(spec);
	const char *plus = memchr(spec, '+', head);
	size_t list_len = head, n;
	fota_err rc;

	memset(out, 0, sizeof(*out));
	out->success_pct = 100;
	if (head == 0)
		return fota_error_set(err, FOTA_ERR_FIELD, "stage '%s': no devices or percentage",
				      spec);
	if (head > 0 && spec[head - 1] == '%') {
		/* "50%" alone, or "list+50%". */
		const char *pct = plus ? plus + 1 : spec;

		rc = parse_u32("stage percentage", pct, (size_t)(spec + head - 1 - pct), 100,
			       &out->percent, err);
		if (rc)
			return rc;
		list_len = plus ? (size_t)(plus - spec) : 0;
	} else if (plus) {
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "stage '%s': '+' must be followed by a percentage", spec);
	}
	out->devices = strndup(spec, list_len);
	if (!out->devices)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	rc = check_list(out->devices, &n, err);
	if (rc)
		return rc;
	if (n > FOTA_MAX_ADMIT_DEVICES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "stage: more than %d devices",
				      FOTA_MAX_ADMIT_DEVICES);
	if (n == 0 && out->percent == 0)
		return fota_error_set(err, FOTA_ERR_FIELD, "stage '%s' admits nobody", spec);
	while (colon) {
		const char *opt = colon + 1;
		const char *eq = strchr(opt, '=');
		size_t olen;

		colon = strchr(opt, ':');
		olen = colon ? (size_t)(colon - opt) : strlen(opt);
		if (!eq || eq > opt + olen)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "stage '%s': option '%.*s' needs a value", spec,
					      (int)olen, opt);
		if ((size_t)(eq - opt) == 7 && strncmp(opt, "success", 7) == 0) {
			size_t vlen = olen - 8;

			if (vlen > 0 && eq[vlen] == '%')
				vlen--;
			rc = parse_u32("stage success", eq + 1, vlen, 100, &out->success_pct, err);
		} else if ((size_t)(eq - opt) == 4 && strncmp(opt, "wait", 4) == 0) {
			rc = parse_duration("stage wait", eq + 1, olen - 5, 30u * 86400,
					    &out->wait_s, err);
		} else {
			rc = fota_error_set(err, FOTA_ERR_FIELD,
					    "stage '%s': unknown option '%.*s' (success=, wait=)",
					    spec, (int)(eq - opt), opt);
		}
		if (rc)
			return rc;
	}
	return FOTA_OK;
}

fota_err orch_fail_threshold_parse(const char *s, struct orch_campaign *c, struct fota_error *err)
{
	size_t len = strlen(s);

	c->fail_count = 0;
	c->fail_pct = 0;
	if (len > 0 && s[len - 1] == '%')
		return parse_u32("--fail-threshold", s, len - 1, 100, &c->fail_pct, err);
	return parse_u32("--fail-threshold", s, len, 1000000, &c->fail_count, err);
}

fota_err orch_campaign_validate(const struct orch_campaign *c, struct fota_error *err)
{
	size_t total = 0, n;
	uint32_t i;
	fota_err rc;

	if (!c->id[0] || !fota_topic_segment_valid(c->id))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "campaign id '%s' must be 1..64 of [A-Za-z0-9._-]", c->id);
	if (!fota_topic_segment_valid(c->group))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "group '%s' must be 1..64 of [A-Za-z0-9._-]", c->group);
	if (c->n_stages == 0)
		return fota_error_set(err, FOTA_ERR_FIELD, "a campaign needs at least one stage");
	if (c->n_stages > ORCH_MAX_STAGES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "more than %d stages",
				      ORCH_MAX_STAGES);
	for (i = 0; i < c->n_stages; i++) {
		rc = check_list(c->stages[i].devices, &n, err);
		if (rc)
			return rc;
		total += n;
		if (i > 0 && c->stages[i].percent < orch_campaign_stage_percent(c, i - 1))
			return fota_error_set(
			    err, FOTA_ERR_FIELD,
			    "stage %u admits %u%% after an earlier stage admitted "
			    "%u%%: stages may only widen",
			    i + 1, c->stages[i].percent, orch_campaign_stage_percent(c, i - 1));
	}
	if (total > FOTA_MAX_ADMIT_DEVICES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "stages list %zu devices; a directive holds at most %d",
				      total, FOTA_MAX_ADMIT_DEVICES);
	if (c->not_before && c->not_after && c->not_after <= c->not_before)
		return fota_error_set(err, FOTA_ERR_FIELD, "the window ends before it starts");
	if (!c->salt[0])
		return fota_error_set(err, FOTA_ERR_FIELD, "a campaign needs an admission salt");
	return FOTA_OK;
}

uint32_t orch_campaign_stage_percent(const struct orch_campaign *c, uint32_t stage)
{
	uint32_t i, p = 0;

	for (i = 0; i <= stage && i < c->n_stages; i++)
		if (c->stages[i].percent > p)
			p = c->stages[i].percent;
	return p;
}

bool orch_campaign_lists(const struct orch_campaign *c, uint32_t stage, const char *device)
{
	uint32_t i;

	for (i = 0; i <= stage && i < c->n_stages; i++)
		if (orch_list_has(c->stages[i].devices, device, strlen(device)))
			return true;
	return false;
}

bool orch_campaign_admits(const struct orch_campaign *c, uint32_t stage, uint32_t percent,
			  const char *device)
{
	if (orch_campaign_lists(c, stage, device))
		return true;
	if (percent >= 100)
		return true;
	return fota_admission_bucket(c->salt, device) < percent * 100;
}

static bool is_failure(enum fota_state s)
{
	return s == FOTA_STATE_FAILED || s == FOTA_STATE_ROLLED_BACK;
}

/* A failure the operator has not yet acknowledged with a resume (or a retry). */
static bool unacknowledged(const struct orch_campaign *c, const struct orch_cdev *d)
{
	return d->seq > c->resumed_seq;
}

/* A failure for the threshold: reported as one, or timed out when timeouts count as failures. */
static bool counts_as_failure(const struct orch_campaign *c, const struct orch_cdev *d)
{
	if (d->mark == ORCH_CMARK_TIMED_OUT)
		return !c->timeout_skips;
	return d->mark == ORCH_CMARK_NONE && is_failure(d->state);
}

void orch_counts_add(struct orch_counts *k, const struct orch_campaign *c,
		     const struct orch_cdev *d)
{
	if (d->mark == ORCH_CMARK_INCOMPATIBLE) {
		k->incompatible++;
		return;
	}
	k->admitted++;
	if (d->reported)
		k->reported++;
	if ((unsigned)d->state < FOTA_STATE__COUNT)
		k->by_state[d->state]++;
	if (d->mark == ORCH_CMARK_TIMED_OUT) {
		k->timed_out++;
		if (c->timeout_skips) {
			k->skipped++;
		} else {
			k->failed++;
			if (unacknowledged(c, d))
				k->failed_now++;
		}
	} else if (d->state == FOTA_STATE_CONFIRMED) {
		k->confirmed++;
	} else if (is_failure(d->state)) {
		k->failed++;
		/* Failures acknowledged by a resume no longer count towards the threshold. */
		if (unacknowledged(c, d))
			k->failed_now++;
	} else if (d->result == FOTA_RESULT_ABORTED) {
		k->aborted++;
	} else {
		k->in_flight++;
	}
	if (orch_cdev_needs_image(c, d))
		k->need_image++;
}

bool orch_cdev_needs_image(const struct orch_campaign *c, const struct orch_cdev *d)
{
	if (d->mark == ORCH_CMARK_INCOMPATIBLE)
		return false;
	if (!d->reported)
		return true;
	switch (d->state) {
	case FOTA_STATE_IDLE:
		return d->result != FOTA_RESULT_ABORTED;
	case FOTA_STATE_DEFERRED:
	case FOTA_STATE_OFFLINE:
		return true;
	case FOTA_STATE_DOWNLOADING:
		return d->chunk_count == 0 || d->chunks_present < d->chunk_count;
	case FOTA_STATE_FAILED:
	case FOTA_STATE_ROLLED_BACK:
		/* Acknowledged by a resume: it starts over. */
		return !unacknowledged(c, d);
	default:
		return false;
	}
}

bool orch_cdev_settled(const struct orch_cdev *d)
{
	return d->mark != ORCH_CMARK_NONE || d->state == FOTA_STATE_CONFIRMED ||
	       is_failure(d->state) ||
	       (d->state == FOTA_STATE_IDLE && d->result == FOTA_RESULT_ABORTED);
}

int64_t orch_cdev_last_heard(const struct orch_campaign *c, const struct orch_cdev *d)
{
	int64_t t = d->admitted;

	if (d->reported && d->updated > t)
		t = d->updated;
	/* Time spent paused is not the device's silence. */
	if (c->resumed > t)
		t = c->resumed;
	return t;
}

bool orch_cdev_timed_out(const struct orch_campaign *c, const struct orch_cdev *d, int64_t now)
{
	return c->device_timeout_s && !orch_cdev_settled(d) &&
	       now - orch_cdev_last_heard(c, d) >= (int64_t)c->device_timeout_s;
}

bool orch_campaign_compatible(const struct orch_campaign *c, const char *model, const char *hw,
			      char *why, size_t size)
{
	if (c->model[0] && model && model[0] && strcmp(c->model, model) != 0) {
		snprintf(why, size, "registered model '%s', the image is for '%s'", model,
			 c->model);
		return false;
	}
	if (c->hw_revisions[0] && hw && hw[0] && !orch_list_has(c->hw_revisions, hw, strlen(hw))) {
		/* The list can be long; a reason names its start, which is enough to act on. */
		snprintf(why, size, "registered hardware revision '%s', the image takes %.64s", hw,
			 c->hw_revisions);
		return false;
	}
	return true;
}

const char *orch_verdict_name(enum orch_verdict v)
{
	static const char *const names[] = {"hold", "pause", "met", "advance", "complete"};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

enum orch_verdict orch_campaign_judge(const struct orch_campaign *c, const struct orch_counts *k,
				      bool fully_admitted, int64_t now)
{
	const struct orch_cstage *st = &c->stages[c->stage];
	bool last = c->stage + 1 >= c->n_stages;

	/* Skipped (timed-out) devices are out of the success ratio, not out of the failure one. */
	uint32_t judged = k->admitted - k->skipped;

	if (c->fail_count && k->failed_now >= c->fail_count)
		return ORCH_VERDICT_PAUSE;
	if (c->fail_pct && k->admitted &&
	    (uint64_t)k->failed_now * 100 >= (uint64_t)c->fail_pct * k->admitted)
		return ORCH_VERDICT_PAUSE;
	if (!fully_admitted)
		return ORCH_VERDICT_HOLD;
	/* An empty stage (say 10 % of a tiny group) has nothing to prove. */
	if (judged && (uint64_t)k->confirmed * 100 < (uint64_t)st->success_pct * judged)
		return ORCH_VERDICT_HOLD;
	if (c->stage_met == 0 || now - c->stage_met < (int64_t)st->wait_s)
		return ORCH_VERDICT_MET;
	if (!last)
		return ORCH_VERDICT_ADVANCE;
	return k->in_flight == 0 ? ORCH_VERDICT_COMPLETE : ORCH_VERDICT_MET;
}

fota_err orch_campaign_directive(const struct orch_campaign *c, const struct orch_image *img,
				 int64_t now, struct fota_directive *d, struct fota_error *err)
{
	uint32_t i, upto = c->stage < c->n_stages ? c->stage : c->n_stages - 1;
	size_t n = 0;

	memset(d, 0, sizeof(*d));
	snprintf(d->campaign_id, sizeof(d->campaign_id), "%s", c->id);
	snprintf(d->group, sizeof(d->group), "%s", c->group);
	d->created = now;
	d->expires = now + (int64_t)ORCH_CAMPAIGN_DIRECTIVE_DAYS * 86400;
	d->not_before = c->not_before;
	d->not_after = c->not_after;
	d->daily = c->daily;
	d->state = c->state == ORCH_CAMPAIGN_ABORTED  ? FOTA_CAMPAIGN_ABORTED
		   : c->state == ORCH_CAMPAIGN_PAUSED ? FOTA_CAMPAIGN_PAUSED
						      : FOTA_CAMPAIGN_ACTIVE;
	memcpy(d->manifest_sha256, img->manifest_sha256, FOTA_SHA256_LEN);
	d->manifest_jws = strdup(img->manifest_jws);
	if (!d->manifest_jws)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	d->manifest_jws_len = img->manifest_jws_len;
	/* The percentage draw always carries the salt, even at 0 %, so devices and the engine
	 * compute the same buckets. */
	d->admit_percent = c->cur_percent;
	snprintf(d->salt, sizeof(d->salt), "%s", c->salt);
	for (i = 0; i <= upto; i++) {
		const char *p = c->stages[i].devices;

		while (p && *p) {
			size_t len = strcspn(p, ",");
			char **tmp;

			tmp = realloc(d->admit_devices, (n + 1) * sizeof(*tmp));
			if (!tmp)
				return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
			d->admit_devices = tmp;
			d->admit_devices[n] = strndup(p, len);
			if (!d->admit_devices[n])
				return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
			d->n_admit_devices = ++n;
			p += len;
			if (*p == ',')
				p++;
		}
	}
	return FOTA_OK;
}

static fota_err vevent(struct orch_store *s, const char *campaign, const char *device,
		       const char *kind, const char *result, int64_t *seq, struct fota_error *err,
		       const char *fmt, va_list ap) __attribute__((format(printf, 8, 0)));

static fota_err vevent(struct orch_store *s, const char *campaign, const char *device,
		       const char *kind, const char *result, int64_t *seq, struct fota_error *err,
		       const char *fmt, va_list ap)
{
	struct orch_event e;
	fota_err rc;

	memset(&e, 0, sizeof(e));
	snprintf(e.campaign, sizeof(e.campaign), "%s", campaign ? campaign : "");
	snprintf(e.device, sizeof(e.device), "%s", device ? device : "");
	snprintf(e.kind, sizeof(e.kind), "%s", kind);
	snprintf(e.result, sizeof(e.result), "%s", result ? result : "");
	vsnprintf(e.detail, sizeof(e.detail), fmt, ap);
	rc = s->ops->event_append(s, &e, err);
	if (rc == FOTA_OK && seq)
		*seq = e.seq;
	return rc;
}

fota_err orch_campaign_event(struct orch_store *s, const char *campaign, const char *device,
			     const char *kind, const char *result, struct fota_error *err,
			     const char *fmt, ...)
{
	va_list ap;
	fota_err rc;

	va_start(ap, fmt);
	rc = vevent(s, campaign, device, kind, result, NULL, err, fmt, ap);
	va_end(ap);
	return rc;
}

fota_err orch_campaign_event_seq(struct orch_store *s, const char *campaign, const char *device,
				 const char *kind, const char *result, int64_t *seq,
				 struct fota_error *err, const char *fmt, ...)
{
	va_list ap;
	fota_err rc;

	va_start(ap, fmt);
	rc = vevent(s, campaign, device, kind, result, seq, err, fmt, ap);
	va_end(ap);
	return rc;
}

/* --- operator commands ------------------------------------------------------------------------ */

fota_err orch_campaign_command(struct orch_store *st, const char *id, const char *verb, int64_t now,
			       enum orch_cstate *from_out, enum orch_cstate *to_out,
			       struct fota_error *err)
{
	return orch_campaign_command_by(st, id, verb, NULL, now, from_out, to_out, err);
}

fota_err orch_campaign_command_by(struct orch_store *st, const char *id, const char *verb,
				  const char *actor, int64_t now, enum orch_cstate *from_out,
				  enum orch_cstate *to_out, struct fota_error *err)
{
	struct orch_campaign c;
	enum orch_cstate from, to;
	const char *kind;
	int64_t seq = 0;
	fota_err rc;

	if (!actor || !*actor)
		actor = "command";
	memset(&c, 0, sizeof(c));
	rc = st->ops->begin(st, err);
	if (rc)
		return rc;
	rc = st->ops->campaign_get(st, id, &c, err);
	if (rc)
		goto out;
	from = c.state;
	if (strcmp(verb, "start") == 0) {
		to = ORCH_CAMPAIGN_RUNNING;
		if (from != ORCH_CAMPAIGN_DRAFT)
			goto bad_state;
		c.started = now;
		c.stage_started = now;
		c.resumed = now;
	} else if (strcmp(verb, "pause") == 0) {
		to = ORCH_CAMPAIGN_PAUSED;
		if (from != ORCH_CAMPAIGN_RUNNING)
			goto bad_state;
		snprintf(c.reason, sizeof(c.reason), "paused by %s", actor);
	} else if (strcmp(verb, "resume") == 0) {
		to = ORCH_CAMPAIGN_RUNNING;
		if (from != ORCH_CAMPAIGN_PAUSED)
			goto bad_state;
		/* Failures so far are acknowledged; failed devices retry on the new directive. */
		c.resumed = now;
		c.reason[0] = '\0';
	} else if (strcmp(verb, "abort") == 0) {
		to = ORCH_CAMPAIGN_ABORTED;
		if (from == ORCH_CAMPAIGN_ABORTED || from == ORCH_CAMPAIGN_COMPLETED)
			goto bad_state;
		snprintf(c.reason, sizeof(c.reason), "aborted by %s", actor);
		c.finished = now;
	} else {
		rc = fota_error_set(err, FOTA_ERR_INVAL, "unknown campaign command '%s'", verb);
		goto out;
	}
	kind = from == ORCH_CAMPAIGN_DRAFT && to == ORCH_CAMPAIGN_RUNNING ? "started"
	       : to == ORCH_CAMPAIGN_RUNNING				  ? "resumed"
	       : to == ORCH_CAMPAIGN_PAUSED				  ? "paused"
									  : "aborted";
	c.state = to;
	/* A draft never published anything; aborting it publishes nothing either. */
	if (from != ORCH_CAMPAIGN_DRAFT || to == ORCH_CAMPAIGN_RUNNING)
		c.want_rev++;
	rc = orch_campaign_event_seq(st, c.id, "", kind, "command", &seq, err, "%s -> %s by %s",
				     orch_cstate_name(from), orch_cstate_name(to), actor);
	/* Reports stored after this event count against the threshold; earlier ones are
	 * acknowledged, even within the same second. */
	if (to == ORCH_CAMPAIGN_RUNNING)
		c.resumed_seq = seq;
	if (rc == FOTA_OK)
		rc = st->ops->campaign_put(st, &c, err);
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, err);
	if (rc == FOTA_OK) {
		*from_out = from;
		*to_out = to;
		orch_campaign_clear(&c);
		return FOTA_OK;
	}
	goto out;
bad_state:
	rc = fota_error_set(err, FOTA_ERR_STATE, "cannot %s campaign %s: it is %s", verb, c.id,
			    orch_cstate_name(from));
out:
	st->ops->rollback(st);
	orch_campaign_clear(&c);
	return rc;
}

struct preflight {
	const struct orch_campaign *c;
	uint32_t members, incompatible;
};

static int preflight_member(void *ctx, const struct orch_device *d)
{
	struct preflight *p = ctx;
	char why[FOTA_MAX_REASON_LEN + 1];

	p->members++;
	if (!orch_campaign_compatible(p->c, d->model, d->hw, why, sizeof(why)))
		p->incompatible++;
	return 0;
}

fota_err orch_campaign_preflight(struct orch_store *st, const struct orch_campaign *c,
				 uint32_t *members, uint32_t *incompatible, struct fota_error *err)
{
	struct preflight p = {.c = c};
	char why[FOTA_MAX_REASON_LEN + 1];
	uint32_t i;
	fota_err rc;

	*members = *incompatible = 0;
	rc = st->ops->device_each(st, c->group, preflight_member, &p, err);
	if (rc)
		return rc;
	*members = p.members;
	*incompatible = p.incompatible;
	for (i = 0; i < c->n_stages; i++) {
		const char *q = c->stages[i].devices;

		while (q && *q) {
			struct orch_device d;
			char id[FOTA_MAX_SEGMENT_LEN + 1];
			size_t len = strcspn(q, ",");

			snprintf(id, sizeof(id), "%.*s", (int)len, q);
			rc = st->ops->device_get(st, id, &d, NULL);
			if (rc == FOTA_ERR_NOT_FOUND)
				return fota_error_set(err, FOTA_ERR_NOT_FOUND,
						      "stage %u lists device '%s', which is not in "
						      "the registry",
						      i + 1, id);
			if (rc)
				return fota_error_set(err, rc, "registry: cannot read device '%s'",
						      id);
			if (!orch_list_has(d.groups, c->group, strlen(c->group)))
				return fota_error_set(err, FOTA_ERR_FIELD,
						      "stage %u lists device '%s', which is not in "
						      "group %s (its groups: %s)",
						      i + 1, id, c->group,
						      d.groups[0] ? d.groups : "none");
			if (!orch_campaign_compatible(c, d.model, d.hw, why, sizeof(why)))
				return fota_error_set(err, FOTA_ERR_INCOMPATIBLE,
						      "stage %u lists device '%s': %s", i + 1, id,
						      why);
			q += len;
			if (*q == ',')
				q++;
		}
	}
	if (p.members == 0)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND,
				      "group %s has no registered device (devices register by "
				      "reporting, `device add` or `device import`)",
				      c->group);
	if (p.incompatible == p.members)
		return fota_error_set(err, FOTA_ERR_INCOMPATIBLE,
				      "no registered device of group %s can take the image (%u "
				      "ruled out by model or hardware revision)",
				      c->group, p.incompatible);
	return FOTA_OK;
}

/* A device retry re-admits: failed, rolled back or timed out. */
static bool retryable(const struct orch_cdev *d)
{
	return d->mark == ORCH_CMARK_TIMED_OUT ||
	       (d->mark == ORCH_CMARK_NONE && is_failure(d->state));
}

/* The devices a retry takes: every retryable one, or only the one named. */
struct retry_pick {
	const char *only;
	bool found; /* the one named is in the campaign */
};

static bool pick_retry(void *ctx, const struct orch_cdev *d)
{
	struct retry_pick *r = ctx;

	if (r->only && strcmp(r->only, d->device) != 0)
		return false;
	r->found = true;
	return retryable(d);
}

fota_err orch_campaign_retry(struct orch_store *st, const char *id, const char *device, int64_t now,
			     uint32_t *count, struct fota_error *err)
{
	return orch_campaign_retry_by(st, id, device, NULL, now, count, err);
}

fota_err orch_campaign_retry_by(struct orch_store *st, const char *id, const char *device,
				const char *actor, int64_t now, uint32_t *count,
				struct fota_error *err)
{
	const char *by = actor && *actor ? " by " : "";
	struct orch_campaign c;
	struct retry_pick r = {.only = device};
	struct orch_cdev *list = NULL;
	size_t i, n = 0;
	fota_err rc;

	memset(&c, 0, sizeof(c));
	*count = 0;
	rc = st->ops->begin(st, err);
	if (rc)
		return rc;
	rc = st->ops->campaign_get(st, id, &c, err);
	if (rc)
		goto out;
	if (c.state != ORCH_CAMPAIGN_RUNNING && c.state != ORCH_CAMPAIGN_PAUSED) {
		rc = fota_error_set(err, FOTA_ERR_STATE,
				    "cannot retry devices of campaign %s: it is %s", c.id,
				    orch_cstate_name(c.state));
		goto out;
	}
	rc = orch_cdev_collect(st, c.id, pick_retry, &r, &list, &n, err);
	if (rc == FOTA_OK && device && !r.found)
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "device %s is not in campaign %s",
				    device, c.id);
	else if (rc == FOTA_OK && device && n == 0)
		rc = fota_error_set(err, FOTA_ERR_STATE,
				    "device %s of campaign %s neither failed nor timed out", device,
				    c.id);
	for (i = 0; rc == FOTA_OK && i < n; i++) {
		struct orch_cdev *d = &list[i];
		char was[64];

		snprintf(was, sizeof(was), "%s",
			 d->mark == ORCH_CMARK_TIMED_OUT ? "timed_out" : fota_state_name(d->state));
		/* As if newly admitted: nothing reported yet, silent since now. */
		d->reported = false;
		d->state = FOTA_STATE_IDLE;
		d->result = FOTA_RESULT_NONE;
		d->reason[0] = '\0';
		d->chunks_present = d->chunk_count = 0;
		d->mark = ORCH_CMARK_NONE;
		d->admitted = now;
		d->updated = now;
		rc = orch_campaign_event_seq(st, c.id, d->device, "retry", "command", &d->seq, err,
					     "re-admitted after %s%s%s", was, by,
					     by[0] ? actor : "");
		if (rc == FOTA_OK)
			rc = st->ops->cdev_put(st, c.id, d, err);
	}
	if (rc == FOTA_OK && n) {
		/* A new directive sequence: devices that settled on the last one act again. */
		c.want_rev++;
		rc = orch_campaign_event(st, c.id, "", "retry", "command", err,
					 "%zu device%s re-admitted%s%s", n, n == 1 ? "" : "s", by,
					 by[0] ? actor : "");
		if (rc == FOTA_OK)
			rc = st->ops->campaign_put(st, &c, err);
	}
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, err);
	if (rc == FOTA_OK) {
		*count = (uint32_t)n;
		free(list);
		orch_campaign_clear(&c);
		return FOTA_OK;
	}
out:
	st->ops->rollback(st);
	free(list);
	orch_campaign_clear(&c);
	return rc;
}

/* --- engine ---------------------------------------------------------------------------------- */

struct queued {
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	uint8_t *payload;
	size_t len;
	int64_t queued_ms; /* monotonic: the ingest lag is how long the head has waited */
};

struct orch_engine {
	const struct orch_config *cfg;
	struct orch_store *store;
	const struct orch_publisher *pub;
	struct fota_signer *signer;
	struct orch_broadcaster *bcast;
	struct orch_assigner *assigner; /* NULL: assignments are not sent */
	/* The zone of the last daily window looked at (engine thread only): campaigns mostly
	 * share one, and reading it each step would read its file four times a second. */
	struct fota_tz_cache zones;

	pthread_mutex_t lock; /* queue and stats */
	struct queued *q;
	size_t q_head, q_len;
	struct orch_engine_stats stats;
	int64_t sec_start_ms;
	uint64_t sec_count;
};

fota_err orch_engine_new(const struct orch_config *cfg, struct orch_store *store,
			 const struct orch_publisher *pub, struct fota_signer *signer,
			 struct orch_engine **out, struct fota_error *err)
{
	struct orch_engine *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (!e || !(e->q = calloc(ENGINE_QUEUE_LEN, sizeof(*e->q)))) {
		free(e);
		return fota_error_set(err, FOTA_ERR_NOMEM, "engine: out of memory");
	}
	e->cfg = cfg;
	e->store = store;
	e->pub = pub;
	e->signer = signer;
	pthread_mutex_init(&e->lock, NULL);
	*out = e;
	return FOTA_OK;
}

void orch_engine_free(struct orch_engine *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->q_len; i++)
		free(e->q[(e->q_head + i) % ENGINE_QUEUE_LEN].payload);
	pthread_mutex_destroy(&e->lock);
	fota_tz_cache_clear(&e->zones);
	free(e->q);
	free(e);
}

void orch_engine_submit_status(struct orch_engine *e, const char *device, const uint8_t *payload,
			       size_t len)
{
	struct queued *slot;
	uint8_t *copy;

	if (len > FOTA_MAX_STATUS_BYTES || !(copy = malloc(len ? len : 1))) {
		pthread_mutex_lock(&e->lock);
		e->stats.dropped++;
		pthread_mutex_unlock(&e->lock);
		return;
	}
	memcpy(copy, payload, len);
	pthread_mutex_lock(&e->lock);
	if (e->q_len == ENGINE_QUEUE_LEN) {
		e->stats.dropped++;
		pthread_mutex_unlock(&e->lock);
		free(copy);
		return;
	}
	slot = &e->q[(e->q_head + e->q_len) % ENGINE_QUEUE_LEN];
	snprintf(slot->device, sizeof(slot->device), "%s", device);
	slot->payload = copy;
	slot->len = len;
	slot->queued_ms = fota_time_mono_ms();
	e->q_len++;
	pthread_mutex_unlock(&e->lock);
}

void orch_engine_set_broadcaster(struct orch_engine *e, struct orch_broadcaster *b)
{
	e->bcast = b;
}

void orch_engine_set_assigner(struct orch_engine *e, struct orch_assigner *a)
{
	e->assigner = a;
}

void orch_engine_get_stats(struct orch_engine *e, struct orch_engine_stats *out)
{
	pthread_mutex_lock(&e->lock);
	*out = e->stats;
	out->queued = e->q_len;
	out->oldest_ms = e->q_len ? fota_time_mono_ms() - e->q[e->q_head].queued_ms : 0;
	pthread_mutex_unlock(&e->lock);
}

/* The status's groups, comma-joined as the registry stores them. */
static void status_groups(const struct fota_status *s, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->n_groups; i++) {
		if (n + strlen(s->groups[i]) + 2 > size)
			break;
		n += (size_t)snprintf(out + n, size - n, "%s%s", n ? "," : "", s->groups[i]);
	}
}

fota_err orch_engine_ingest(struct orch_engine *e, const struct fota_status *s, const char *groups,
			    int64_t now, struct fota_error *err)
{
	struct orch_store *st = e->store;
	struct orch_device dev, old;
	struct orch_campaign c;
	struct orch_cdev d;
	bool changed, refailed, unmarked, no_cert;
	fota_err rc;

	memset(&dev, 0, sizeof(dev));
	memset(&c, 0, sizeof(c));
	snprintf(dev.id, sizeof(dev.id), "%s", s->device);
	snprintf(dev.model, sizeof(dev.model), "%s", s->model);
	snprintf(dev.hw, sizeof(dev.hw), "%s", s->hw_revision);
	snprintf(dev.version, sizeof(dev.version), "%s", s->version);
	snprintf(dev.groups, sizeof(dev.groups), "%s", groups ? groups : "");
	/* What the device follows, whatever the registry says: campaigns compare the two. */
	snprintf(dev.reported, sizeof(dev.reported), "%s", dev.groups);
	dev.last_seen = now;
	dev.online = s->state != FOTA_STATE_OFFLINE;
	/* The registry's groups are the truth once set (`device add`/`import` assign them and the
	 * device follows); a status only fills them in for a device that has none yet. */
	if (dev.groups[0] && st->ops->device_get(st, dev.id, &old, NULL) == FOTA_OK &&
	    old.groups[0])
		dev.groups[0] = '\0';
	rc = st->ops->device_put(st, &dev, dev.groups[0] != '\0', err);
	if (rc || !s->campaign[0])
		return rc;
	rc = st->ops->campaign_get(st, s->campaign, &c, err);
	if (rc == FOTA_ERR_NOT_FOUND) {
		fota_error_clear(err);
		return FOTA_OK; /* a campaign of `publish` or another orchestrator */
	}
	if (rc)
		return rc;
	rc = st->ops->cdev_get(st, c.id, s->device, &d, err);
	if (rc == FOTA_ERR_NOT_FOUND) {
		/* Admitted by the percentage without being in our registry when the stage
		 * opened: record the admission now, once. */
		bool ins = false;

		fota_error_clear(err);
		rc = st->ops->cdev_admit(st, c.id, s->device, c.stage, now, &ins, err);
		if (rc == FOTA_OK && ins)
			rc = orch_campaign_event(st, c.id, s->device, "admitted", "", err,
						 "stage %u (reported before registration)",
						 c.stage + 1);
		if (rc == FOTA_OK)
			rc = st->ops->cdev_get(st, c.id, s->device, &d, err);
	}
	if (rc)
		goto out;
	changed = !d.reported || d.state != s->state || d.result != s->result;
	/* The same failure again, stamped later by the device, or (once a resume acknowledged
	 * the stored one) stamped no earlier than the resume's second: the device tried once
	 * more on a newer directive and failed the same way. A retained replay of the
	 * acknowledged failure carries its old, earlier stamp. */
	refailed = !changed && is_failure(s->state) &&
		   (s->timestamp > d.device_ts ||
		    (!unacknowledged(&c, &d) && c.resumed && s->timestamp >= c.resumed));
	/* Any report ends a timeout; one that is not a failure proves the registry wrong, but
	 * not a missing certificate: that device has no key, whatever it says. */
	no_cert = d.mark == ORCH_CMARK_INCOMPATIBLE && strcmp(d.reason, ORCH_REASON_NO_CERT) == 0;
	unmarked = d.mark == ORCH_CMARK_TIMED_OUT ||
		   (d.mark == ORCH_CMARK_INCOMPATIBLE && !is_failure(s->state) && !no_cert);
	if (!changed && !refailed && !unmarked && d.chunks_present == s->chunks_present)
		goto out; /* a replayed retained status: nothing new */
	d.reported = true;
	d.state = s->state;
	d.result = s->result;
	if (!no_cert)
		snprintf(d.reason, sizeof(d.reason), "%s", s->reason);
	d.chunks_present = s->chunks_present;
	d.chunk_count = s->chunk_count;
	d.updated = now;
	d.device_ts = s->timestamp;
	if (unmarked)
		d.mark = ORCH_CMARK_NONE;
	/* The event's store sequence orders this report against starts and resumes. */
	if (changed || refailed || unmarked)
		rc = orch_campaign_event_seq(st, c.id, s->device, fota_state_name(s->state),
					     fota_result_name(s->result), &d.seq, err, "%s",
					     s->reason);
	if (rc == FOTA_OK)
		rc = st->ops->cdev_put(st, c.id, &d, err);
out:
	orch_campaign_clear(&c);
	return rc;
}

/* Writes up to one batch of queued statuses; returns how many. */
static size_t drain(struct orch_engine *e)
{
	struct orch_store *st = e->store;
	struct fota_error err = {0};
	struct queued batch[ENGINE_BATCH];
	size_t n = 0, i;
	int64_t t0, now;

	pthread_mutex_lock(&e->lock);
	while (n < ENGINE_BATCH && e->q_len) {
		batch[n++] = e->q[e->q_head];
		e->q_head = (e->q_head + 1) % ENGINE_QUEUE_LEN;
		e->q_len--;
	}
	pthread_mutex_unlock(&e->lock);
	if (n == 0)
		return 0;
	t0 = fota_time_mono_ms();
	if (st->ops->begin(st, &err)) {
		orch_fail("store", &err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct fota_status s;
		char groups[sizeof(((struct orch_device *)0)->groups)];

		memset(&s, 0, sizeof(s));
		if (fota_status_parse(batch[i].payload, batch[i].len, &s, &err)) {
			orch_log("status from %s ignored: %s", batch[i].device, err.msg);
			continue;
		}
		snprintf(s.device, sizeof(s.device), "%.*s", FOTA_MAX_SEGMENT_LEN, batch[i].device);
		status_groups(&s, groups, sizeof(groups));
		if (orch_engine_ingest(e, &s, groups, fota_time_now(), &err))
			orch_fail("store status", &err);
	}
	if (st->ops->commit(st, &err)) {
		orch_fail("store", &err);
		st->ops->rollback(st);
	}
out:
	now = fota_time_mono_ms();
	pthread_mutex_lock(&e->lock);
	e->stats.statuses += n;
	e->stats.busy_ms += now - t0;
	if (now - e->sec_start_ms >= 1000) {
		e->sec_start_ms = now;
		e->sec_count = 0;
	}
	e->sec_count += n;
	if (e->sec_count > e->stats.peak_per_s)
		e->stats.peak_per_s = e->sec_count;
	pthread_mutex_unlock(&e->lock);
	for (i = 0; i < n; i++)
		free(batch[i].payload);
	return n;
}

/* A group member as admission needs it: its id and what the registry says it is. */
struct member {
	char id[FOTA_MAX_SEGMENT_LEN + 1];
	char model[FOTA_MAX_NAME_LEN + 1];
	char hw[FOTA_MAX_VERSION_LEN + 1];
	bool needs_assignment; /* orch_assign_needed */
};

struct members {
	struct member *m;
	size_t n, cap;
	int64_t now;
	bool oom;
};

static int add_member(void *ctx, const struct orch_device *d)
{
	struct members *m = ctx;

	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		void *tmp = realloc(m->m, ncap * sizeof(*m->m));

		if (!tmp) {
			m->oom = true;
			return 1;
		}
		m->m = tmp;
		m->cap = ncap;
	}
	memcpy(m->m[m->n].id, d->id, sizeof(m->m[m->n].id));
	memcpy(m->m[m->n].model, d->model, sizeof(m->m[m->n].model));
	memcpy(m->m[m->n].hw, d->hw, sizeof(m->m[m->n].hw));
	m->m[m->n].needs_assignment = orch_assign_needed(d, m->now);
	m->n++;
	return 0;
}

struct tally {
	const struct orch_campaign *c;
	struct orch_counts k;
	int64_t since; /* admissions at or after this count towards the rate limit */
	uint32_t recent;
	char first_fail[FOTA_MAX_SEGMENT_LEN + FOTA_MAX_REASON_LEN + 8];
};

static int tally_one(void *ctx, const struct orch_cdev *d)
{
	struct tally *t = ctx;

	orch_counts_add(&t->k, t->c, d);
	if (d->admitted >= t->since)
		t->recent++;
	if (!t->first_fail[0] && counts_as_failure(t->c, d) && unacknowledged(t->c, d))
		snprintf(t->first_fail, sizeof(t->first_fail), "%s %s", d->device,
			 d->mark == ORCH_CMARK_TIMED_OUT ? "timed out"
			 : d->reason[0]			 ? d->reason
							 : fota_result_name(d->result));
	return 0;
}

/* Devices newly admitted by percent p beyond cur (registered members only). */
static uint32_t newly_admitted(const struct orch_campaign *c, const struct members *m, uint32_t p)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (orch_campaign_admits(c, c->stage, p, m->m[i].id) &&
		    !orch_campaign_admits(c, c->stage, c->cur_percent, m->m[i].id))
			n++;
	return n;
}

/* True unless c has a daily window that is closed at now. A zone this host does not know
 * keeps the window closed (create refuses such zones; this is a store edited since). */
static bool daily_open(struct orch_engine *e, const struct orch_campaign *c, int64_t now)
{
	const struct fota_tz *tz;
	bool was_known;

	if (!c->daily.set)
		return true;
	was_known = strcmp(e->zones.name, c->daily.tz) == 0;
	tz = fota_tz_cache_get(&e->zones, c->daily.tz);
	if (!tz && !was_known)
		orch_log("campaign %s: daily window stays closed: %s", c->id, e->zones.err.msg);
	return tz && fota_daily_window_open(&c->daily, tz, now, NULL);
}

/* Whether a device may be admitted to a campaign of an encrypted image: its content key can
 * only be wrapped to the key of a registered certificate. */
static bool has_cert(struct orch_store *st, const char *id)
{
	static char pem[ORCH_MAX_DEVICE_CERT_PEM];

	return st->ops->device_cert_get(st, id, pem, sizeof(pem), NULL) == FOTA_OK;
}

/* Records the admission of id (once). A device whose registry entry (reg, NULL: unknown) rules
 * the image out, or that has no certificate for an encrypted image's key, is recorded as
 * incompatible instead, with the reason, and never counted as admitted. */
static fota_err admit(struct orch_store *st, const struct orch_campaign *c, const char *id,
		      const struct member *reg, bool encrypted, int64_t now, const char *how,
		      uint32_t *admitted, struct fota_error *err)
{
	struct orch_cdev d;
	char why[FOTA_MAX_REASON_LEN + 1];
	bool ins = false, ok;
	fota_err rc = st->ops->cdev_admit(st, c->id, id, c->stage, now, &ins, err);

	if (rc || !ins)
		return rc;
	ok = !reg || orch_campaign_compatible(c, reg->model, reg->hw, why, sizeof(why));
	if (ok && encrypted && !has_cert(st, id)) {
		ok = false;
		snprintf(why, sizeof(why), "%s", ORCH_REASON_NO_CERT);
	}
	if (ok) {
		(*admitted)++;
		return orch_campaign_event(st, c->id, id, "admitted", "", err, "stage %u%s",
					   c->stage + 1, how);
	}
	rc = st->ops->cdev_get(st, c->id, id, &d, err);
	if (rc == FOTA_OK) {
		d.mark = ORCH_CMARK_INCOMPATIBLE;
		snprintf(d.reason, sizeof(d.reason), "%s", why);
		rc = orch_campaign_event_seq(st, c->id, id, "incompatible", "", &d.seq, err,
					     "not admitted: %s", why);
	}
	if (rc == FOTA_OK)
		rc = st->ops->cdev_put(st, c->id, &d, err);
	return rc;
}

struct silent {
	const struct orch_campaign *c;
	int64_t now;
};

static bool is_silent(void *ctx, const struct orch_cdev *d)
{
	const struct silent *s = ctx;

	return orch_cdev_timed_out(s->c, d, s->now);
}

/* Marks every admitted device silent past the campaign's device timeout as timed out. */
static fota_err mark_timeouts(struct orch_store *st, const struct orch_campaign *c, int64_t now,
			      struct fota_error *err)
{
	struct silent s = {.c = c, .now = now};
	struct orch_cdev *list = NULL;
	size_t i, n = 0;
	fota_err rc;

	rc = orch_cdev_collect(st, c->id, is_silent, &s, &list, &n, err);
	for (i = 0; rc == FOTA_OK && i < n; i++) {
		struct orch_cdev *d = &list[i];

		d->mark = ORCH_CMARK_TIMED_OUT;
		rc = orch_campaign_event_seq(
		    st, c->id, d->device, "timed_out", c->timeout_skips ? "skipped" : "failed",
		    &d->seq, err, "silent for %llds (device timeout %us)",
		    (long long)(now - orch_cdev_last_heard(c, d)), c->device_timeout_s);
		if (rc == FOTA_OK)
			rc = st->ops->cdev_put(st, c->id, d, err);
		if (rc == FOTA_OK)
			orch_log("campaign %s: %s timed out", c->id, d->device);
	}
	free(list);
	return rc;
}

/* The admitted members that do not follow their registry groups yet get their assignment: a
 * campaign on a group reaches a device added to it (`device add --groups`) even when that
 * command could not publish it. A broker that is gone ends the round; the next step tries
 * again. */
static void send_assignments(struct orch_engine *e, const struct orch_campaign *c,
			     const struct members *m)
{
	if (!orch_assigner_can_sign(e->assigner))
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct fota_error err = {0};
		struct orch_device d;
		uint64_t seq = 0;

		if (!m->m[i].needs_assignment ||
		    !orch_campaign_admits(c, c->stage, c->cur_percent, m->m[i].id))
			continue;
		if (orch_assigner_send(e->assigner, e->store, m->m[i].id, NULL, &d, &seq, &err)) {
			char what[FOTA_MAX_NAME_LEN + FOTA_MAX_SEGMENT_LEN + 48];

			snprintf(what, sizeof(what), "campaign %s: assignment for %s", c->id,
				 m->m[i].id);
			orch_fail(what, &err);
			if (err.code == FOTA_ERR_MQTT)
				return;
			continue;
		}
		orch_log("campaign %s: %s reports groups %s, not its registry's: assignment %llu "
			 "published, groups %s",
			 c->id, d.id, d.reported[0] ? d.reported : "(none)",
			 (unsigned long long)seq, d.groups[0] ? d.groups : "(none)");
	}
}

static fota_err publish(struct orch_engine *e, struct orch_campaign *c, int64_t now,
			struct fota_error *err)
{
	struct fota_directive d;
	struct orch_image *img = NULL;
	fota_err rc;

	memset(&d, 0, sizeof(d));
	if (!e->pub || !e->signer)
		return FOTA_OK;
	rc = orch_image_open(e->cfg, c->image_id, &img, err);
	if (rc)
		goto out;
	rc = orch_campaign_directive(c, img, now, &d, err);
	if (rc)
		goto out;
	/* The tables first, retained: a device acting on the directive finds them. */
	if (c->state != ORCH_CAMPAIGN_ABORTED) {
		rc = orch_publish_tables(e->pub, e->cfg, c->group, img, err);
		if (rc)
			goto out;
	}
	/* Each admitted device's key before the directive that lets it start. */
	if (c->state != ORCH_CAMPAIGN_ABORTED) {
		rc = orch_campaign_keys_sync(e->cfg, e->store, e->pub, e->signer, c, err);
		if (rc)
			goto out;
	}
	rc = orch_directive_next_seq(e->store, c->group, &d.directive_seq, err);
	if (rc == FOTA_OK)
		rc = orch_publish_directive(e->pub, e->store, e->signer, &d, img->id, err);
	if (rc)
		goto out;
	c->directive_seq = d.directive_seq;
	pthread_mutex_lock(&e->lock);
	e->stats.directives++;
	pthread_mutex_unlock(&e->lock);
out:
	fota_directive_clear(&d);
	orch_image_free(img);
	return rc;
}

/* The payload the broadcast for c carries (orch_payload_choose), recorded as a `payload`
 * event when the image offers a delta. Any failure falls back to the full payload: devices
 * on the base then fetch the delta by repair. */
static void choose_payload(struct orch_engine *e, const struct orch_campaign *c,
			   char id[FOTA_IMAGE_ID_HEX_LEN + 1])
{
	struct orch_payload_choice p;
	struct fota_error err = {0};
	char why[ORCH_MAX_EVENT_DETAIL];

	memcpy(id, c->image_id, FOTA_IMAGE_ID_HEX_LEN + 1);
	if (orch_payload_choose(e->cfg, e->store, c, &p, &err)) {
		orch_fail("payload choice", &err);
		return;
	}
	if (!p.has_delta)
		return;
	memcpy(id, p.payload_id, FOTA_IMAGE_ID_HEX_LEN + 1);
	orch_payload_choice_describe(&p, why, sizeof(why));
	orch_log("campaign %s: %s", c->id, why);
	if (e->store->ops->begin(e->store, &err)) {
		orch_fail("payload event", &err);
	} else if (orch_campaign_event(e->store, c->id, "", "payload", p.delta ? "delta" : "full",
				       &err, "%s", why) ||
		   e->store->ops->commit(e->store, &err)) {
		e->store->ops->rollback(e->store);
		orch_fail("payload event", &err);
	}
}

fota_err orch_engine_step(struct orch_engine *e, const char *campaign_id, int64_t now,
			  struct fota_error *err)
{
	struct orch_store *st = e->store;
	struct orch_campaign c;
	struct members m = {.now = now};
	struct tally t;
	enum orch_verdict v = ORCH_VERDICT_HOLD;
	uint32_t target, eff, admitted_now = 0;
	bool in_window = false, in_txn = false, published = false, publishing = false;
	bool encrypted = false;
	char publisher[FOTA_MAX_NAME_LEN + 16];
	size_t i;
	fota_err rc;

	memset(&t, 0, sizeof(t));
	rc = st->ops->begin(st, err);
	if (rc)
		return rc;
	in_txn = true;
	rc = st->ops->campaign_get(st, campaign_id, &c, err);
	if (rc)
		goto out;
	if (c.state != ORCH_CAMPAIGN_RUNNING) {
		/* Paused or aborted: the devices stop downloading, so should the broadcast. */
		if (e->bcast)
			orch_broadcaster_stop(e->bcast, c.id);
		goto publish;
	}
	in_window = (!c.not_before || now >= c.not_before) && (!c.not_after || now < c.not_after) &&
		    daily_open(e, &c, now);
	encrypted = orch_campaign_image_encrypted(e->cfg, c.image_id);
	rc = st->ops->device_each(st, c.group, add_member, &m, err);
	if (rc == FOTA_OK && m.oom)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	if (rc)
		goto out;

	/* Widen the percentage of the current stage, as far as the rate limit allows. */
	target = orch_campaign_stage_percent(&c, c.stage);
	eff = c.cur_percent;
	if (in_window && eff < target) {
		if (c.admit_per_min == 0) {
			eff = target;
		} else {
			struct tally r = {.c = &c, .since = now - 60};

			rc = st->ops->cdev_each(st, c.id, tally_one, &r, err);
			if (rc)
				goto out;
			while (eff < target) {
				uint32_t more = newly_admitted(&c, &m, eff + 1);

				if (r.recent + more > c.admit_per_min)
					break;
				eff++;
			}
		}
		if (eff != c.cur_percent) {
			c.cur_percent = eff;
			c.want_rev++;
		}
	}
	/* Record every registered member (and every listed device) the directive admits, in
	 * the same transaction as the percentage, before the directive goes out: after a
	 * crash the admissions and the directive can only agree. */
	for (i = 0; in_window && i < m.n; i++) {
		if (!orch_campaign_admits(&c, c.stage, c.cur_percent, m.m[i].id))
			continue;
		rc = admit(st, &c, m.m[i].id, &m.m[i], encrypted, now, "", &admitted_now, err);
		if (rc)
			goto out;
	}
	for (i = 0; in_window && i <= c.stage; i++) {
		const char *p = c.stages[i].devices;

		while (p && *p) {
			struct orch_device reg;
			struct member lm;
			size_t len = strcspn(p, ",");
			bool known;

			memset(&lm, 0, sizeof(lm));
			snprintf(lm.id, sizeof(lm.id), "%.*s", (int)len, p);
			/* A listed device the registry does not know is admitted on trust. */
			known = st->ops->device_get(st, lm.id, &reg, NULL) == FOTA_OK;
			if (known) {
				snprintf(lm.model, sizeof(lm.model), "%s", reg.model);
				snprintf(lm.hw, sizeof(lm.hw), "%s", reg.hw);
			}
			rc = admit(st, &c, lm.id, known ? &lm : NULL, encrypted, now, " (listed)",
				   &admitted_now, err);
			if (rc)
				goto out;
			p += len;
			if (*p == ',')
				p++;
		}
	}
	if (c.device_timeout_s) {
		rc = mark_timeouts(st, &c, now, err);
		if (rc)
			goto out;
	}

	t.c = &c;
	t.since = now - 60;
	rc = st->ops->cdev_each(st, c.id, tally_one, &t, err);
	if (rc)
		goto out;
	v = orch_campaign_judge(&c, &t.k, c.cur_percent >= target, now);
	switch (v) {
	case ORCH_VERDICT_PAUSE:
		c.state = ORCH_CAMPAIGN_PAUSED;
		snprintf(c.reason, sizeof(c.reason),
			 "failure threshold: %u of %u admitted devices failed (threshold %u%s); "
			 "first: %.80s",
			 t.k.failed_now, t.k.admitted, c.fail_count ? c.fail_count : c.fail_pct,
			 c.fail_count ? "" : "%", t.first_fail);
		c.want_rev++;
		rc = orch_campaign_event(st, c.id, "", "paused", "failure_threshold", err, "%s",
					 c.reason);
		orch_log("campaign %s paused itself: %s", c.id, c.reason);
		break;
	case ORCH_VERDICT_HOLD:
		c.stage_met = 0;
		break;
	case ORCH_VERDICT_MET:
		if (c.stage_met == 0) {
			c.stage_met = now;
			rc = orch_campaign_event(st, c.id, "", "stage_met", "", err,
						 "stage %u: %u/%u confirmed", c.stage + 1,
						 t.k.confirmed, t.k.admitted);
		}
		break;
	case ORCH_VERDICT_ADVANCE:
		c.stage++;
		c.stage_started = now;
		c.stage_met = 0;
		c.want_rev++;
		rc = orch_campaign_event(st, c.id, "", "stage", "", err,
					 "stage %u of %u started (%u/%u confirmed so far)",
					 c.stage + 1, c.n_stages, t.k.confirmed, t.k.admitted);
		orch_log("campaign %s: stage %u of %u", c.id, c.stage + 1, c.n_stages);
		break;
	case ORCH_VERDICT_COMPLETE:
		c.state = ORCH_CAMPAIGN_COMPLETED;
		c.finished = now;
		rc = orch_campaign_event(st, c.id, "", "completed", "", err,
					 "%u confirmed, %u failed of %u admitted", t.k.confirmed,
					 t.k.failed, t.k.admitted);
		orch_log("campaign %s completed: %u confirmed, %u failed", c.id, t.k.confirmed,
			 t.k.failed);
		break;
	}
	if (rc)
		goto out;
publish:
	rc = st->ops->campaign_put(st, &c, err);
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, err);
	if (rc)
		goto out;
	in_txn = false;
	if (c.state == ORCH_CAMPAIGN_RUNNING && in_window)
		send_assignments(e, &c, &m);
	if (c.pub_rev < c.want_rev && e->pub) {
		uint64_t rev;

		/* Several instances on one database: the one that holds the campaign's publish
		 * lock publishes; the others skip it. The holder reads the campaign again, as
		 * another instance may have published this revision or changed it since. */
		snprintf(publisher, sizeof(publisher), "publish:%s", c.id);
		rc = st->ops->lock_try(st, publisher, &publishing, err);
		if (rc || !publishing)
			goto out;
		{
			struct orch_campaign fresh;

			rc = st->ops->campaign_get(st, campaign_id, &fresh, err);
			if (rc)
				goto out;
			orch_campaign_clear(&c);
			c = fresh;
		}
		if (c.pub_rev >= c.want_rev)
			goto out;
		rev = c.want_rev;
		rc = publish(e, &c, now, err);
		if (rc)
			goto out;
		published = true;
		/* Only the publishing bookkeeping; a CLI change that raced us bumped want_rev
		 * and will be published on the next step. */
		rc = st->ops->begin(st, err);
		if (rc)
			goto out;
		in_txn = true;
		{
			struct orch_campaign fresh;
			uint64_t seq = c.directive_seq;

			rc = st->ops->campaign_get(st, campaign_id, &fresh, err);
			if (rc == FOTA_OK) {
				fresh.pub_rev = rev;
				fresh.directive_seq = seq;
				rc = st->ops->campaign_put(st, &fresh, err);
			}
			if (rc == FOTA_OK)
				rc = orch_campaign_event(st, c.id, "", "directive", "", err,
							 "seq %llu: %s, stage %u, %u%%",
							 (unsigned long long)seq,
							 orch_cstate_name(fresh.state),
							 fresh.stage + 1, fresh.cur_percent);
			orch_campaign_clear(&fresh);
		}
		if (rc == FOTA_OK)
			rc = st->ops->commit(st, err);
		if (rc == FOTA_OK)
			in_txn = false;
	}
	/* Between directives: keys for devices admitted since (a listed device's report), and
	 * back from those that confirmed. */
	if (!published && encrypted && e->pub && !in_txn) {
		struct fota_error kerr = {0};

		if (orch_campaign_keys_sync(e->cfg, st, e->pub, e->signer, &c, &kerr))
			orch_fail("content keys", &kerr);
	}
	/* The directive is out: devices it admits start now, and the broadcast reaches them.
	 * A directive that admits nobody new (a resume, a republish after a restart) counts the
	 * devices still waiting for the image instead. */
	if (published && e->bcast && c.state == ORCH_CAMPAIGN_RUNNING && in_window) {
		uint32_t devices = admitted_now ? admitted_now : t.k.need_image;
		char owner[ORCH_BCAST_OWNER_LEN];
		struct fota_error lerr = {0};
		enum orch_bcast_action a = ORCH_BCAST_COVERED;
		char payload[FOTA_IMAGE_ID_HEX_LEN + 1];
		bool mine = false;

		choose_payload(e, &c, payload);

		/* The instance that owns the group's broadcast of the payload sends it; another
		 * instance's broadcast already serves these devices. */
		orch_bcast_owner_name(owner, c.group, payload);
		if (st->ops->lock_try(st, owner, &mine, &lerr))
			orch_fail("broadcast ownership", &lerr);
		if (mine) {
			a = orch_broadcaster_request(e->bcast, c.id, c.group, payload, devices,
						     admitted_now, (uint32_t)m.n);
			if (!orch_bcast_local(e->bcast, c.group, payload))
				st->ops->unlock(st, owner);
		}

		if (a == ORCH_BCAST_SKIPPED && devices)
			orch_log("campaign %s: no broadcast for %u device%s of %zu in group %s; "
				 "unicast repair serves %s",
				 c.id, devices, devices == 1 ? "" : "s", m.n, c.group,
				 devices == 1 ? "it" : "them");
		else if (a == ORCH_BCAST_AGAIN)
			orch_log("campaign %s: %u devices admitted during the broadcast; one more "
				 "follows",
				 c.id, devices);
	}
out:
	if (in_txn)
		st->ops->rollback(st);
	if (publishing)
		st->ops->unlock(st, publisher);
	free(m.m);
	orch_campaign_clear(&c);
	return rc;
}

static int step_cb(void *ctx, const char *id)
{
	struct orch_engine *e = ctx;
	struct fota_error err = {0};

	if (orch_engine_step(e, id, fota_time_now(), &err)) {
		char what[FOTA_MAX_NAME_LEN + 16];

		snprintf(what, sizeof(what), "campaign %s", id);
		orch_fail(what, &err);
	}
	return 0;
}

void orch_engine_record_broadcasts(struct orch_engine *e)
{
	orch_broadcasts_sync(e->store, e->bcast);
}

static int count_broadcast(void *ctx, const struct orch_event *ev)
{
	uint32_t *n = ctx;

	if (strcmp(ev->kind, "broadcast") == 0) {
		n[0]++;
		if (strcmp(ev->result, orch_bcast_end_name(ORCH_BCAST_DONE)) != 0)
			n[1]++;
	}
	return 0;
}

fota_err orch_campaign_broadcasts(struct orch_store *s, const char *campaign, uint32_t *total,
				  uint32_t *incomplete, struct fota_error *err)
{
	uint32_t n[2] = {0, 0};
	fota_err rc = s->ops->event_each(s, campaign, "", count_broadcast, n, err);

	*total = n[0];
	*incomplete = n[1];
	return rc;
}

void orch_engine_run_once(struct orch_engine *e)
{
	struct fota_error err = {0};

	while (drain(e) == ENGINE_BATCH)
		;
	orch_engine_record_broadcasts(e);
	if (e->store->ops->campaign_each(e->store, true, step_cb, e, &err))
		orch_fail("campaigns", &err);
}
