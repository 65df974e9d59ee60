/* SPDX-License-Identifier: Apache-2.0 */
/* The device's decision on a directive: a table of directive, manifest and device-state cases
 * run through fota_acceptance_judge, each with its verdict, result, reason and journal effect. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/acceptance.h"
#include "fota/b64url.h"
#include "fota/trust.h"
#include "testutil.h"

#define NOW 1800000000 /* 2027-01-15T08:00:00Z: every case uses this clock */
#define DAY 86400

/* How a case signs its documents. */
enum orch_sig { SIG_ORCH, SIG_RELEASE_KEY, SIG_NONE_ALG, SIG_BROKEN };
enum rel_sig { REL_RELEASE, REL_ORCH_KEY };

struct scene {
	struct fota_manifest m;
	struct fota_directive d;
	struct fota_acceptance_device dev;
	enum orch_sig orch_sig;
	enum rel_sig rel_sig;
	bool wrong_digest;
	bool empty;
	uint8_t installed[FOTA_SHA256_LEN], job[FOTA_SHA256_LEN];
};

/* A flattened envelope with "alg":"none" and no signature, as a forger would send it. */
static char *unsigned_envelope(const char *payload)
{
	static const char prot[] = "{\"alg\":\"none\",\"kid\":\"orch-1\"}";
	char *p64 = fota_b64url_encode((const uint8_t *)payload, strlen(payload));
	char *h64 = fota_b64url_encode((const uint8_t *)prot, strlen(prot));
	size_t n = strlen(p64) + strlen(h64) + 64;
	char *json = malloc(n);

	ck_assert_ptr_nonnull(json);
	snprintf(json, n, "{\"payload\":\"%s\",\"protected\":\"%s\",\"signature\":\"\"}", p64, h64);
	free(p64);
	free(h64);
	return json;
}

/* Zones from the test data, whatever the host has. */
static struct fota_tz_cache zones;

/* The baseline: a good manifest and a directive admitting every device of group "lab". */
static void scene_init(struct scene *s)
{
	memset(s, 0, sizeof(*s));
	s->m.sequence = 10;
	s->m.created = NOW - DAY;
	s->m.expires = NOW + 30 * DAY;
	snprintf(s->m.vendor, sizeof(s->m.vendor), "acme");
	snprintf(s->m.model, sizeof(s->m.model), "gw-100");
	snprintf(s->m.name, sizeof(s->m.name), "firmware");
	snprintf(s->m.version, sizeof(s->m.version), "2.0.0");
	s->m.size = 4096;
	s->m.sha256[0] = 0x42;
	s->m.chunk_size = 1024;
	s->m.chunk_count = 4;
	s->m.install_method = FOTA_INSTALL_FILE;
	s->m.confirm_timeout_s = 300;
	s->d.directive_seq = 5;
	snprintf(s->d.campaign_id, sizeof(s->d.campaign_id), "c1");
	snprintf(s->d.group, sizeof(s->d.group), "lab");
	s->d.created = NOW - 3600;
	s->d.expires = NOW + DAY;
	s->d.state = FOTA_CAMPAIGN_ACTIVE;
	s->d.admit_all = true;
	s->dev.id = "dev-1";
	s->dev.group = "lab";
	s->dev.vendor = "acme";
	s->dev.model = "gw-100";
	s->dev.hw_revision = "B";
	s->dev.install_method = "file";
	s->dev.current_version = "1.0.0";
	s->dev.installed_sequence = 3;
	s->dev.seen_seq = 4;
	s->dev.settled = true;
	s->dev.now = NOW;
	s->dev.zone = fota_tz_cache_get;
	s->dev.zone_ctx = &zones;
	s->orch_sig = SIG_ORCH;
	s->rel_sig = REL_RELEASE;
}

