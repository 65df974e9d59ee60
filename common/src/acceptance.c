/* SPDX-License-Identifier: Apache-2.0 */
/* The device's one decision on a directive (docs/manifest.md, "Acting on a directive"). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/acceptance.h"
#include "fota/envelope.h"
#include "fota/limits.h"
#include "fota/timeutil.h"

static const char *const verdict_names[FOTA_VERDICT__COUNT] = {
    "ignore", "not_admitted", "unverified", "refuse",	"abort",
    "hold",   "defer",	      "installed",  "continue", "start",
};

const char *fota_verdict_name(enum fota_verdict v)
{
	return (unsigned)v < FOTA_VERDICT__COUNT ? verdict_names[v] : "unknown";
}

static void say(struct fota_acceptance *out, enum fota_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets a verdict that is not a refusal, with a short explanation for the log. */
static void say(struct fota_acceptance *out, enum fota_verdict v, const char *fmt, ...)
{
	va_list ap;

	out->verdict = v;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* A refusal (or an unverifiable document) with the error that says why. */
static void refuse(struct fota_acceptance *out, enum fota_verdict v, const struct fota_error *err)
{
	out->verdict = v;
	out->code = err->code;
	out->result = fota_result_from_err(err->code);
	snprintf(out->reason, sizeof(out->reason), "%s", err->msg);
}

enum fota_window fota_acceptance_window(const struct fota_directive *d, const struct fota_tz *tz,
					int64_t now, int64_t *opens_at)
{
	int64_t daily_at = 0;

	if (d->not_after != 0 && now >= d->not_after)
		return FOTA_WINDOW_CLOSED;
	if (d->not_before != 0 && now < d->not_before) {
		if (opens_at)
			*opens_at = d->not_before;
		return FOTA_WINDOW_NOT_YET;
	}
	if (!d->daily.set || (tz && fota_daily_window_open(&d->daily, tz, now, &daily_at)))
		return FOTA_WINDOW_OPEN;
	/* Without the zone the daily window cannot be placed: it never opens. */
	if (!tz || (d->not_after != 0 && daily_at >= d->not_after))
		return FOTA_WINDOW_CLOSED;
	if (opens_at)
		*opens_at = daily_at;
	return FOTA_WINDOW_NOT_YET;
}

/* Replay and redelivery: true when the directive is new enough to be judged. */
static bool fresh(const struct fota_directive *d, const struct fota_acceptance_device *dev,
		  struct fota_acceptance *out)
{
	if (d->directive_seq < dev->seen_seq) {
		say(out, FOTA_VERDICT_IGNORE,
		    "directive for %s: sequence %llu < %llu already seen, ignored (replay)",
		    dev->group, (unsigned long long)d->directive_seq,
		    (unsigned long long)dev->seen_seq);
		return false;
	}
	/* Redelivered after a reconnect: already handled, or the running job's own. */
	if (d->directive_seq == dev->seen_seq &&
	    (dev->settled || (dev->job_active && dev->job_seq == d->directive_seq))) {
		say(out, FOTA_VERDICT_IGNORE, "directive %llu for %s already handled",
		    (unsigned long long)d->directive_seq, dev->group);
		return false;
	}
	return true;
}

/* After the directive was accepted as the group's current one: its window, expiry,
 * manifest and the device checks. */
static void judge_content(const struct fota_trust *trust, const struct fota_acceptance_device *dev,
			  struct fota_acceptance *out)
{
	const struct fota_directive *d = &out->directive;
	struct fota_manifest *m = &out->manifest;
	struct fota_device_info info;
	struct fota_error err = {0};
	uint8_t *mbody = NULL, digest[FOTA_SHA256_LEN];
	size_t mbody_len = 0;
	char when[FOTA_TIME_STR_LEN];
	int64_t opens_at = 0;
	const struct fota_tz *tz = NULL;

	if (d->daily.set && dev->zone)
		tz = dev->zone(dev->zone_ctx, d->daily.tz);
	switch (fota_acceptance_window(d, tz, dev->now, &opens_at)) {
	case FOTA_WINDOW_NOT_YET:
		fota_time_format(opens_at, when);
		out->retry_at = opens_at;
		say(out, FOTA_VERDICT_DEFER, "campaign %s: directive window opens at %s",
		    d->campaign_id, when);
		return;
	case FOTA_WINDOW_CLOSED:
		if (d->daily.set && !tz) {
			fota_error_set(&err, FOTA_ERR_INCOMPATIBLE,
				       "directive rejected: its daily window is in time zone %s, "
				       "which this device does not know",
				       d->daily.tz);
			goto refused;
		}
		fota_time_format(d->not_after, when);
		fota_error_set(&err, FOTA_ERR_EXPIRED, "directive rejected: window closed at %s",
			       when);
		goto refused;
	case FOTA_WINDOW_OPEN:
		break;
	}
	if (d->expires <= dev->now) {
		fota_time_format(d->expires, when);
		fota_error_set(&err, FOTA_ERR_EXPIRED, "directive rejected: expired at %s", when);
		goto refused;
	}
	/* The manifest must be signed by the release role, and be the one the directive names. */
	if (fota_envelope_verify(trust, FOTA_ROLE_RELEASE, d->manifest_jws, d->manifest_jws_len,
				 FOTA_MAX_ENVELOPE_BYTES, &mbody, &mbody_len, &err) != FOTA_OK) {
		fota_error_prefix(&err, "manifest rejected");
		goto refused;
	}
	fota_sha256(mbody, mbody_len, digest);
	if (!fota_digest_equal(digest, d->manifest_sha256, sizeof(digest))) {
		fota_error_set(&err, FOTA_ERR_DIGEST,
			       "directive rejected: manifest digest does not match");
		goto refused;
	}
	if (fota_manifest_parse(mbody, mbody_len, m, &err) != FOTA_OK)
		goto refused;
	out->has_manifest = true;
	if (dev->installed_sha256 && fota_digest_equal(fota_manifest_image_sha256(m),
						       dev->installed_sha256, FOTA_SHA256_LEN)) {
		out->settle = true;
		say(out, FOTA_VERDICT_INSTALLED, "image %s is already installed", m->version);
		goto out;
	}
	info.vendor = dev->vendor;
	info.model = dev->model;
	info.hw_revision = dev->hw_revision;
	info.current_version = dev->current_version;
	info.installed_sequence = dev->installed_sequence;
	info.now = dev->now;
	if (fota_manifest_check_device(m, &info, &err) != FOTA_OK)
		goto refused;
	if (m->compression == FOTA_COMPRESSION_ZSTD && !dev->zstd) {
		fota_error_set(&err, FOTA_ERR_INCOMPATIBLE,
			       "manifest rejected: compression '%s' not supported by this agent",
			       fota_compression_name(m->compression));
		goto refused;
	}
	if (m->has_delta_base && !dev->delta) {
		fota_error_set(&err, FOTA_ERR_INCOMPATIBLE,
			       "manifest rejected: delta-only payloads (image.from_sha256) are not "
			       "supported by this agent: it takes image.delta, next to a full "
			       "payload");
		goto refused;
	}
	if (dev->install_method == NULL ||
	    strcmp(fota_install_method_name(m->install_method), dev->install_method) != 0) {
		fota_error_set(&err, FOTA_ERR_INCOMPATIBLE,
			       "manifest rejected: install method '%s' but this device uses '%s'",
			       fota_install_method_name(m->install_method),
			       dev->install_method ? dev->install_method : "(none)");
		goto refused;
	}
	if (dev->job_active && dev->job_sha256 &&
	    fota_digest_equal(dev->job_sha256, m->sha256, FOTA_SHA256_LEN)) {
		say(out, FOTA_VERDICT_CONTINUE, "directive %llu: carry on with %s %s",
		    (unsigned long long)d->directive_seq, m->name, m->version);
		goto out;
	}
	say(out, FOTA_VERDICT_START, "directive %llu accepted: %s %s, campaign %s",
	    (unsigned long long)d->directive_seq, m->name, m->version, d->campaign_id);
	goto out;
refused:
	refuse(out, FOTA_VERDICT_REFUSE, &err);
	out->settle = true; /* the same directive is not tried again */
out:
	free(mbody);
}

void fota_acceptance_judge(const struct fota_trust *trust, const uint8_t *jws, size_t len,
			   const struct fota_acceptance_device *dev, struct fota_acceptance *out)
{
	struct fota_directive *d = &out->directive;
	struct fota_error err = {0};
	uint8_t *body = NULL;
	size_t body_len = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		say(out, FOTA_VERDICT_IGNORE, "directive for %s cleared", dev->group);
		return;
	}
	/* A document that does not verify says nothing about any campaign. */
	if (fota_envelope_verify(trust, FOTA_ROLE_ORCHESTRATOR, (const char *)jws, len,
				 FOTA_MAX_DIRECTIVE_BYTES, &body, &body_len, &err) != FOTA_OK) {
		fota_error_prefix(&err, "directive rejected");
		refuse(out, FOTA_VERDICT_UNVERIFIED, &err);
		return;
	}
	if (fota_directive_parse(body, body_len, d, &err) != FOTA_OK) {
		refuse(out, FOTA_VERDICT_REFUSE, &err);
		goto out;
	}
	out->has_directive = true;
	if (strcmp(d->group, dev->group) != 0) {
		fota_error_set(&err, FOTA_ERR_FIELD,
			       "directive rejected: names group '%s' but came on '%s'", d->group,
			       dev->group);
		refuse(out, FOTA_VERDICT_REFUSE, &err);
		goto out;
	}
	if (!fresh(d, dev, out))
		goto out;
	if (dev->busy) {
		say(out, FOTA_VERDICT_IGNORE, "directive %llu for %s waits: a switch is under way",
		    (unsigned long long)d->directive_seq, dev->group);
		goto out;
	}
	/* From here on this is the group's current directive, whatever it says. */
	out->record = true;
	if (d->state == FOTA_CAMPAIGN_ABORTED) {
		out->settle = true;
		say(out, FOTA_VERDICT_ABORT, "campaign %s aborted", d->campaign_id);
		goto out;
	}
	if (d->state == FOTA_CAMPAIGN_PAUSED) {
		say(out, FOTA_VERDICT_HOLD, "campaign %s paused: nothing new starts",
		    d->campaign_id);
		goto out;
	}
	/* Before the window: a device that is not admitted never reports for the campaign. */
	if (!fota_directive_admits(d, dev->id)) {
		say(out, FOTA_VERDICT_NOT_ADMITTED,
		    "directive %llu for %s does not admit this device",
		    (unsigned long long)d->directive_seq, dev->group);
		goto out;
	}
	judge_content(trust, dev, out);
out:
	free(body);
}

void fota_acceptance_clear(struct fota_acceptance *out)
{
	if (out == NULL)
		return;
	fota_directive_clear(&out->directive);
	out->has_directive = false;
	out->has_manifest = false;
}