/* Signs the scene's documents as the case says and judges them. */
static void judge(struct scene *s, const struct fota_trust *trust, struct fota_acceptance *out)
{
	struct fota_error err = {0};
	char *mjson = NULL, *djson = NULL, *env;

	ck_assert_msg(fota_manifest_to_json(&s->m, &mjson, &err) == FOTA_OK, "%s", err.msg);
	s->d.manifest_jws = tu_sign(s->rel_sig == REL_RELEASE ? "rel-2" : "orch-1", mjson);
	s->d.manifest_jws_len = strlen(s->d.manifest_jws);
	fota_sha256((const uint8_t *)mjson, strlen(mjson), s->d.manifest_sha256);
	if (s->wrong_digest)
		s->d.manifest_sha256[0] ^= 1;
	ck_assert_msg(fota_directive_to_json(&s->d, &djson, &err) == FOTA_OK, "%s", err.msg);
	switch (s->orch_sig) {
	case SIG_ORCH:
	case SIG_BROKEN:
		env = tu_sign("orch-1", djson);
		break;
	case SIG_RELEASE_KEY:
		env = tu_sign("rel-2", djson);
		break;
	default:
		env = unsigned_envelope(djson);
		break;
	}
	if (s->orch_sig == SIG_BROKEN) /* one character of the signature changed */
		env[strlen(env) - 6] = env[strlen(env) - 6] == 'A' ? 'B' : 'A';
	fota_acceptance_judge(trust, (const uint8_t *)env, s->empty ? 0 : strlen(env), &s->dev,
			      out);
	free(env);
	free(djson);
	free(mjson);
	free(s->d.manifest_jws);
	s->d.manifest_jws = NULL;
}

/* --- the table ----------------------------------------------------------------------------- */

static void t_none(struct scene *s)
{
	(void)s;
}
static void t_empty(struct scene *s)
{
	s->empty = true;
}
static void t_alg_none(struct scene *s)
{
	s->orch_sig = SIG_NONE_ALG;
}
static void t_bad_signature(struct scene *s)
{
	s->orch_sig = SIG_BROKEN;
}
static void t_wrong_role(struct scene *s)
{
	s->orch_sig = SIG_RELEASE_KEY;
}
static void t_wrong_group(struct scene *s)
{
	snprintf(s->d.group, sizeof(s->d.group), "other");
}
static void t_replay(struct scene *s)
{
	s->dev.seen_seq = 6;
}
static void t_settled_redelivery(struct scene *s)
{
	s->dev.seen_seq = 5;
}
static void t_unsettled_redelivery(struct scene *s)
{
	s->dev.seen_seq = 5;
	s->dev.settled = false;
}
static void t_job_redelivery(struct scene *s)
{
	t_unsettled_redelivery(s);
	s->dev.job_active = true;
	s->dev.job_seq = 5;
	s->dev.job_group = "lab";
	memcpy(s->job, s->m.sha256, FOTA_SHA256_LEN);
	s->dev.job_sha256 = s->job;
}
static void t_busy(struct scene *s)
{
	s->dev.busy = true;
}
static void t_aborted(struct scene *s)
{
	s->d.state = FOTA_CAMPAIGN_ABORTED;
}
static void t_paused(struct scene *s)
{
	s->d.state = FOTA_CAMPAIGN_PAUSED;
}
static void t_not_admitted(struct scene *s)
{
	s->d.admit_all = false;
	s->d.admit_percent = 0;
}
static void t_listed(struct scene *s)
{
	static char *list[] = {"dev-9", "dev-1"};

	s->d.admit_all = false;
	s->d.admit_devices = list;
	s->d.n_admit_devices = 2;
}
static void t_not_admitted_window(struct scene *s)
{
	t_not_admitted(s);
	s->d.not_before = NOW + 3600;
}
static void t_window_not_yet(struct scene *s)
{
	s->d.not_before = NOW + 3600;
	s->d.not_after = NOW + 7200;
}
static void t_window_closed(struct scene *s)
{
	s->d.not_before = NOW - 7200;
	s->d.not_after = NOW - 3600;
}
static void t_job_redelivery_window_closed(struct scene *s)
{
	/* The window bounds when a job starts: its own directive, redelivered after not_after. */
	t_job_redelivery(s);
	t_window_closed(s);
}
static void t_window_open(struct scene *s)
{
	s->d.not_before = NOW - 3600;
	s->d.not_after = NOW + 3600;
}
static void daily(struct scene *s, const char *spec, const char *tz)
{
	struct fota_error err = {0};

	ck_assert_int_eq(fota_daily_window_parse(spec, tz, &s->d.daily, &err), FOTA_OK);
}
static void t_daily_not_yet(struct scene *s)
{
	daily(s, "09:00-10:00", "UTC");
}
static void t_daily_not_yet_berlin(struct scene *s)
{
	daily(s, "10:00-11:00", "Europe/Berlin"); /* 09:00 UTC in winter */
}
static void t_daily_open(struct scene *s)
{
	daily(s, "07:00-09:00", "UTC");
}
static void t_daily_after_window(struct scene *s)
{
	daily(s, "09:00-10:00", "UTC");
	s->d.not_after = NOW + 1800;
}
static void t_daily_unknown_zone(struct scene *s)
{
	daily(s, "07:00-09:00", "Mars/Olympus");
}
static void t_directive_expired(struct scene *s)
{
	s->d.created = NOW - 2 * DAY;
	s->d.expires = NOW - DAY;
}
static void t_manifest_wrong_role(struct scene *s)
{
	s->rel_sig = REL_ORCH_KEY;
}
static void t_wrong_digest(struct scene *s)
{
	s->wrong_digest = true;
}
static void t_installed(struct scene *s)
{
	memcpy(s->installed, s->m.sha256, FOTA_SHA256_LEN);
	s->dev.installed_sha256 = s->installed;
}
static void t_manifest_expired(struct scene *s)
{
	s->m.created = NOW - 2 * DAY;
	s->m.expires = NOW - 60;
}
static void t_rollback(struct scene *s)
{
	s->dev.installed_sequence = 10;
}
static void t_downgrade_allowed(struct scene *s)
{
	s->dev.installed_sequence = 10;
	s->m.allow_downgrade = true;
}
static void t_wrong_model(struct scene *s)
{
	snprintf(s->m.model, sizeof(s->m.model), "gw-200");
}
static void t_wrong_hw(struct scene *s)
{
	snprintf(s->m.hw_revisions[0], sizeof(s->m.hw_revisions[0]), "C");
	s->m.n_hw_revisions = 1;
}
static void t_wrong_version(struct scene *s)
{
	snprintf(s->m.accepts_versions[0], sizeof(s->m.accepts_versions[0]), "1.5.0");
	s->m.n_accepts_versions = 1;
}
static void t_zstd(struct scene *s)
{
	s->m.compression = FOTA_COMPRESSION_ZSTD;
	s->m.decoded_size = s->m.size * 3;
	s->m.decoded_sha256[0] = 9;
}
static void t_zstd_capable(struct scene *s)
{
	t_zstd(s);
	s->dev.zstd = true;
}
/* The installed image is the one a compressed payload decodes to, not the payload. */
static void t_zstd_installed(struct scene *s)
{
	t_zstd_capable(s);
	memcpy(s->installed, s->m.decoded_sha256, FOTA_SHA256_LEN);
	s->dev.installed_sha256 = s->installed;
}
static void t_zstd_payload_installed(struct scene *s)
{
	t_zstd_capable(s);
	memcpy(s->installed, s->m.sha256, FOTA_SHA256_LEN);
	s->dev.installed_sha256 = s->installed;
}
static void t_delta(struct scene *s)
{
	s->m.has_delta_base = true;
	s->m.from_sha256[0] = 7;
	s->m.decoded_size = s->m.size * 3;
	s->m.decoded_sha256[0] = 9;
	s->dev.zstd = true;
}
static void t_wrong_method(struct scene *s)
{
	s->m.install_method = FOTA_INSTALL_AB_SLOT;
}
static void t_same_job(struct scene *s)
{
	s->dev.job_active = true;
	s->dev.job_seq = 4;
	s->dev.job_group = "lab";
	memcpy(s->job, s->m.sha256, FOTA_SHA256_LEN);
	s->dev.job_sha256 = s->job;
}
static void t_other_job(struct scene *s)
{
	t_same_job(s);
	s->job[0] ^= 0xff;
}
static void t_deferred_job_again(struct scene *s)
{
	/* The window of a newer directive opened: the held job is judged again. */
	t_same_job(s);
	s->dev.seen_seq = 5;
	s->dev.settled = false;
}

struct row {
	const char *name;
	void (*tweak)(struct scene *s);
	enum fota_verdict verdict;
	enum fota_result result;
	const char *why; /* in the reason */
	bool record, settle;
};

static const struct row rows[] = {
    {"good directive", t_none, FOTA_VERDICT_START, FOTA_RESULT_NONE, "directive 5 accepted", true,
     false},
    {"cleared retained directive", t_empty, FOTA_VERDICT_IGNORE, FOTA_RESULT_NONE, "cleared", false,
     false},
    {"alg none", t_alg_none, FOTA_VERDICT_UNVERIFIED, FOTA_RESULT_SIGNATURE,
     "directive rejected: signature 0: alg 'none' not allowed", false, false},
    {"bad signature", t_bad_signature, FOTA_VERDICT_UNVERIFIED, FOTA_RESULT_SIGNATURE,
     "does not verify", false, false},
    {"signed by a release key", t_wrong_role, FOTA_VERDICT_UNVERIFIED, FOTA_RESULT_SIGNATURE,
     "role", false, false},
    {"wrong group", t_wrong_group, FOTA_VERDICT_REFUSE, FOTA_RESULT_INVALID,
     "names group 'other' but came on 'lab'", false, false},
    {"replay of an older directive", t_replay, FOTA_VERDICT_IGNORE, FOTA_RESULT_NONE,
     "sequence 5 < 6 already seen", false, false},
    {"settled directive again", t_settled_redelivery, FOTA_VERDICT_IGNORE, FOTA_RESULT_NONE,
     "already handled", false, false},
    {"unsettled directive again, no job", t_unsettled_redelivery, FOTA_VERDICT_START,
     FOTA_RESULT_NONE, "accepted", true, false},
    {"running job's directive again", t_job_redelivery, FOTA_VERDICT_IGNORE, FOTA_RESULT_NONE,
     "already handled", false, false},
    {"running job's directive again after its window closed", t_job_redelivery_window_closed,
     FOTA_VERDICT_IGNORE, FOTA_RESULT_NONE, "already handled", false, false},
    {"switch under way", t_busy, FOTA_VERDICT_IGNORE, FOTA_RESULT_NONE, "under way", false, false},
    {"aborted", t_aborted, FOTA_VERDICT_ABORT, FOTA_RESULT_NONE, "campaign c1 aborted", true, true},
    {"paused", t_paused, FOTA_VERDICT_HOLD, FOTA_RESULT_NONE, "campaign c1 paused", true, false},
    {"not admitted", t_not_admitted, FOTA_VERDICT_NOT_ADMITTED, FOTA_RESULT_NONE,
     "does not admit this device", true, false},
    {"listed canary", t_listed, FOTA_VERDICT_START, FOTA_RESULT_NONE, "accepted", true, false},
    {"not admitted, window not open", t_not_admitted_window, FOTA_VERDICT_NOT_ADMITTED,
     FOTA_RESULT_NONE, "does not admit", true, false},
    {"window not open yet", t_window_not_yet, FOTA_VERDICT_DEFER, FOTA_RESULT_NONE,
     "campaign c1: directive window opens at 2027-01-15T09:00:00Z", true, false},
    {"window closed", t_window_closed, FOTA_VERDICT_REFUSE, FOTA_RESULT_EXPIRED,
     "directive rejected: window closed at 2027-01-15T07:00:00Z", true, true},
    {"window open", t_window_open, FOTA_VERDICT_START, FOTA_RESULT_NONE, "accepted", true, false},
    {"daily window not open yet", t_daily_not_yet, FOTA_VERDICT_DEFER, FOTA_RESULT_NONE,
     "campaign c1: directive window opens at 2027-01-15T09:00:00Z", true, false},
    {"daily window in Berlin not open yet", t_daily_not_yet_berlin, FOTA_VERDICT_DEFER,
     FOTA_RESULT_NONE, "campaign c1: directive window opens at 2027-01-15T09:00:00Z", true, false},
    {"daily window open", t_daily_open, FOTA_VERDICT_START, FOTA_RESULT_NONE, "accepted", true,
     false},
    {"daily window opens only after the directive window", t_daily_after_window,
     FOTA_VERDICT_REFUSE, FOTA_RESULT_EXPIRED, "window closed at 2027-01-15T08:30:00Z", true, true},
    {"daily window in a zone the device does not know", t_daily_unknown_zone, FOTA_VERDICT_REFUSE,
     FOTA_RESULT_UNSUPPORTED,
     "daily window is in time zone Mars/Olympus, which this device does not know", true, true},
    {"directive expired", t_directive_expired, FOTA_VERDICT_REFUSE, FOTA_RESULT_EXPIRED,
     "directive rejected: expired at 2027-01-14T08:00:00Z", true, true},
    {"manifest signed by the orchestrator key", t_manifest_wrong_role, FOTA_VERDICT_REFUSE,
     FOTA_RESULT_SIGNATURE, "manifest rejected: ", true, true},
    {"manifest digest differs", t_wrong_digest, FOTA_VERDICT_REFUSE, FOTA_RESULT_INTEGRITY,
     "manifest digest does not match", true, true},
    {"image already installed", t_installed, FOTA_VERDICT_INSTALLED, FOTA_RESULT_NONE,
     "already installed", true, true},
    {"manifest expired", t_manifest_expired, FOTA_VERDICT_REFUSE, FOTA_RESULT_EXPIRED,
     "manifest rejected: expired at", true, true},
    {"sequence not newer", t_rollback, FOTA_VERDICT_REFUSE, FOTA_RESULT_ROLLBACK,
     "sequence 10 <= installed 10", true, true},
    {"downgrade allowed", t_downgrade_allowed, FOTA_VERDICT_START, FOTA_RESULT_NONE, "accepted",
     true, false},
    {"wrong model", t_wrong_model, FOTA_VERDICT_REFUSE, FOTA_RESULT_UNSUPPORTED,
     "model 'gw-200' not 'gw-100'", true, true},
    {"wrong hardware revision", t_wrong_hw, FOTA_VERDICT_REFUSE, FOTA_RESULT_UNSUPPORTED,
     "hw revision 'B' not in", true, true},
    {"current version not accepted", t_wrong_version, FOTA_VERDICT_REFUSE, FOTA_RESULT_UNSUPPORTED,
     "current version '1.0.0' not in accepts_versions", true, true},
    {"zstd on a device without it", t_zstd, FOTA_VERDICT_REFUSE, FOTA_RESULT_UNSUPPORTED,
     "compression 'zstd' not supported", true, true},
    {"zstd on a device with it", t_zstd_capable, FOTA_VERDICT_START, FOTA_RESULT_NONE, "accepted",
     true, false},
    {"zstd image already installed", t_zstd_installed, FOTA_VERDICT_INSTALLED, FOTA_RESULT_NONE,
     "already installed", true, true},
    {"zstd payload digest is not the installed image", t_zstd_payload_installed, FOTA_VERDICT_START,
     FOTA_RESULT_NONE, "accepted", true, false},
    {"delta image", t_delta, FOTA_VERDICT_REFUSE, FOTA_RESULT_UNSUPPORTED,
     "delta-only payloads (image.from_sha256) are not supported", true, true},
    {"other install method", t_wrong_method, FOTA_VERDICT_REFUSE, FOTA_RESULT_UNSUPPORTED,
     "install method 'ab-slot' but this device uses 'file'", true, true},
    {"same image as the running job", t_same_job, FOTA_VERDICT_CONTINUE, FOTA_RESULT_NONE,
     "carry on", true, false},
    {"another image than the running job", t_other_job, FOTA_VERDICT_START, FOTA_RESULT_NONE,
     "accepted", true, false},
    {"held job judged again at the window", t_deferred_job_again, FOTA_VERDICT_CONTINUE,
     FOTA_RESULT_NONE, "carry on", true, false},
};

START_TEST(test_table)
{
	const struct row *r = &rows[_i];
	struct fota_trust *trust = tu_trust();
	struct fota_acceptance a;
	struct scene s;

	setenv("FOTA_ZONEINFO", FOTA_TEST_DATA "/zoneinfo", 1);
	scene_init(&s);
	r->tweak(&s);
	judge(&s, trust, &a);
	ck_assert_msg(a.verdict == r->verdict, "%s: verdict %s, expected %s (%s)", r->name,
		      fota_verdict_name(a.verdict), fota_verdict_name(r->verdict), a.reason);
	ck_assert_msg(a.result == r->result, "%s: result %s, expected %s", r->name,
		      fota_result_name(a.result), fota_result_name(r->result));
	ck_assert_msg(strstr(a.reason, r->why) != NULL, "%s: reason '%s' lacks '%s'", r->name,
		      a.reason, r->why);
	ck_assert_msg(a.record == r->record, "%s: record %d", r->name, a.record);
	ck_assert_msg(a.settle == r->settle, "%s: settle %d", r->name, a.settle);
	if (a.verdict == FOTA_VERDICT_DEFER)
		ck_assert_int_eq(a.retry_at, NOW + 3600);
	if (a.verdict == FOTA_VERDICT_START || a.verdict == FOTA_VERDICT_CONTINUE) {
		ck_assert(a.has_directive && a.has_manifest);
		ck_assert_str_eq(a.directive.campaign_id, "c1");
		ck_assert_str_eq(a.manifest.version, "2.0.0");
	}
	fota_acceptance_clear(&a);
	fota_acceptance_clear(&a); /* twice is harmless */
	fota_trust_free(trust);
	fota_tz_cache_clear(&zones);
}
END_TEST

START_TEST(test_window)
{
	struct fota_directive d;
	int64_t at = 0;

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(fota_acceptance_window(&d, NULL, NOW, &at), FOTA_WINDOW_OPEN);
	d.not_before = NOW + 1;
	ck_assert_int_eq(fota_acceptance_window(&d, NULL, NOW, &at), FOTA_WINDOW_NOT_YET);
	ck_assert_int_eq(at, NOW + 1);
	ck_assert_int_eq(fota_acceptance_window(&d, NULL, NOW + 1, NULL), FOTA_WINDOW_OPEN);
	d.not_after = NOW + 10;
	ck_assert_int_eq(fota_acceptance_window(&d, NULL, NOW + 9, NULL), FOTA_WINDOW_OPEN);
	ck_assert_int_eq(fota_acceptance_window(&d, NULL, NOW + 10, NULL), FOTA_WINDOW_CLOSED);
	d.not_before = 0;
	ck_assert_int_eq(fota_acceptance_window(&d, NULL, 0, NULL), FOTA_WINDOW_OPEN);
	ck_assert_str_eq(fota_verdict_name(FOTA_VERDICT_DEFER), "defer");
	ck_assert_str_eq(fota_verdict_name(FOTA_VERDICT__COUNT), "unknown");
	fota_acceptance_clear(NULL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("acceptance");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_table, 0, TU_N(rows));
	tcase_add_test(tc, test_window);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
