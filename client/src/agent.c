/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device agent: takes signed directives, receives and checkpoints chunks, asks for what
 * it misses, verifies and installs, and reports every state change.
 *
 * Threads: Paho's receive thread runs on_message (directive checks, chunk intake) and never
 * publishes, because publishing waits for acknowledgements that this same thread delivers.
 * The main loop publishes status and repair requests and watches timers. The install thread
 * runs the verify and install steps of a complete image; the policy thread asks the vendor
 * policy hook. One mutex guards the agent; nothing that may take long (hashing an image, an
 * install script, the policy hook, the reboot command) runs while holding it, so messages,
 * keepalive and status keep flowing.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "bootctl.h"
#include "content_key.h"
#include "decode.h"
#include "fota/acceptance.h"
#include "fota/assignment.h"
#include "fota/atomic_file.h"
#include "fota/chunk.h"
#include "fota/directive.h"
#include "fota/manifest.h"
#include "fota/mqtt.h"
#include "fota/request.h"
#include "fota/status.h"
#include "fota/subscriptions.h"
#include "fota/timeutil.h"
#include "fota/topics.h"
#include "fota/trust.h"
#include "health.h"
#include "installer.h"
#include "journal.h"
#include "policy.h"
#include "probation.h"
#include "fota/repair_gap.h"
#include "reporter.h"
#include "transfer.h"
#include "wakeup.h"

/* How long after connecting the agent republishes its status a second time. */
#define STATUS_RESEND_AFTER_MS 2000
/* How long a reboot waits for the broker to acknowledge the last status report. */
#define REBOOT_FLUSH_MS 10000

/* An assignment names at most as many groups as the configuration may. */
_Static_assert(CLIENT_MAX_GROUPS == FOTA_MAX_ASSIGNED_GROUPS, "group limits differ");

struct job {
	bool active;
	bool paused;
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char campaign[FOTA_MAX_NAME_LEN + 1];
	uint64_t directive_seq;
	struct fota_manifest manifest;
	uint8_t image_id[FOTA_IMAGE_ID_LEN]; /* the campaign's image: status, history, journal */
	char image_hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	/* The payload this job receives (frames, requests, checkpoint, decode chain): the
	 * manifest's full payload, or its delta view (fota_manifest_delta_view) when the
	 * installed image is the delta's base. payload_note says why a delta offered is not
	 * taken, for the status. */
	struct fota_manifest payload;
	uint8_t payload_id[FOTA_IMAGE_ID_LEN];
	char payload_hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	bool via_delta;
	char payload_note[FOTA_MAX_REASON_LEN];
	struct transfer *xfer;
	int64_t started_ms;
	/* Progress clock for the repair gap and the stall timeout: only a chunk that verified
	 * against the table and was new moves it, so forged or repeated frames cannot hold
	 * off repairs. */
	int64_t last_new_chunk_ms;
	/* The broadcast as verified frames on the group topic show it: when the last one came,
	 * and the highest index seen + 1. */
	int64_t last_bcast_ms;
	uint32_t bcast_next;
	/* Index of the first broadcast frame seen: the chunks below it went out before this
	 * device subscribed and will not come. head_asked: they were asked for. */
	uint32_t bcast_head;
	bool head_asked;
	int64_t table_ms;      /* when the table arrived and the transfer opened */
	struct repair_gap gap; /* quiet time before a repair request, from the frames' pace */
	int64_t last_request_ms;
	uint32_t retries; /* repair requests since the last new chunk */
	uint64_t forged;
	bool gate_download; /* the policy hook has not allowed the download yet */
	bool window_hold;   /* held (and reported deferred) until its directive's window opens */
	bool install_allowed;
	int64_t policy_next_ms;
	/* The policy thread's answer for this job, taken by policy_gate. */
	enum { POLICY_UNANSWERED, POLICY_ALLOWED, POLICY_DEFERRED } policy_answer;
	char policy_reason[FOTA_MAX_REASON_LEN];
};

/* A directive whose window is not open yet, judged again at `at` (wall clock). */
struct deferred {
	uint8_t *doc;
	size_t len;
	int64_t at;
};

struct agent {
	const struct client_config *cfg;
	struct fota_trust *trust;
	/* An encrypted image's key from the device's key topic; wiped when its job ends. */
	struct content_key ckey;
	/* The last key document verified but its key did not unwrap with the device key. */
	bool ckey_unwrap_failed;
	struct fota_tz_cache zones; /* the zone of the last daily window judged (under lock) */
	struct fota_mqtt *mqtt;
	struct reporter reporter;
	pthread_mutex_t lock;
	struct wakeup wake;
	struct journal journal;
	struct job job;
	enum fota_state state;
	enum fota_result result;
	char reason[FOTA_MAX_REASON_LEN + 1];
	/* A table that arrived before its directive (retained messages come in any order). */
	uint8_t *early_table;
	size_t early_table_len;
	uint8_t early_table_id[FOTA_IMAGE_ID_LEN];
	/* The groups the agent follows: the configuration's until a group assignment was applied,
	 * then the last applied assignment's (kept in the journal). */
	int n_groups;
	char groups[CLIENT_MAX_GROUPS][FOTA_MAX_SEGMENT_LEN + 1];
	/* A verified assignment newer than the applied one, waiting for the job under way (or
	 * the switch, probation or reboot) to end: a running job is never disturbed. */
	struct fota_assignment pending;
	bool has_pending;
	struct deferred deferred[CLIENT_MAX_GROUPS]; /* by the group's index in groups */
	uint64_t unverified; /* directives that did not verify, since start */
	bool resend_status;  /* after a reconnect the last will replaced our retained status */
	/* Once more a little later: the broker may publish the last will of our previous
	 * connection (a crash, a power cut) after the first status of this one. */
	int64_t resend_again_ms;
	char request_topic[FOTA_MAX_TOPIC_LEN];
	/* What the broker was last asked to deliver (main loop only). */
	struct fota_subscriptions subscribed;
	const struct installer *inst; /* the configured install method's entry */
	/* ab-slot */
	struct bootctl *bc;
	enum bootctl_slot booted;
	/* Set while a switch, probation or reboot is under way: new directives wait for the
	 * next start, when the device runs a confirmed image again. */
	bool hold;
	bool reboot_pending; /* run the reboot command once the status is out */
	bool status_queued;  /* a state report was queued since start */
	int64_t reboot_since_ms;
	const char *crash_at; /* test hook: FOTA_CLIENT_CRASH_AT (docs/client.md) */
	/* The install thread. While it runs, the job's transfer and manifest are its own:
	 * frames for the job are ignored (its state is no longer downloading) and directives
	 * wait in waiting[] (one per group, the latest) until it ends. */
	pthread_t installer;
	bool installing;	 /* the install thread runs */
	bool installer_joinable; /* started and not joined yet */
	/* The policy thread: asks the vendor hook (up to its timeout_s) about a copy of the
	 * job's manifest. */
	pthread_t asker;
	bool asking;	     /* the policy thread runs */
	bool asker_joinable; /* started and not joined yet */
	uint8_t *waiting[CLIENT_MAX_GROUPS];
	size_t waiting_len[CLIENT_MAX_GROUPS];
};

static void logf_(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(const char *level, const char *fmt, ...)
{
	char ts[FOTA_TIME_STR_LEN];
	va_list ap;

	fota_time_format(fota_time_now(), ts);
	fprintf(stderr, "%s fota-client %s: ", ts, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define log_info(...) logf_("info", __VA_ARGS__)
#define log_warn(...) logf_("warn", __VA_ARGS__)

/* Caller holds lock. A status snapshot of the agent as it is now. */
static void snapshot(struct agent *a, struct fota_status *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->device, sizeof(s->device), "%s", a->cfg->id);
	s->state = a->state;
	s->result = a->result;
	snprintf(s->reason, sizeof(s->reason), "%s", a->reason);
	snprintf(s->version, sizeof(s->version), "%s", a->journal.installed_version);
	snprintf(s->model, sizeof(s->model), "%s", a->cfg->model);
	snprintf(s->hw_revision, sizeof(s->hw_revision), "%s", a->cfg->hw_revision);
	for (int i = 0; i < a->n_groups && i < FOTA_MAX_STATUS_GROUPS; i++)
		snprintf(s->groups[s->n_groups++], sizeof(s->groups[0]), "%s", a->groups[i]);
	s->sequence = a->journal.installed_sequence;
	s->unverified = a->unverified;
	/* After a restart on probation there is no job, but the outcome belongs to it. */
	snprintf(s->campaign, sizeof(s->campaign), "%s", a->job.campaign);
	snprintf(s->image_id, sizeof(s->image_id), "%s", a->job.image_hex);
	if (a->job.active) {
		s->image_size = a->job.payload.size;
		s->chunk_count = a->job.payload.chunk_count;
		if (a->job.xfer) {
			s->chunks_present = transfer_present(a->job.xfer);
			s->bytes_received = transfer_rx_bytes(a->job.xfer);
		}
	}
}

/*
 * Test hook for the power-cut tests: SIGKILL ourselves at a named point (a state name or a
 * step of the A/B switch), exactly as a power cut there would stop us. Inert unless the
 * environment names a point.
 */
static void crash_point(const struct agent *a, const char *point)
{
	if (a->crash_at && strcmp(a->crash_at, point) == 0) {
		fprintf(stderr, "fota-client: crash point '%s' reached (FOTA_CLIENT_CRASH_AT)\n",
			point);
		raise(SIGKILL);
	}
}

static void save_journal(struct agent *a)
{
	struct fota_error err = {0};

	if (journal_save(&a->journal, a->cfg->state_dir, &err) != FOTA_OK)
		log_warn("cannot save journal: %s", err.msg);
}

/* Caller holds lock. */
static void set_state(struct agent *a, enum fota_state st, enum fota_result res, const char *reason)
{
	struct fota_status s;

	if (a->job.active && a->journal.outcome.kept) {
		/* A new job reports its own states: the last A/B outcome is history now. */
		memset(&a->journal.outcome, 0, sizeof(a->journal.outcome));
		save_journal(a);
	}
	a->state = st;
	a->result = res;
	snprintf(a->reason, sizeof(a->reason), "%s", reason ? reason : "");
	snapshot(a, &s);
	reporter_push(&a->reporter, &s);
	a->status_queued = true;
	if (reason && reason[0])
		log_info("%s (%s): %s", fota_state_name(st), fota_result_name(res), reason);
	else
		log_info("%s", fota_state_name(st));
	wakeup_signal(&a->wake);
	crash_point(a, fota_state_name(st));
}

static void history(struct agent *a, const char *outcome, const char *reason)
{
	struct journal_event e = {
	    .ts = fota_time_now(),
	    .campaign = a->job.campaign,
	    .image_id = a->job.image_hex,
	    .version = a->job.manifest.version,
	    .sequence = a->job.manifest.sequence,
	    .outcome = outcome,
	    .reason = reason ? reason : "",
	};
	struct fota_error err = {0};

	if (journal_history(a->cfg->state_dir, &e, &err) != FOTA_OK)
		log_warn("%s", err.msg);
}

static const char *slot_path(const struct agent *a, enum bootctl_slot slot)
{
	return slot == BOOTCTL_SLOT_A ? a->cfg->slot_a : a->cfg->slot_b;
}

/* Caller holds lock. Marks the group's current directive settled in the journal. */
static void settle(struct agent *a, const char *group)
{
	struct journal_group *jg = journal_group(&a->journal, group);
	struct fota_error err = {0};

	if (jg == NULL)
		return;
	jg->settled = true;
	if (journal_save(&a->journal, a->cfg->state_dir, &err) != FOTA_OK)
		log_warn("cannot save journal: %s", err.msg);
}

/* Caller holds lock. Ends the job: keeps the staged data unless discard. */
static void end_job(struct agent *a, bool discard)
{
	char campaign[sizeof(a->job.campaign)], image[sizeof(a->job.image_hex)];

	if (discard)
		transfer_discard(a->job.xfer);
	else
		transfer_free(a->job.xfer);
	/* The key opened this job's image only: held no longer than the job. */
	if (a->job.active && content_key_for(&a->ckey, a->job.manifest.sha256))
		content_key_clear(&a->ckey);
	/* Later reports of the outcome (a reconnect, a republish) still name the job's campaign
	 * and image, so the orchestrator counts them for that campaign. */
	memcpy(campaign, a->job.campaign, sizeof(campaign));
	memcpy(image, a->job.image_hex, sizeof(image));
	memset(&a->job, 0, sizeof(a->job));
	memcpy(a->job.campaign, campaign, sizeof(campaign));
	memcpy(a->job.image_hex, image, sizeof(image));
}

/* Caller holds lock. A refusal or failure: report the precise reason and stay as we are. */
static void fail_job(struct agent *a, const char *group, enum fota_result res, const char *reason,
		     bool discard)
{
	set_state(a, FOTA_STATE_FAILED, res, reason);
	if (a->job.active)
		history(a, "failed", reason);
	settle(a, group);
	end_job(a, discard);
}

/* The slot of a configured group, -1 if it is not one. */
static int group_index(const struct agent *a, const char *group)
{
	for (int i = 0; i < a->n_groups; i++)
		if (strcmp(a->groups[i], group) == 0)
			return i;
	return -1;
}

/* A payload that is the image itself goes straight into a target that is written in place
 * (the inactive slot); any other is staged under the state dir and decoded after it verified. */
static bool payload_in_target(const struct agent *a)
{
	return a->inst->writes_target && decode_payload_is_image(&a->job.payload);
}

/* Caller holds lock. An encrypted job's transfer gets the key once both are there; the AAD
 * names the image by its full payload's id whichever payload the job receives. A key wiped
 * when an earlier job for the image ended is opened again from the held document. */
static void give_content_key(struct agent *a)
{
	struct fota_error err = {0};
	char id[FOTA_SHA256_HEX_LEN + 1];

	if (a->job.xfer == NULL || a->job.manifest.encryption == FOTA_ENCRYPTION_NONE ||
	    transfer_has_content_key(a->job.xfer))
		return;
	if (!content_key_for(&a->ckey, a->job.manifest.sha256) && a->ckey.doc_len > 0 &&
	    content_key_reopen(&a->ckey, a->trust, a->cfg->id, a->cfg->key, &err) != FOTA_OK)
		log_warn("held key document: %s", err.msg);
	if (!content_key_for(&a->ckey, a->job.manifest.sha256))
		return;
	fota_hex_encode(a->job.manifest.sha256, FOTA_IMAGE_ID_LEN, id);
	if (transfer_set_content_key(a->job.xfer, a->ckey.key, id,
				     a->job.via_delta ? FOTA_PAYLOAD_DELTA : FOTA_PAYLOAD_FULL,
				     &err) != FOTA_OK)
		log_warn("content key: %s", err.msg);
	else
		log_info("content key for image %s in use", id);
}

/* Caller holds lock. A message on the device's key topic: never disturbs the job, which only
 * gains a key it did not have. */
static void handle_key(struct agent *a, const uint8_t *payload, size_t len)
{
	struct fota_error err = {0};
	fota_err rc;

	if (len == 0) {
		content_key_forget(&a->ckey); /* cleared on the broker: no later job needs it */
		return;
	}
	rc = content_key_accept(&a->ckey, a->trust, a->cfg->id, a->cfg->key, payload, len, &err);
	if (rc != FOTA_OK) {
		log_warn("key document ignored: %s", err.msg);
		if (strstr(err.msg, "content key does not unwrap") != NULL)
			a->ckey_unwrap_failed = true;
		return;
	}
	a->ckey_unwrap_failed = false;
	log_info("key document %llu for image %s accepted", (unsigned long long)a->ckey.seq,
		 a->ckey.image_id);
	give_content_key(a);
}

/* Caller holds lock. Opens the transfer once both the manifest and the table are known. */
static void start_transfer(struct agent *a, const uint8_t *table, size_t len)
{
	struct fota_error err = {0};
	fota_err rc;

	rc = transfer_open(a->cfg, &a->job.payload, a->job.payload_id, table, len,
			   payload_in_target(a) ? slot_path(a, bootctl_other(a->booted)) : NULL,
			   &a->job.xfer, &err);
	if (rc == FOTA_ERR_DIGEST || rc == FOTA_ERR_PARSE || rc == FOTA_ERR_FIELD) {
		/* A forged or stale table is dropped like a forged chunk: ask again. */
		log_warn("payload %s: %s", a->job.payload_hex, err.msg);
		return;
	}
	if (rc != FOTA_OK) {
		fail_job(a, a->job.group,
			 rc == FOTA_ERR_NOMEM ? FOTA_RESULT_NO_MEMORY : FOTA_RESULT_NO_SPACE,
			 err.msg, false);
		return;
	}
	give_content_key(a);
	a->job.last_new_chunk_ms = fota_time_mono_ms();
	a->job.table_ms = a->job.last_new_chunk_ms;
	repair_gap_init(&a->job.gap, a->cfg->gap_ms);
	a->job.retries = 0;
	if (transfer_recovered(a->job.xfer) > 0)
		log_info("payload %s: resuming with %u of %u chunks already verified on disk",
			 a->job.payload_hex, transfer_recovered(a->job.xfer),
			 transfer_count(a->job.xfer));
	if (!a->job.gate_download)
		set_state(a, FOTA_STATE_DOWNLOADING, FOTA_RESULT_NONE, NULL);
}

/* Caller holds lock. What the agent knows about itself, for fota_acceptance_judge. */
static void describe_device(struct agent *a, const char *group, const struct journal_group *jg,
			    uint8_t *installed, struct fota_acceptance_device *dev)
{
	memset(dev, 0, sizeof(*dev));
	dev->id = a->cfg->id;
	dev->group = group;
	dev->vendor = a->cfg->vendor;
	dev->model = a->cfg->model;
	dev->hw_revision = a->cfg->hw_revision;
	dev->install_method = a->cfg->install_method;
	dev->zstd = true; /* decode chain, decode_zstd.c */
	dev->delta = false;
	dev->current_version = a->journal.installed_version;
	dev->installed_sequence = a->journal.installed_sequence;
	if (a->journal.installed_sha256[0] &&
	    fota_hex_decode(a->journal.installed_sha256, installed, FOTA_SHA256_LEN, NULL) ==
		FOTA_OK)
		dev->installed_sha256 = installed;
	dev->seen_seq = jg->directive_seq;
	dev->settled = jg->settled;
	dev->job_active = a->job.active;
	dev->job_seq = a->job.directive_seq;
	dev->job_group = a->job.group;
	dev->job_sha256 = a->job.manifest.sha256;
	dev->busy = a->hold;
	dev->now = fota_time_now();
	dev->zone = fota_tz_cache_get;
	dev->zone_ctx = &a->zones;
}

/* Caller holds lock. Keeps a directive whose window is not open yet, to judge it again when
 * it opens (drive_deferred); a newer one replaces it. */
static void keep_deferred(struct agent *a, int gi, const uint8_t *doc, size_t len, int64_t at)
{
	struct deferred *k = &a->deferred[gi];
	uint8_t *copy = malloc(len);

	if (copy == NULL) {
		log_warn("out of memory keeping a deferred directive; it is judged again on the "
			 "next start");
		return;
	}
	memcpy(copy, doc, len);
	free(k->doc);
	k->doc = copy;
	k->len = len;
	k->at = at;
}

/* Caller holds lock. A refused directive: report the precise reason, for its campaign. */
static void refuse_directive(struct agent *a, const char *group, const struct fota_acceptance *acc)
{
	const struct fota_directive *d = &acc->directive;

	log_warn("%s", acc->reason);
	if (a->job.active && (!acc->has_directive || strcmp(a->job.campaign, d->campaign_id) != 0))
		return; /* a bad directive for another campaign must not kill a good job */
	if (a->job.active) {
		fail_job(a, group, acc->result, acc->reason, false);
		return;
	}
	/* No job: the refusal still belongs to the directive's campaign, so say which one. */
	memset(&a->job, 0, sizeof(a->job));
	if (acc->has_directive)
		snprintf(a->job.campaign, sizeof(a->job.campaign), "%s", d->campaign_id);
	set_state(a, FOTA_STATE_FAILED, acc->result, acc->reason);
}

/* Caller holds lock. The payload the job receives (docs/install.md, "Delta payloads"): the
 * delta when the manifest offers one and the journal's installed image is its base, else the
 * full payload, saying why in payload_note. The base itself is hashed before the delta is
 * applied (decode_payload): the journal only chooses. */
static void choose_payload(struct agent *a)
{
	const struct fota_manifest *m = &a->job.manifest;
	char base[17], have[17] = "(none)";
	uint8_t installed[FOTA_SHA256_LEN];

	a->job.payload = *m;
	a->job.via_delta = false;
	a->job.payload_note[0] = '\0';
	if (m->has_delta) {
		bool known = a->journal.installed_sha256[0] &&
			     fota_hex_decode(a->journal.installed_sha256, installed,
					     FOTA_SHA256_LEN, NULL) == FOTA_OK;

		fota_hex_encode(m->delta.from_sha256, 8, base);
		if (known)
			fota_hex_encode(installed, 8, have);
		if (a->inst->base(a->cfg, a->booted) == NULL)
			snprintf(a->job.payload_note, sizeof(a->job.payload_note),
				 "full payload: method %s keeps no installed image to apply the "
				 "delta to",
				 a->inst->method);
		else if (!known ||
			 !fota_digest_equal(installed, m->delta.from_sha256, FOTA_SHA256_LEN))
			snprintf(a->job.payload_note, sizeof(a->job.payload_note),
				 "full payload: the delta's base %s... is not the installed image "
				 "%s%s",
				 base, have, known ? "..." : "");
		else {
			fota_manifest_delta_view(m, &a->job.payload);
			a->job.via_delta = true;
		}
	}
	memcpy(a->job.payload_id, a->job.payload.sha256, FOTA_IMAGE_ID_LEN);
	fota_hex_encode(a->job.payload_id, FOTA_IMAGE_ID_LEN, a->job.payload_hex);
	a->job.started_ms = fota_time_mono_ms();
	a->job.last_new_chunk_ms = a->job.started_ms;
}

/* Caller holds lock. Opens the transfer of the job's payload if its table came already. */
static void open_payload(struct agent *a)
{
	if (a->early_table && memcmp(a->early_table_id, a->job.payload_id, FOTA_IMAGE_ID_LEN) == 0)
		start_transfer(a, a->early_table, a->early_table_len);
	free(a->early_table);
	a->early_table = NULL;
	if (a->job.active && a->job.xfer == NULL && !a->job.gate_download)
		set_state(a, FOTA_STATE_DOWNLOADING, FOTA_RESULT_NONE,
			  a->job.payload_note[0] ? a->job.payload_note : "waiting for chunk table");
}

/* Caller holds lock. The delta could not be had or applied: the job takes the full payload
 * instead, from the start, and the status says why. */
static void fall_back_to_full(struct agent *a, const char *why)
{
	log_warn("delta payload %s: %s; taking the full payload %s", a->job.payload_hex, why,
		 a->job.image_hex);
	transfer_discard(a->job.xfer);
	a->job.xfer = NULL;
	a->job.payload = a->job.manifest;
	a->job.via_delta = false;
	memcpy(a->job.payload_id, a->job.image_id, FOTA_IMAGE_ID_LEN);
	memcpy(a->job.payload_hex, a->job.image_hex, sizeof(a->job.payload_hex));
	snprintf(a->job.payload_note, sizeof(a->job.payload_note), "full payload: %s", why);
	a->job.started_ms = a->job.last_new_chunk_ms = fota_time_mono_ms();
	a->job.last_bcast_ms = a->job.table_ms = a->job.last_request_ms = 0;
	a->job.bcast_next = a->job.bcast_head = 0;
	a->job.head_asked = false;
	a->job.retries = 0;
	open_payload(a);
}

/* Caller holds lock. Starts the job the directive names, ending any other one. */
static void start_job(struct agent *a, const char *group, const struct fota_acceptance *acc)
{
	const struct fota_directive *d = &acc->directive;
	const struct fota_manifest *m = &acc->manifest;

	if (a->job.active) {
		history(a, "superseded", "a newer directive named another image");
		end_job(a, true);
	}
	memset(&a->job, 0, sizeof(a->job));
	a->job.active = true;
	snprintf(a->job.group, sizeof(a->job.group), "%s", group);
	snprintf(a->job.campaign, sizeof(a->job.campaign), "%s", d->campaign_id);
	a->job.directive_seq = d->directive_seq;
	a->job.manifest = *m;
	memcpy(a->job.image_id, m->sha256, FOTA_IMAGE_ID_LEN);
	fota_hex_encode(a->job.image_id, FOTA_IMAGE_ID_LEN, a->job.image_hex);
	choose_payload(a);
	a->job.gate_download = a->cfg->policy_hook[0] != '\0';
	log_info("directive %llu accepted: %s %s (%s payload %s: %llu bytes, %u chunks), "
		 "campaign %s",
		 (unsigned long long)d->directive_seq, m->name, m->version,
		 a->job.via_delta ? "delta" : "full", a->job.payload_hex,
		 (unsigned long long)a->job.payload.size, a->job.payload.chunk_count,
		 d->campaign_id);
	open_payload(a);
}

/* Caller holds lock. A directive that does not verify belongs to nobody: it is logged and
 * counted, and no job, state, history or journal entry changes. */
static void count_unverified(struct agent *a, const struct fota_acceptance *acc)
{
	a->unverified++;
	log_warn("%s (%llu unverifiable directives so far)", acc->reason,
		 (unsigned long long)a->unverified);
	a->resend_status = true; /* the same status, with the new count */
	wakeup_signal(&a->wake);
}

/* Caller holds lock. Every directive is judged by fota_acceptance_judge (the rules live
 * there, shared with the fleet simulator); this applies the verdict. */
static void handle_directive(struct agent *a, const char *group, const uint8_t *payload, size_t len)
{
	struct fota_acceptance acc;
	struct fota_acceptance_device dev;
	struct journal_group *jg = journal_group(&a->journal, group);
	uint8_t installed[FOTA_SHA256_LEN];
	int gi = group_index(a, group);
	bool job_here;

	if (jg == NULL || gi < 0)
		return;
	describe_device(a, group, jg, installed, &dev);
	fota_acceptance_judge(a->trust, payload, len, &dev, &acc);
	if (acc.record) {
		/* Accepted as the group's current directive: recorded once, after judging. */
		struct fota_error err = {0};

		jg->directive_seq = acc.directive.directive_seq;
		jg->settled = acc.settle;
		if (journal_save(&a->journal, a->cfg->state_dir, &err) != FOTA_OK)
			log_warn("cannot save journal: %s", err.msg);
		if (acc.verdict != FOTA_VERDICT_DEFER) {
			free(a->deferred[gi].doc);
			memset(&a->deferred[gi], 0, sizeof(a->deferred[gi]));
		}
	}
	job_here = a->job.active && strcmp(a->job.group, group) == 0;
	switch (acc.verdict) {
	case FOTA_VERDICT_IGNORE:
	case FOTA_VERDICT_NOT_ADMITTED:
	case FOTA_VERDICT__COUNT:
		if (len > 0)
			log_info("%s", acc.reason);
		break;
	case FOTA_VERDICT_UNVERIFIED:
		count_unverified(a, &acc);
		break;
	case FOTA_VERDICT_REFUSE:
		refuse_directive(a, group, &acc);
		break;
	case FOTA_VERDICT_ABORT:
		if (a->job.active && strcmp(a->job.campaign, acc.directive.campaign_id) == 0) {
			history(a, "aborted", "campaign aborted");
			end_job(a, true);
			set_state(a, FOTA_STATE_IDLE, FOTA_RESULT_ABORTED,
				  "campaign aborted: staged data dropped");
		}
		break;
	case FOTA_VERDICT_HOLD:
		log_info("%s", acc.reason);
		if (job_here) {
			a->job.paused = true;
			a->job.directive_seq = acc.directive.directive_seq;
		}
		break;
	case FOTA_VERDICT_DEFER:
		keep_deferred(a, gi, payload, len, acc.retry_at);
		if (a->job.active && !job_here) {
			log_info("%s", acc.reason);
			break;
		}
		if (job_here) {
			a->job.paused = true;
			a->job.window_hold = true;
		} else {
			memset(&a->job, 0, sizeof(a->job));
			snprintf(a->job.campaign, sizeof(a->job.campaign), "%s",
				 acc.directive.campaign_id);
		}
		if (a->state != FOTA_STATE_DEFERRED || strcmp(a->reason, acc.reason) != 0)
			set_state(a, FOTA_STATE_DEFERRED, FOTA_RESULT_NONE, acc.reason);
		break;
	case FOTA_VERDICT_INSTALLED:
		log_info("%s", acc.reason);
		break;
	case FOTA_VERDICT_CONTINUE:
		a->job.paused = false;
		a->job.directive_seq = acc.directive.directive_seq;
		snprintf(a->job.campaign, sizeof(a->job.campaign), "%s", acc.directive.campaign_id);
		if (a->job.window_hold) {
			a->job.window_hold = false;
			a->job.last_new_chunk_ms = fota_time_mono_ms();
			a->job.retries = 0;
			set_state(a, FOTA_STATE_DOWNLOADING, FOTA_RESULT_NONE,
				  a->job.xfer ? NULL : "waiting for chunk table");
		}
		break;
	case FOTA_VERDICT_START:
		start_job(a, group, &acc);
		break;
	}
	fota_acceptance_clear(&acc);
}

/* Caller holds lock. A kept directive whose window opened is judged again. */
static void drive_deferred(struct agent *a)
{
	int64_t now = fota_time_now();

	if (a->installing)
		return; /* judged once the install thread has ended, like any directive */
	for (int i = 0; i < a->n_groups; i++) {
		struct deferred *k = &a->deferred[i];
		uint8_t *doc = k->doc;
		size_t len = k->len;

		if (doc == NULL || now < k->at)
			continue;
		/* Taken out first: judging it may keep it again (or a newer one). */
		memset(k, 0, sizeof(*k));
		handle_directive(a, a->groups[i], doc, len);
		free(doc);
	}
}

/* Caller holds lock. */
static void handle_frame(struct agent *a, const char *topic_image, const uint8_t *payload,
			 size_t len)
{
	struct fota_frame f;
	struct fota_error err = {0};
	char hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	bool is_new = false;
	int64_t now;
	fota_err rc;

	if (fota_frame_decode(payload, len, &f, &err) != FOTA_OK) {
		log_warn("frame dropped: %s", err.msg);
		return;
	}
	fota_hex_encode(f.image_id, FOTA_IMAGE_ID_LEN, hex);
	if (topic_image && strcmp(topic_image, hex) != 0) {
		log_warn("frame dropped: image %s on the topic of image %s", hex, topic_image);
		return;
	}
	if (f.type == FOTA_FRAME_TABLE) {
		if (a->job.active && a->job.xfer == NULL &&
		    memcmp(f.image_id, a->job.payload_id, FOTA_IMAGE_ID_LEN) == 0) {
			start_transfer(a, f.payload, f.payload_len);
		} else if (!a->job.active ||
			   memcmp(f.image_id, a->job.payload_id, FOTA_IMAGE_ID_LEN) != 0) {
			/* Kept for a directive still to come, which may also supersede the job
			 * (or come while it installs). */
			uint8_t *copy = malloc(f.payload_len ? f.payload_len : 1);

			if (copy == NULL)
				return;
			memcpy(copy, f.payload, f.payload_len);
			free(a->early_table);
			a->early_table = copy;
			a->early_table_len = f.payload_len;
			memcpy(a->early_table_id, f.image_id, FOTA_IMAGE_ID_LEN);
		}
		return;
	}
	if (!a->job.active || a->job.xfer == NULL ||
	    memcmp(f.image_id, a->job.payload_id, FOTA_IMAGE_ID_LEN) != 0 ||
	    a->state != FOTA_STATE_DOWNLOADING)
		return;
	if (f.count != a->job.payload.chunk_count) {
		log_warn("frame dropped: chunk count %u, manifest says %u", f.count,
			 a->job.payload.chunk_count);
		return;
	}
	rc = transfer_put(a->job.xfer, &f, &is_new, &err);
	if (rc == FOTA_ERR_STATE)
		return; /* an encrypted payload's chunk before its key: asked for again later */
	if (rc == FOTA_ERR_DIGEST || rc == FOTA_ERR_FIELD || rc == FOTA_ERR_INVAL) {
		/* Dropped before it touched storage; the gap is re-requested like any other. */
		a->job.forged++;
		log_warn("chunk %u of %s dropped: %s", f.index, hex, err.msg);
		return;
	}
	if (rc != FOTA_OK) {
		fail_job(a, a->job.group, FOTA_RESULT_NO_SPACE, err.msg, false);
		return;
	}
	/* Only now, verified against the table, does the frame say anything about the link. */
	now = fota_time_mono_ms();
	repair_gap_frame(&a->job.gap, now);
	if (topic_image) {
		a->job.last_bcast_ms = now;
		if (a->job.bcast_next == 0 && f.index > 0) {
			a->job.bcast_head = f.index;
			wakeup_signal(&a->wake); /* next_request asks for them now */
		}
		if (f.index >= a->job.bcast_next)
			a->job.bcast_next = f.index + 1;
	}
	if (is_new) {
		a->job.last_new_chunk_ms = now;
		a->job.retries = 0;
	}
	if (transfer_complete(a->job.xfer))
		wakeup_signal(&a->wake);
}

/* Caller holds lock. A directive that came while the install thread ran: the latest one per
 * group waits for its end (an earlier one of the group is superseded anyway). */
static void keep_waiting(struct agent *a, const char *group, const uint8_t *payload, size_t len)
{
	for (int i = 0; i < a->n_groups; i++) {
		if (strcmp(a->groups[i], group) != 0)
			continue;
		free(a->waiting[i]);
		a->waiting[i] = NULL;
		if (len == 0)
			return; /* cleared: nothing to do */
		a->waiting[i] = malloc(len);
		if (a->waiting[i] == NULL) {
			log_warn("directive for %s dropped while installing: out of memory; the "
				 "broker delivers it again on the next connection",
				 group);
			return;
		}
		memcpy(a->waiting[i], payload, len);
		a->waiting_len[i] = len;
		log_info("directive for %s waits until the install under way has ended", group);
		return;
	}
}

/* Caller holds lock. While the install thread runs, directives wait (keep_waiting); one that
 * does not verify is only counted, so it cannot displace the one that waits. */
static void directive_while_installing(struct agent *a, const char *group, const uint8_t *payload,
				       size_t len)
{
	struct fota_acceptance acc;
	struct fota_acceptance_device dev;
	struct journal_group *jg = journal_group(&a->journal, group);
	uint8_t installed[FOTA_SHA256_LEN];

	if (jg == NULL)
		return;
	describe_device(a, group, jg, installed, &dev);
	dev.busy = true; /* judged for its signature only; acted on once the install ended */
	fota_acceptance_judge(a->trust, payload, len, &dev, &acc);
	if (acc.verdict == FOTA_VERDICT_UNVERIFIED)
		count_unverified(a, &acc);
	else
		keep_waiting(a, group, payload, len);
	fota_acceptance_clear(&acc);
}

/* Without the lock: waits for a worker thread (install, policy) once it has ended (or, with
 * wait, until it ends). */
static void join_worker(struct agent *a, pthread_t *thread, bool *joinable, const bool *running,
			bool wait)
{
	bool join;

	pthread_mutex_lock(&a->lock);
	join = *joinable && (wait || !*running);
	if (join)
		*joinable = false;
	pthread_mutex_unlock(&a->lock);
	if (join)
		pthread_join(*thread, NULL);
}

static void join_workers(struct agent *a, bool wait)
{
	join_worker(a, &a->installer, &a->installer_joinable, &a->installing, wait);
	join_worker(a, &a->asker, &a->asker_joinable, &a->asking, wait);
}

/* Caller holds lock. One log line naming what happened and the groups now followed, and
 * where they come from. */
static void log_groups(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_groups(struct agent *a, const char *fmt, ...)
{
	char what[160], list[CLIENT_MAX_GROUPS * (FOTA_MAX_SEGMENT_LEN + 2) + 1];
	size_t n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	list[0] = '\0';
	for (int i = 0; i < a->n_groups; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? "," : "",
				      a->groups[i]);
	if (a->journal.assignment.seq)
		log_info("%s, groups: %s (assignment %llu)", what, n ? list : "none",
			 (unsigned long long)a->journal.assignment.seq);
	else
		log_info("%s, groups: %s (configuration)", what, n ? list : "none");
}

/* Caller holds lock. The groups the agent starts with: the applied assignment's, or the
 * configuration's when none was ever applied. */
static void groups_at_start(struct agent *a)
{
	const struct journal_assignment *as = &a->journal.assignment;

	a->n_groups = as->seq ? as->n_groups : a->cfg->n_groups;
	for (int i = 0; i < a->n_groups; i++)
		snprintf(a->groups[i], sizeof(a->groups[i]), "%s",
			 as->seq ? as->groups[i] : a->cfg->groups[i]);
}

/* Caller holds lock. An envelope on the device's assignment topic: verified and judged now
 * (fota_assignment_accept), applied once no job, switch or install is under way. */
static void handle_assignment(struct agent *a, const uint8_t *payload, size_t len)
{
	struct fota_assignment as;
	struct fota_error err = {0};
	uint64_t last = a->has_pending ? a->pending.assignment_seq : a->journal.assignment.seq;
	fota_err rc;

	if (len == 0) {
		log_info("assignment cleared on the broker: the groups stay as they are");
		return;
	}
	rc = fota_assignment_accept(a->trust, payload, len, a->cfg->id, last, fota_time_now(), &as,
				    &err);
	if (rc == FOTA_ERR_ROLLBACK) {
		log_info("%s", err.msg); /* the retained one again, after a (re)subscription */
		return;
	}
	if (rc != FOTA_OK) {
		log_warn("%s; the groups stay as they are", err.msg);
		return;
	}
	a->pending = as;
	a->has_pending = true;
	if (a->job.active || a->installing || a->hold)
		log_info("assignment %llu waits until the job under way has ended",
			 (unsigned long long)as.assignment_seq);
	wakeup_signal(&a->wake);
}

/* Caller holds lock. Kept directives move with their group; those of a group left go. */
static void regroup_deferred(struct agent *a, const struct fota_assignment *as)
{
	struct deferred moved[CLIENT_MAX_GROUPS];

	memset(moved, 0, sizeof(moved));
	for (int i = 0; i < a->n_groups; i++) {
		bool kept = false;

		for (size_t k = 0; k < as->n_groups && !kept; k++) {
			if (strcmp(a->groups[i], as->groups[k]) == 0) {
				moved[k] = a->deferred[i];
				kept = true;
			}
		}
		if (!kept) {
			free(a->deferred[i].doc);
			if (a->deferred[i].doc && a->state == FOTA_STATE_DEFERRED)
				set_state(a, FOTA_STATE_IDLE, FOTA_RESULT_NONE,
					  "deferred campaign's group left");
		}
	}
	memcpy(a->deferred, moved, sizeof(moved));
}

/* Caller holds lock. Applies a pending assignment when nothing is under way: the groups, the
 * journal (the directive records of groups left are forgotten), and the status that lists
 * them. The main loop then brings the subscriptions to the new groups. */
static void apply_assignment(struct agent *a)
{
	struct fota_assignment *as = &a->pending;
	struct fota_error err = {0};

	if (!a->has_pending || a->job.active || a->installing || a->hold)
		return;
	a->has_pending = false;
	regroup_deferred(a, as);
	a->n_groups = (int)as->n_groups;
	for (int i = 0; i < a->n_groups; i++)
		snprintf(a->groups[i], sizeof(a->groups[i]), "%s", as->groups[i]);
	a->journal.assignment.seq = as->assignment_seq;
	a->journal.assignment.n_groups = a->n_groups;
	memcpy(a->journal.assignment.groups, a->groups, sizeof(a->groups));
	journal_keep_groups(&a->journal, (const char(*)[FOTA_MAX_SEGMENT_LEN + 1]) a->groups,
			    a->n_groups);
	if (journal_save(&a->journal, a->cfg->state_dir, &err) != FOTA_OK)
		log_warn("cannot save journal: %s", err.msg);
	log_groups(a, "assignment %llu applied", (unsigned long long)as->assignment_seq);
	a->resend_status = true;
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct agent *a = ctx;
	struct fota_topic t;
	struct fota_error err = {0};

	if (fota_topic_parse(a->cfg->prefix, topic, &t, &err) != FOTA_OK) {
		log_warn("message on unexpected topic '%s' ignored: %s", topic, err.msg);
		return;
	}
	/* Directives of any size go to the judge, which refuses an oversize one unread and counts
	 * it as unverified; everything else is dropped here, whatever the broker let through. */
	if (t.kind != FOTA_TOPIC_GROUP_DIRECTIVE &&
	    fota_topic_payload_check(&t, topic, len, &err) != FOTA_OK) {
		log_warn("dropped: %s", err.msg);
		return;
	}
	pthread_mutex_lock(&a->lock);
	switch (t.kind) {
	case FOTA_TOPIC_GROUP_DIRECTIVE:
		/* Oversize ones too: the judge refuses them unread, as unverifiable. */
		if (group_index(a, t.group) < 0)
			break;
		if (a->installing)
			directive_while_installing(a, t.group, payload, len);
		else
			handle_directive(a, t.group, payload, len);
		break;
	case FOTA_TOPIC_GROUP_CHUNKS:
	case FOTA_TOPIC_GROUP_TABLE:
		if (group_index(a, t.group) >= 0)
			handle_frame(a, t.image_id, payload, len);
		break;
	case FOTA_TOPIC_DEVICE_CHUNKS:
		if (strcmp(t.device, a->cfg->id) == 0)
			handle_frame(a, NULL, payload, len);
		break;
	case FOTA_TOPIC_DEVICE_ASSIGNMENT:
		if (strcmp(t.device, a->cfg->id) == 0)
			handle_assignment(a, payload, len);
		break;
	case FOTA_TOPIC_DEVICE_KEY:
		if (strcmp(t.device, a->cfg->id) == 0)
			handle_key(a, payload, len);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&a->lock);
}

static void on_connected(void *ctx, bool reconnected)
{
	struct agent *a = ctx;

	pthread_mutex_lock(&a->lock);
	a->resend_status = true;
	a->resend_again_ms = fota_time_mono_ms() + STATUS_RESEND_AFTER_MS;
	wakeup_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	if (reconnected)
		log_info("reconnected");
}

static void on_lost(void *ctx, const char *cause)
{
	(void)ctx;
	log_warn("connection lost: %s; reconnecting", cause);
}

/* [trust] <role>_threshold: refused at start when the store cannot ever meet it. */
static fota_err set_threshold(struct fota_trust *trust, enum fota_role role, uint32_t n,
			      const char *path, struct fota_error *err)
{
	size_t have = fota_trust_count(trust, role);

	if (n > have)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "[trust] %s_threshold = %u but trust store %s holds %zu %s "
				      "key(s)",
				      fota_role_name(role), n, path, have, fota_role_name(role));
	return fota_trust_set_threshold(trust, role, n, err);
}

fota_err agent_new(const struct client_config *cfg, struct agent **out, struct fota_error *err)
{
	struct fota_mqtt_config mc = {0};
	struct fota_mqtt_callbacks cb = {on_message, on_connected, on_lost, NULL};
	struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_REQUEST};
	struct agent *a;
	char *will = NULL;
	size_t will_len = 0;
	fota_err rc;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	a->cfg = cfg;
	pthread_mutex_init(&a->lock, NULL);
	wakeup_init(&a->wake);
	rc = fota_mkdirs(cfg->state_dir, 0700, err);
	if (rc != FOTA_OK)
		goto fail;
	rc = journal_load(&a->journal, cfg->state_dir, cfg->factory_version, err);
	if (err && err->msg[0])
		log_warn("%s", err->msg);
	fota_error_clear(err);
	groups_at_start(a);
	a->crash_at = getenv("FOTA_CLIENT_CRASH_AT");
	a->inst = installer_find(cfg->install_method);
	if (a->inst == NULL) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "[install] method '%s' unknown",
				    cfg->install_method);
		goto fail;
	}
	if (a->inst->trial_boot) {
		struct bootctl_params bp = {0};

		bp.adapter = cfg->bootctl;
		bp.env = cfg->bootctl_env;
		bp.tool_dir = cfg->bootctl_tool_dir[0] ? cfg->bootctl_tool_dir : NULL;
		rc = bootctl_open(&bp, &a->bc, err);
		if (rc == FOTA_OK)
			rc = bootctl_booted_slot(cfg->booted_slot, &a->booted, err);
		if (rc != FOTA_OK) {
			fota_error_prefix(err, "ab-slot");
			goto fail;
		}
		if (a->journal.slot[0] == '\0' &&
		    a->journal.probation.phase == JOURNAL_PHASE_NONE) {
			snprintf(a->journal.slot, sizeof(a->journal.slot), "%s",
				 bootctl_slot_name(a->booted));
			save_journal(a);
		}
		log_info("ab-slot: running slot %s, updates go to slot %s (%s)",
			 bootctl_slot_name(a->booted), bootctl_slot_name(bootctl_other(a->booted)),
			 slot_path(a, bootctl_other(a->booted)));
	}
	a->trust = fota_trust_new();
	if (a->trust == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	rc = fota_trust_load(a->trust, cfg->trust, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "trust store");
		goto fail;
	}
	if (fota_trust_count(a->trust, FOTA_ROLE_RELEASE) == 0 ||
	    fota_trust_count(a->trust, FOTA_ROLE_ORCHESTRATOR) == 0) {
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND,
				    "trust store %s needs at least one release and one "
				    "orchestrator key",
				    cfg->trust);
		goto fail;
	}
	rc = set_threshold(a->trust, FOTA_ROLE_RELEASE, cfg->release_threshold, cfg->trust, err);
	if (rc == FOTA_OK)
		rc = set_threshold(a->trust, FOTA_ROLE_ORCHESTRATOR, cfg->orchestrator_threshold,
				   cfg->trust, err);
	if (rc != FOTA_OK)
		goto fail;
	rc = reporter_init(&a->reporter, cfg, err);
	if (rc != FOTA_OK)
		goto fail;
	snprintf(t.device, sizeof(t.device), "%s", cfg->id);
	rc = fota_topic_build(cfg->prefix, &t, a->request_topic, sizeof(a->request_topic), err);
	if (rc != FOTA_OK)
		goto fail;
	rc = reporter_will(cfg, &will, &will_len, err);
	if (rc != FOTA_OK)
		goto fail;
	client_config_mqtt(cfg, &mc);
	mc.keepalive_s = cfg->keepalive_s;
	mc.max_inflight = 8;
	mc.will_topic = a->reporter.topic;
	mc.will_payload = will;
	mc.will_len = will_len;
	mc.will_retained = true;
	cb.ctx = a;
	rc = fota_mqtt_new(&mc, &cb, &a->mqtt, err);
	free(will);
	if (rc != FOTA_OK)
		goto fail;
	a->state = FOTA_STATE_IDLE;
	*out = a;
	return FOTA_OK;
fail:
	agent_free(a);
	return rc;
}

static void agent_release(struct agent *a, bool process_exits)
{
	if (a == NULL)
		return;
	/* Stop Paho's deliveries first: its thread may be inside on_message. */
	if (process_exits)
		fota_mqtt_close_for_exit(a->mqtt);
	else
		fota_mqtt_free(a->mqtt);
	join_workers(a, true);
	for (int i = 0; i < CLIENT_MAX_GROUPS; i++)
		free(a->waiting[i]);
	if (a->job.xfer) {
		transfer_sync(a->job.xfer, NULL);
		transfer_free(a->job.xfer);
	}
	free(a->early_table);
	for (int i = 0; i < CLIENT_MAX_GROUPS; i++)
		free(a->deferred[i].doc);
	bootctl_free(a->bc);
	fota_trust_free(a->trust);
	fota_tz_cache_clear(&a->zones);
	reporter_destroy(&a->reporter);
	wakeup_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void agent_free(struct agent *a)
{
	agent_release(a, false);
}

void agent_free_for_exit(struct agent *a)
{
	agent_release(a, true);
}

/* Caller holds lock. Queues a repair request; published by the caller after unlocking. */
static bool next_request(struct agent *a, int64_t now, char **json)
{
	struct fota_request req;
	struct fota_error err = {0};
	int64_t gap, backoff;
	uint32_t limit;
	bool head;

	*json = NULL;
	if (!a->job.active || a->job.paused || a->state != FOTA_STATE_DOWNLOADING)
		return false;
	/* The broadcast started before this device subscribed: ask for the chunks it missed at
	 * once, while the rest still flows, not after the broadcast and a quiet gap. Once. */
	head = a->job.xfer && a->job.bcast_head > 0 && !a->job.head_asked;
	/* gap_ms, or longer on a link slower than one chunk per gap_ms (repair_gap.h). */
	gap = a->job.xfer ? repair_gap_ms(&a->job.gap) : a->cfg->gap_ms;
	/* Before the broadcast's first frame every chunk it brings would be fetched twice: wait
	 * for it, until its start is overdue. */
	if (a->job.xfer &&
	    repair_gap_await_broadcast(&a->job.gap, a->job.bcast_next, a->job.table_ms, now))
		return false;
	/* While a broadcast is still under way, chunks above the highest one seen are on their
	 * way; a broadcast that fell silent is over (or dead): then ask for everything. */
	limit = repair_gap_limit(&a->job.gap, a->job.bcast_next, a->job.last_bcast_ms, now);
	if (head) {
		a->job.head_asked = true;
		limit = a->job.bcast_head;
		goto ask;
	}
	/* On a slow link the answer to that request queues behind the broadcast: asking again
	 * before the broadcast is over would fetch the head twice. */
	if (a->job.head_asked && limit != UINT32_MAX)
		return false;
	/* Ask only when no new chunk came for a gap: while they flow, the broadcast or an
	 * answer is still arriving, and asking would fetch chunks twice. Back off on retries. */
	backoff = repair_gap_backoff_ms((uint32_t)gap, a->job.retries);
	if (now - a->job.last_new_chunk_ms < gap || now - a->job.last_request_ms < backoff ||
	    now - a->job.started_ms < (int64_t)a->cfg->gap_ms)
		return false;
ask:
	memset(&req, 0, sizeof(req));
	memcpy(req.image_id, a->job.payload_id, FOTA_IMAGE_ID_LEN);
	if (a->job.xfer == NULL) {
		req.want_table = true;
	} else {
		if (transfer_complete(a->job.xfer))
			return false;
		req.n_ranges = transfer_next_missing(
		    a->job.xfer, req.ranges, FOTA_MAX_REQUEST_RANGES, a->cfg->window, limit);
		if (req.n_ranges == 0)
			return false;
	}
	if (a->job.retries >= a->cfg->max_retries) {
		char msg[FOTA_MAX_REASON_LEN];

		snprintf(msg, sizeof(msg),
			 "stalled: %u repair requests brought no new chunk (%u of %u present)",
			 a->job.retries, a->job.xfer ? transfer_present(a->job.xfer) : 0,
			 a->job.payload.chunk_count);
		if (a->job.via_delta)
			fall_back_to_full(a, msg);
		else
			fail_job(a, a->job.group, FOTA_RESULT_STALLED, msg, false);
		return false;
	}
	a->job.retries++;
	a->job.last_request_ms = now;
	repair_gap_break(&a->job.gap); /* the answer's first interval is the round trip */
	if (fota_request_to_json(&req, json, &err) != FOTA_OK) {
		log_warn("cannot encode repair request: %s", err.msg);
		return false;
	}
	return true;
}

/* Caller holds lock. Stall timeout: no new chunk for too long while downloading. */
static void check_stall(struct agent *a, int64_t now)
{
	char msg[FOTA_MAX_REASON_LEN];

	if (!a->job.active || a->job.paused || a->state != FOTA_STATE_DOWNLOADING)
		return;
	if (now - a->job.last_new_chunk_ms < (int64_t)a->cfg->stall_timeout_s * 1000)
		return;
	if (a->job.manifest.encryption != FOTA_ENCRYPTION_NONE &&
	    (a->job.xfer == NULL || !transfer_has_content_key(a->job.xfer))) {
		/* The same wait as for a missing table, then the reason is the key. */
		snprintf(msg, sizeof(msg), "%s (none usable within %u s)",
			 a->ckey_unwrap_failed ? "content key does not unwrap" : "no content key",
			 a->cfg->stall_timeout_s);
		fail_job(a, a->job.group, FOTA_RESULT_STALLED, msg, false);
		return;
	}
	snprintf(msg, sizeof(msg), "stalled: no new chunk for %u s (%u of %u present)",
		 a->cfg->stall_timeout_s, a->job.xfer ? transfer_present(a->job.xfer) : 0,
		 a->job.payload.chunk_count);
	if (a->job.via_delta)
		fall_back_to_full(a, msg);
	else
		fail_job(a, a->job.group, FOTA_RESULT_STALLED, msg, false);
}

/* Splits a configured command line on blanks (no shell) and runs it under a deadline. */
static fota_err run_command(const char *cmdline, unsigned timeout_ms, struct fota_error *err)
{
	char buf[CLIENT_PATH_MAX], how[96];
	const char *argv[HEALTH_MAX_ARGS + 1];
	struct run_spec spec;
	struct run_result res;
	char *save = NULL, *tok;
	int n = 0;
	fota_err rc;

	snprintf(buf, sizeof(buf), "%s", cmdline);
	for (tok = strtok_r(buf, " \t", &save); tok && n < HEALTH_MAX_ARGS;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	if (n == 0)
		return fota_error_set(err, FOTA_ERR_INVAL, "empty command line");
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.timeout_ms = timeout_ms;
	rc = health_run(&spec, &res, err);
	if (rc == FOTA_OK && (res.end != RUN_EXITED || res.status != 0)) {
		run_result_describe(&res, how, sizeof(how));
		rc = fota_error_set(err, FOTA_ERR_STATE, "'%.100s' %s%s%.100s", cmdline, how,
				    res.err_last[0] ? ": " : "", res.err_last);
	}
	run_result_clear(&res);
	return rc;
}

/* Caller holds lock. Fills the job's report fields from the probation record, so outcomes
 * reported after a restart name the campaign and image they belong to. */
static void job_from_probation(struct agent *a)
{
	const struct journal_probation *p = &a->journal.probation;

	memset(&a->job, 0, sizeof(a->job));
	snprintf(a->job.group, sizeof(a->job.group), "%s", p->group);
	snprintf(a->job.campaign, sizeof(a->job.campaign), "%s", p->campaign);
	snprintf(a->job.image_hex, sizeof(a->job.image_hex), "%s", p->image_id);
	snprintf(a->job.manifest.version, sizeof(a->job.manifest.version), "%s", p->version);
	a->job.manifest.sequence = p->sequence;
}

/* The checkpoint of an image that reached the slot is only a bitmap; drop what is left. */
static void drop_checkpoint(struct agent *a, const char *image_hex)
{
	char path[CLIENT_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/transfer/%s.bitmap", a->cfg->state_dir, image_hex);
	unlink(path);
	snprintf(path, sizeof(path), "%s/transfer/%s.rx", a->cfg->state_dir, image_hex);
	unlink(path);
}

/* Caller holds lock. The file and script backends: installed means confirmed. */
static void direct_installed(struct agent *a, const char *group, fota_err rc,
			     const struct fota_error *err)
{
	char hex[FOTA_SHA256_HEX_LEN + 1];
	const char *where = a->inst->where(a->cfg);

	if (rc != FOTA_OK) {
		fail_job(a, group, FOTA_RESULT_INSTALL_FAILED, err->msg, true);
		return;
	}
	snprintf(a->journal.installed_version, sizeof(a->journal.installed_version), "%s",
		 a->job.manifest.version);
	a->journal.installed_sequence = a->job.manifest.sequence;
	fota_hex_encode(fota_manifest_image_sha256(&a->job.manifest), FOTA_SHA256_LEN, hex);
	snprintf(a->journal.installed_sha256, sizeof(a->journal.installed_sha256), "%s", hex);
	snprintf(a->journal.installed_campaign, sizeof(a->journal.installed_campaign), "%s",
		 a->job.campaign);
	settle(a, group); /* also saves the installed image */
	history(a, "installed", "");
	log_info("installed %s %s into %s (%llu bytes received for %llu)", a->job.manifest.name,
		 a->job.manifest.version, where, (unsigned long long)transfer_rx_bytes(a->job.xfer),
		 (unsigned long long)a->job.manifest.size);
	set_state(a, FOTA_STATE_CONFIRMED, FOTA_RESULT_SUCCESS,
		  a->job.payload_note[0] ? a->job.payload_note : NULL);
	end_job(a, true);
}

/*
 * Caller holds lock. The ab-slot backend: the image is already in the inactive slot. The
 * journal records each step before it is taken (arming, then switched), so a power cut
 * anywhere leaves either the old slot as the only bootable one, or a trial boot the journal
 * knows about (docs/install.md, "Power-cut guarantees"). First step: journal the arming;
 * false if the job ended.
 */
static bool slot_arming(struct agent *a, const char *group)
{
	struct journal_probation *p = &a->journal.probation;
	enum bootctl_slot target = bootctl_other(a->booted);
	struct fota_error err = {0};

	memset(p, 0, sizeof(*p));
	p->phase = JOURNAL_PHASE_ARMING;
	snprintf(p->group, sizeof(p->group), "%s", group);
	snprintf(p->campaign, sizeof(p->campaign), "%s", a->job.campaign);
	snprintf(p->image_id, sizeof(p->image_id), "%s", a->job.image_hex);
	fota_hex_encode(fota_manifest_image_sha256(&a->job.manifest), FOTA_SHA256_LEN, p->sha256);
	snprintf(p->version, sizeof(p->version), "%s", a->job.manifest.version);
	p->sequence = a->job.manifest.sequence;
	snprintf(p->slot, sizeof(p->slot), "%s", bootctl_slot_name(target));
	snprintf(p->from_slot, sizeof(p->from_slot), "%s", bootctl_slot_name(a->booted));
	p->confirm_timeout_s = a->job.manifest.confirm_timeout_s;
	if (journal_save(&a->journal, a->cfg->state_dir, &err) != FOTA_OK) {
		memset(p, 0, sizeof(*p));
		fail_job(a, group, FOTA_RESULT_NO_SPACE, err.msg, false);
		return false;
	}
	crash_point(a, "arming");
	return true;
}

/* Caller holds lock. The slot is verified and armed (rc FOTA_OK): journal it and reboot. */
static void slot_installed(struct agent *a, const char *group, fota_err rc,
			   const struct fota_error *err)
{
	struct journal_probation *p = &a->journal.probation;
	enum bootctl_slot target = bootctl_other(a->booted);
	char note[FOTA_MAX_REASON_LEN];

	if (rc != FOTA_OK) {
		memset(p, 0, sizeof(*p));
		save_journal(a);
		fail_job(a, group,
			 rc == FOTA_ERR_DIGEST ? FOTA_RESULT_INTEGRITY : FOTA_RESULT_INSTALL_FAILED,
			 err->msg, rc == FOTA_ERR_DIGEST);
		return;
	}
	crash_point(a, "armed");
	p->phase = JOURNAL_PHASE_SWITCHED;
	save_journal(a);
	crash_point(a, "switched");
	history(a, "switched", "");
	log_info("slot %s holds %s %s (from the %s payload), verified; trial boot armed (%s), "
		 "rebooting",
		 bootctl_slot_name(target), a->job.manifest.name, a->job.manifest.version,
		 a->job.via_delta ? "delta" : "full", bootctl_adapter_name(a->bc));
	snprintf(note, sizeof(note), "%s", a->job.payload_note);
	end_job(a, true); /* the slot is the data path: only the bitmap goes */
	job_from_probation(a);
	a->hold = true;
	set_state(a, FOTA_STATE_REBOOTING, FOTA_RESULT_NONE, note[0] ? note : NULL);
	a->reboot_pending = true;
	a->reboot_since_ms = fota_time_mono_ms();
}

/* Caller holds lock. Acts on the directives that came while the install thread ran. */
static void take_up_waiting(struct agent *a)
{
	for (int i = 0; i < a->n_groups; i++) {
		uint8_t *payload = a->waiting[i];

		if (payload == NULL)
			continue;
		a->waiting[i] = NULL;
		handle_directive(a, a->groups[i], payload, a->waiting_len[i]);
		free(payload);
	}
}

/* Install thread: the power-cut tests' crash point "decoding", half-way through the image. */
static void decode_progress(void *ctx, uint64_t written)
{
	const struct agent *a = ctx;

	if (written >= fota_manifest_image_size(&a->job.manifest) / 2)
		crash_point(a, "decoding");
}

/* The result a failed decode reports: a payload that verified but does not decode to the
 * signed image, or needs more than this agent allows, will not get better by retrying. */
static enum fota_result decode_result(fota_err rc)
{
	switch (rc) {
	case FOTA_ERR_DIGEST:
	case FOTA_ERR_PARSE:
		return FOTA_RESULT_INTEGRITY;
	case FOTA_ERR_INCOMPATIBLE:
	case FOTA_ERR_TOO_BIG:
		return FOTA_RESULT_UNSUPPORTED;
	case FOTA_ERR_NOMEM:
		return FOTA_RESULT_NO_MEMORY;
	default:
		return FOTA_RESULT_NO_SPACE;
	}
}

/*
 * Install thread, without the lock: runs the verified payload through its decode chain into
 * the image path (the slot for an installer that writes its target, else a file beside the
 * staged payload). The identity chain leaves the payload where it is. A cut here leaves the
 * payload and its checkpoint as they were: the next start decodes again.
 */
static fota_err decode_payload(struct agent *a, char *image_path, size_t len,
			       struct fota_error *err)
{
	struct decode_chain chain = {0};
	struct decode_base base = {-1, 0};
	const struct fota_manifest *m = &a->job.payload;
	const char *payload = transfer_data_path(a->job.xfer);
	fota_err rc = FOTA_OK;

	if (m->has_delta_base)
		rc = decode_base_open(a->inst->base(a->cfg, a->booted),
				      a->job.manifest.delta.from_size, m->from_sha256, &base, err);
	if (rc == FOTA_OK)
		rc = decode_chain_for(m, m->has_delta_base ? &base : NULL, &chain, err);

	if (rc == FOTA_OK && decode_chain_is_identity(&chain)) {
		snprintf(image_path, len, "%s", payload);
	} else if (rc == FOTA_OK) {
		if (a->inst->writes_target)
			snprintf(image_path, len, "%s", slot_path(a, bootctl_other(a->booted)));
		else
			snprintf(image_path, len, "%s.image", payload);
		log_info("decoding %s into %s", payload, image_path);
		rc = decode_chain_run(&chain, payload, image_path, a->inst->writes_target,
				      decode_progress, a, err);
	}
	decode_chain_clear(&chain);
	decode_base_close(&base);
	return rc;
}

/* Caller holds lock. A decoded image staged as a file of its own goes once it is installed or
 * refused (install_file moved it already); the slot and the payload itself stay. */
static void drop_decoded(const struct agent *a, const char *image_path)
{
	if (!a->inst->writes_target && image_path[0] &&
	    strcmp(image_path, transfer_data_path(a->job.xfer)) != 0)
		unlink(image_path);
}

/*
 * The install thread: verifying -> installing -> (confirmed | rebooting). The long steps
 * (hashing the payload, decoding it, the install backend) run without the lock; each state
 * change and the bookkeeping take it. The installer table (installer.h) says what the method
 * needs: a trial boot, or installed = confirmed.
 */
static void *install_main(void *arg)
{
	struct agent *a = arg;
	struct fota_error err = {0};
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char image_path[CLIENT_PATH_MAX + 64] = "";
	const struct installer *inst = a->inst;
	struct install_request req;
	fota_err rc = FOTA_OK;
	bool in_target;

	pthread_mutex_lock(&a->lock);
	snprintf(group, sizeof(group), "%s", a->job.group);
	in_target = payload_in_target(a);
	pthread_mutex_unlock(&a->lock);
	/* A payload written into the slot is hashed from the medium by install_slot, which is
	 * the check that counts; hashing it here too would read the whole slot twice. */
	if (!in_target)
		rc = transfer_verify(a->job.xfer, &err);
	pthread_mutex_lock(&a->lock);
	if (rc != FOTA_OK) {
		/* Every chunk matched the signed table, so this is a disk fault: start over. */
		fota_error_prefix(&err, "image rejected");
		fail_job(a, group, FOTA_RESULT_INTEGRITY, err.msg, true);
		goto out;
	}
	set_state(a, FOTA_STATE_INSTALLING, FOTA_RESULT_NONE, NULL);
	pthread_mutex_unlock(&a->lock);
	rc = decode_payload(a, image_path, sizeof(image_path), &err);
	pthread_mutex_lock(&a->lock);
	if (rc != FOTA_OK && a->job.via_delta) {
		/* The full payload is signed in the same manifest: take it, no operator needed. */
		drop_decoded(a, image_path);
		fall_back_to_full(a, err.msg);
		goto out;
	}
	if (rc != FOTA_OK) {
		drop_decoded(a, image_path);
		fail_job(a, group, decode_result(rc), err.msg, rc != FOTA_ERR_IO);
		goto out;
	}
	if (inst->trial_boot && !slot_arming(a, group))
		goto out;
	memset(&req, 0, sizeof(req));
	req.cfg = a->cfg;
	req.m = &a->job.manifest;
	req.image_path = image_path;
	req.bc = a->bc;
	req.slot = bootctl_other(a->booted);
	pthread_mutex_unlock(&a->lock);
	rc = inst->install(&req, &err);
	pthread_mutex_lock(&a->lock);
	drop_decoded(a, image_path); /* a script's, or one a failed install left */
	if (inst->trial_boot)
		slot_installed(a, group, rc, &err);
	else
		direct_installed(a, group, rc, &err);
out:
	a->installing = false;
	take_up_waiting(a);
	wakeup_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Caller holds lock. downloaded -> verifying, then the install thread takes the job. */
static void finish(struct agent *a)
{
	struct fota_error err = {0};
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	int rc;

	snprintf(group, sizeof(group), "%s", a->job.group);
	if (transfer_sync(a->job.xfer, &err) != FOTA_OK) {
		fail_job(a, group, FOTA_RESULT_NO_SPACE, err.msg, false);
		return;
	}
	set_state(a, FOTA_STATE_DOWNLOADED, FOTA_RESULT_NONE, NULL);
	set_state(a, FOTA_STATE_VERIFYING, FOTA_RESULT_NONE, NULL);
	a->installing = true;
	rc = pthread_create(&a->installer, NULL, install_main, a);
	if (rc != 0) {
		char msg[FOTA_MAX_REASON_LEN];

		a->installing = false;
		snprintf(msg, sizeof(msg), "cannot start the install thread: %s", strerror(rc));
		fail_job(a, group, FOTA_RESULT_NO_MEMORY, msg, false);
		return;
	}
	a->installer_joinable = true;
}

/* Caller holds lock. Keeps an A/B outcome in the journal (saved by the caller) until a new job
 * starts (set_state); report_outcome_done notes when the broker has it. */
static void keep_outcome(struct agent *a, enum fota_state st, enum fota_result res,
			 const char *reason)
{
	struct journal_outcome *o = &a->journal.outcome;

	o->kept = true;
	o->reported = false;
	snprintf(o->state, sizeof(o->state), "%s", fota_state_name(st));
	snprintf(o->result, sizeof(o->result), "%s", fota_result_name(res));
	snprintf(o->reason, sizeof(o->reason), "%s", reason);
	snprintf(o->campaign, sizeof(o->campaign), "%s", a->job.campaign);
	snprintf(o->image_id, sizeof(o->image_id), "%s", a->job.image_hex);
}

/* Caller holds lock. At start: the last A/B outcome is the state to report until a new job
 * starts, so an operator still sees it after the reboot that followed it. */
static void restore_outcome(struct agent *a)
{
	const struct journal_outcome *o = &a->journal.outcome;
	enum fota_state st;
	enum fota_result res;

	if (!o->kept || fota_state_parse(o->state, &st, NULL) != FOTA_OK ||
	    fota_result_parse(o->result, &res, NULL) != FOTA_OK)
		return;
	memset(&a->job, 0, sizeof(a->job));
	snprintf(a->job.campaign, sizeof(a->job.campaign), "%s", o->campaign);
	snprintf(a->job.image_hex, sizeof(a->job.image_hex), "%s", o->image_id);
	a->state = st;
	a->result = res;
	snprintf(a->reason, sizeof(a->reason), "%s", o->reason);
}

/* Caller holds lock. Once every queued report is published, the broker has the kept outcome. */
static void report_outcome_done(struct agent *a)
{
	unsigned queued;

	if (!a->journal.outcome.kept || a->journal.outcome.reported || !a->status_queued)
		return;
	pthread_mutex_lock(&a->reporter.lock);
	queued = a->reporter.len;
	pthread_mutex_unlock(&a->reporter.lock);
	if (queued > 0)
		return;
	a->journal.outcome.reported = true;
	save_journal(a);
}

/* Caller holds lock. The outcome of a rollback, whoever made it (us or the bootloader). */
static void rolled_back(struct agent *a, const char *reason, bool reboot)
{
	struct journal_probation *p = &a->journal.probation;
	char group[FOTA_MAX_SEGMENT_LEN + 1];

	job_from_probation(a);
	snprintf(group, sizeof(group), "%s", p->group);
	snprintf(a->journal.slot, sizeof(a->journal.slot), "%s", p->from_slot);
	drop_checkpoint(a, p->image_id);
	memset(p, 0, sizeof(*p));
	keep_outcome(a, FOTA_STATE_ROLLED_BACK, FOTA_RESULT_HEALTH_CHECK_FAILED, reason);
	settle(a, group); /* saves: the same directive never retries a rejected image */
	history(a, "rolled_back", reason);
	set_state(a, FOTA_STATE_ROLLED_BACK, FOTA_RESULT_HEALTH_CHECK_FAILED, reason);
	if (reboot) {
		a->hold = true;
		a->reboot_pending = true;
		a->reboot_since_ms = fota_time_mono_ms();
	}
}

/* Caller holds lock. Journals phase rolling_back with the reason, before any step that would
 * erase the evidence (clearing bootcount, switching back). */
static void record_rollback(struct agent *a, const char *reason)
{
	struct journal_probation *p = &a->journal.probation;

	p->phase = JOURNAL_PHASE_ROLLING_BACK;
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
	save_journal(a);
}

/* Caller holds lock. Running the trial slot, and it must not stay: go back to the old one. */
static void roll_back(struct agent *a, const char *reason)
{
	struct journal_probation *p = &a->journal.probation;
	struct fota_error err = {0};
	enum bootctl_slot from = BOOTCTL_SLOT_A;

	record_rollback(a, reason);
	crash_point(a, "rolling_back");
	bootctl_slot_parse(p->from_slot, &from, NULL);
	if (bootctl_rollback(a->bc, from, &err) != FOTA_OK)
		/* The trial is still bounded by bootcount: the bootloader falls back anyway. */
		log_warn("cannot switch back to slot %s: %s", p->from_slot, err.msg);
	rolled_back(a, reason, true);
}

/* Caller holds lock. The trial slot passed: make it the confirmed one. */
static void commit(struct agent *a, enum bootctl_slot slot)
{
	struct journal_probation *p = &a->journal.probation;
	struct fota_error err = {0};
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char msg[FOTA_MAX_REASON_LEN];

	if (bootctl_mark_good(a->bc, slot, &err) != FOTA_OK) {
		snprintf(msg, sizeof(msg), "cannot confirm slot %s: %.170s", p->slot, err.msg);
		roll_back(a, msg);
		return;
	}
	crash_point(a, "confirming");
	job_from_probation(a);
	snprintf(group, sizeof(group), "%s", p->group);
	snprintf(a->journal.installed_version, sizeof(a->journal.installed_version), "%s",
		 p->version);
	a->journal.installed_sequence = p->sequence;
	snprintf(a->journal.installed_sha256, sizeof(a->journal.installed_sha256), "%s", p->sha256);
	snprintf(a->journal.installed_campaign, sizeof(a->journal.installed_campaign), "%s",
		 p->campaign);
	snprintf(a->journal.slot, sizeof(a->journal.slot), "%s", p->slot);
	drop_checkpoint(a, p->image_id);
	memset(p, 0, sizeof(*p));
	keep_outcome(a, FOTA_STATE_CONFIRMED, FOTA_RESULT_SUCCESS, "");
	settle(a, group);
	history(a, "confirmed", "");
	set_state(a, FOTA_STATE_CONFIRMED, FOTA_RESULT_SUCCESS, NULL);
}

/* Caller holds lock. The trial slot runs: start (or go on with) its probation clock. */
static void start_testing(struct agent *a, const struct probation_decision *d, const char *boot_id)
{
	struct journal_probation *p = &a->journal.probation;

	p->phase = JOURNAL_PHASE_TESTING;
	p->boot_attempts = d->boot_attempts;
	p->since_ms = d->since_ms;
	snprintf(p->boot_id, sizeof(p->boot_id), "%s", boot_id);
	save_journal(a);
	job_from_probation(a);
	a->hold = true;
	set_state(a, FOTA_STATE_TESTING, FOTA_RESULT_NONE, NULL);
}

/* Caller holds lock. Runs the health check within what is left of the confirm timeout. */
static void run_probation(struct agent *a, enum bootctl_slot slot, int64_t check_ms)
{
	struct journal_probation *p = &a->journal.probation;
	struct probation_decision d;
	struct fota_error err = {0};
	enum health_status hs = HEALTH_PASSED;

	if (a->cfg->health_command[0]) {
		log_info("health check of slot %s: %s (within %lld ms)", p->slot,
			 a->cfg->health_command, (long long)check_ms);
		hs = health_check(a->cfg->health_command,
				  check_ms < UINT32_MAX ? (unsigned)check_ms : UINT32_MAX, NULL,
				  &err);
	}
	probation_after_check(hs, err.msg, &d);
	if (d.action == PROBATION_ROLL_BACK) {
		roll_back(a, d.reason);
		return;
	}
	commit(a, slot);
	a->hold = false;
}

/*
 * Caller holds lock; runs once at start, before connecting: a new image that broke the
 * network must still be rolled back. Gathers the facts about a pending trial, asks
 * probation_decide what they mean (docs/install.md, "Life of an update") and acts.
 */
static void resolve_probation(struct agent *a)
{
	struct journal_probation *p = &a->journal.probation;
	struct probation_facts f = {0};
	struct probation_decision d;
	struct fota_error err = {0};
	char boot_id[JOURNAL_BOOT_ID_LEN + 1] = "";

	if (p->phase == JOURNAL_PHASE_NONE || a->bc == NULL)
		return;
	f.phase = p->phase;
	f.trial = BOOTCTL_SLOT_B;
	bootctl_slot_parse(p->slot, &f.trial, NULL);
	f.running = a->booted;
	f.env_ok = bootctl_read(a->bc, &f.env, &err) == FOTA_OK;
	if (!f.env_ok)
		log_warn("boot environment unreadable: %s", err.msg);
	if (bootctl_boot_id(a->cfg->boot_id, boot_id, sizeof(boot_id), &err) != FOTA_OK)
		log_warn("%s; every start counts as a new boot", err.msg);
	f.reason = p->reason;
	f.boot_attempts = p->boot_attempts;
	f.max_boot_attempts = a->cfg->max_boot_attempts;
	f.confirm_timeout_s = p->confirm_timeout_s;
	f.same_boot = boot_id[0] && strcmp(boot_id, p->boot_id) == 0;
	f.since_ms = p->since_ms;
	f.now_ms = fota_time_boot_ms();
	probation_decide(&f, &d);
	log_info("journal: %s of %s in slot %s (from %s); running slot %s: %s",
		 journal_phase_name(p->phase), p->version, p->slot, p->from_slot,
		 bootctl_slot_name(a->booted), probation_action_name(d.action));
	switch (d.action) {
	case PROBATION_DROP:
		/* Cut before the trial boot was armed: slot B is only data. The directive is not
		 * settled, so it comes again and the checkpoint re-verifies the slot (or fetches
		 * it again) before another attempt. */
		log_warn(
		    "switch to slot %s was interrupted before it took effect; slot %s stays in "
		    "use and the image will be verified again",
		    p->slot, bootctl_slot_name(a->booted));
		memset(p, 0, sizeof(*p));
		save_journal(a);
		break;
	case PROBATION_WAIT:
		log_warn("trial of slot %s kept: the boot environment cannot tell its state; new "
			 "directives wait for the next start",
			 p->slot);
		job_from_probation(a);
		a->hold = true;
		break;
	case PROBATION_REBOOT:
		/* Armed, but the reboot never came (the agent was restarted): reboot. */
		p->phase = JOURNAL_PHASE_SWITCHED;
		save_journal(a);
		job_from_probation(a);
		a->hold = true;
		set_state(a, FOTA_STATE_REBOOTING, FOTA_RESULT_NONE, NULL);
		a->reboot_pending = true;
		a->reboot_since_ms = fota_time_mono_ms();
		break;
	case PROBATION_ROLLED_BACK:
		if (p->phase != JOURNAL_PHASE_ROLLING_BACK)
			record_rollback(a, d.reason);
		if (d.reset_env && bootctl_rollback(a->bc, a->booted, &err) != FOTA_OK)
			log_warn("cannot reset the boot environment to slot %s: %s",
				 bootctl_slot_name(a->booted), err.msg);
		rolled_back(a, d.reason, false);
		break;
	case PROBATION_COMMIT:
		log_info("slot %s is already confirmed in the boot environment", p->slot);
		commit(a, f.trial);
		break;
	case PROBATION_ROLL_BACK:
		if (d.save_clock)
			start_testing(a, &d, boot_id);
		roll_back(a, d.reason);
		break;
	case PROBATION_TEST:
		start_testing(a, &d, boot_id);
		run_probation(a, f.trial, d.check_ms);
		break;
	}
}

struct policy_question {
	struct agent *a;
	char action[16];
	struct fota_manifest manifest;
	uint8_t image_id[FOTA_IMAGE_ID_LEN];
};

/* The policy thread: runs the hook without the lock, then leaves the answer to the job it
 * was asked for, if that job still runs. */
static void *policy_main(void *arg)
{
	struct policy_question *q = arg;
	struct agent *a = q->a;
	char reason[FOTA_MAX_REASON_LEN];
	bool allowed = policy_allows(a->cfg, q->action, &q->manifest, reason, sizeof(reason));

	pthread_mutex_lock(&a->lock);
	if (a->job.active && memcmp(a->job.image_id, q->image_id, FOTA_IMAGE_ID_LEN) == 0) {
		a->job.policy_answer = allowed ? POLICY_ALLOWED : POLICY_DEFERRED;
		snprintf(a->job.policy_reason, sizeof(a->job.policy_reason), "%s", reason);
	}
	a->asking = false;
	wakeup_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	free(q);
	return NULL;
}

/* Caller holds lock. Asks the policy hook on the policy thread, at most every retry_s; true
 * once it allowed action, false while it is asked or deferred. */
static bool policy_gate(struct agent *a, const char *action, int64_t now)
{
	struct policy_question *q;
	int rc;

	if (a->job.policy_answer == POLICY_ALLOWED) {
		a->job.policy_answer = POLICY_UNANSWERED;
		return true;
	}
	if (a->job.policy_answer == POLICY_DEFERRED) {
		const char *reason = a->job.policy_reason;

		a->job.policy_answer = POLICY_UNANSWERED;
		a->job.policy_next_ms = now + (int64_t)a->cfg->policy_retry_s * 1000;
		if (a->state != FOTA_STATE_DEFERRED || strcmp(a->reason, reason) != 0) {
			history(a, "deferred", reason);
			set_state(a, FOTA_STATE_DEFERRED, FOTA_RESULT_NONE, reason);
		}
		return false;
	}
	if (a->asking || a->asker_joinable || now < a->job.policy_next_ms)
		return false;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return false; /* asked again on the next turn */
	q->a = a;
	snprintf(q->action, sizeof(q->action), "%s", action);
	q->manifest = a->job.manifest;
	memcpy(q->image_id, a->job.image_id, FOTA_IMAGE_ID_LEN);
	a->asking = true;
	rc = pthread_create(&a->asker, NULL, policy_main, q);
	if (rc != 0) {
		log_warn("cannot start the policy thread: %s; asking again later", strerror(rc));
		a->asking = false;
		a->job.policy_next_ms = now + (int64_t)a->cfg->policy_retry_s * 1000;
		free(q);
		return false;
	}
	a->asker_joinable = true;
	return false;
}

/* Caller holds lock. One step of the job from the main loop. */
static void drive_job(struct agent *a, int64_t now)
{
	/* A paused campaign or a window not open yet holds the job: it neither asks nor installs.
	 */
	if (!a->job.active || a->hold || a->installing || a->job.paused)
		return;
	if (a->job.gate_download) {
		if (!policy_gate(a, "download", now))
			return;
		a->job.gate_download = false;
		a->job.policy_next_ms = 0;
		a->job.started_ms = now;
		a->job.last_new_chunk_ms = now;
		set_state(a, FOTA_STATE_DOWNLOADING, FOTA_RESULT_NONE,
			  a->job.xfer ? NULL : "waiting for chunk table");
		return;
	}
	if (a->job.xfer == NULL ||
	    (a->state != FOTA_STATE_DOWNLOADING && a->state != FOTA_STATE_DEFERRED))
		return;
	if (transfer_complete(a->job.xfer)) {
		if (!a->job.install_allowed) {
			if (!policy_gate(a, "install", now))
				return;
			a->job.install_allowed = true;
		}
		finish(a);
	} else if (a->state == FOTA_STATE_DOWNLOADING) {
		struct fota_status s;

		snapshot(a, &s);
		reporter_progress(&a->reporter, &s, now);
	}
}

/* Caller holds lock. True once the reboot is due: the last status is out, or 30 s passed
 * without a broker. The caller runs run_reboot() after unlocking. */
static bool reboot_due(struct agent *a, bool connected)
{
	unsigned queued;

	if (!a->reboot_pending)
		return false;
	pthread_mutex_lock(&a->reporter.lock);
	queued = a->reporter.len;
	pthread_mutex_unlock(&a->reporter.lock);
	if ((queued > 0 || !connected) && fota_time_mono_ms() - a->reboot_since_ms < 30000)
		return false;
	a->reboot_pending = false;
	return true;
}

/* Without the lock: the reboot command may take its time while messages keep flowing. */
static void run_reboot(struct agent *a)
{
	struct fota_error err = {0};

	log_info("rebooting: %s", a->cfg->reboot_command);
	crash_point(a, "reboot");
	if (a->cfg->reboot_command[0] == '\0')
		log_warn("no reboot_command configured: waiting for an external reboot");
	else if (run_command(a->cfg->reboot_command, 60000, &err) != FOTA_OK)
		log_warn("reboot command failed: %s", err.msg);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Caller holds lock. The subscriptions the agent needs now: from its groups and the image
 * its job receives (fota_subscriptions_device says which are exact and why). */
static fota_err wanted_subscriptions(struct agent *a, struct fota_subscriptions *out,
				     struct fota_error *err)
{
	const char *groups[CLIENT_MAX_GROUPS];
	bool table = a->job.active && a->job.payload_hex[0] != '\0';

	for (int i = 0; i < a->n_groups; i++)
		groups[i] = a->groups[i];
	return fota_subscriptions_device(a->cfg->prefix, a->cfg->id, groups, (size_t)a->n_groups,
					 table ? a->job.group : NULL,
					 table ? a->job.payload_hex : NULL, out, err);
}

/* Without the lock (a SUBACK comes on the thread that delivers messages): brings the broker's
 * subscriptions to what the agent needs, when that changed since the last call. A refusal is
 * returned once and tried again only when the set changes (or by the reconnect that follows a
 * broker that closed the connection to refuse). */
static fota_err update_subscriptions(struct agent *a, struct fota_error *err)
{
	struct fota_subscriptions *want = malloc(sizeof(*want));
	const char *list[FOTA_SUBSCRIPTIONS_MAX];
	fota_err rc;

	if (want == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&a->lock);
	rc = wanted_subscriptions(a, want, err);
	pthread_mutex_unlock(&a->lock);
	if (rc == FOTA_OK &&
	    (want->n != a->subscribed.n ||
	     memcmp(want->filter, a->subscribed.filter, want->n * sizeof(want->filter[0])) != 0)) {
		fota_subscriptions_list(want, list);
		rc = fota_mqtt_subscribe_exactly(a->mqtt, list, want->n, 1, err);
		a->subscribed = *want;
	}
	free(want);
	return rc;
}

fota_err agent_run(struct agent *a, volatile sig_atomic_t *stop, struct fota_error *err)
{
	unsigned backoff = 500;
	struct fota_error serr = {0};
	char last_serr[sizeof(serr.msg)] = "";
	fota_err rc;

	pthread_mutex_lock(&a->lock);
	restore_outcome(a);
	resolve_probation(a);
	pthread_mutex_unlock(&a->lock);
	/* The first connection is retried here: a gateway may boot before its network. */
	while (!*stop) {
		rc = fota_mqtt_connect(a->mqtt, 15000, err);
		if (rc == FOTA_OK)
			break;
		log_warn("%s; retrying in %u ms", err->msg, backoff);
		for (unsigned waited = 0; waited < backoff && !*stop; waited += 100) {
			bool due;

			sleep_ms(100);
			pthread_mutex_lock(&a->lock);
			due = reboot_due(a, false); /* a rollback must not wait for the network */
			pthread_mutex_unlock(&a->lock);
			if (due)
				run_reboot(a);
		}
		backoff = backoff < 30000 ? backoff * 2 : 30000;
	}
	if (*stop)
		return FOTA_OK;
	/* A broker that enforces group membership refuses the groups of a configuration the
	 * orchestrator has since changed: not fatal, the retained assignment says which are ours
	 * and the main loop subscribes again. */
	if (update_subscriptions(a, &serr) != FOTA_OK) {
		log_warn("subscriptions: %s", serr.msg);
		snprintf(last_serr, sizeof(last_serr), "%s", serr.msg);
	}
	pthread_mutex_lock(&a->lock);
	log_groups(a, "connected as %s", a->cfg->id);
	pthread_mutex_unlock(&a->lock);

	while (!*stop) {
		char *request = NULL;
		int64_t now;
		bool due;

		pthread_mutex_lock(&a->lock);
		/* Returns at once for a signal sent while this loop published or subscribed. */
		wakeup_wait(&a->wake, &a->lock, 100);
		now = fota_time_mono_ms();
		if (a->resend_again_ms && now >= a->resend_again_ms) {
			a->resend_again_ms = 0;
			a->resend_status = true;
		}
		if (a->resend_status) {
			struct fota_status s;

			a->resend_status = false;
			snapshot(a, &s);
			reporter_push(&a->reporter, &s);
			a->status_queued = true;
		}
		apply_assignment(a);
		drive_deferred(a);
		drive_job(a, now);
		check_stall(a, now);
		next_request(a, now, &request);
		pthread_mutex_unlock(&a->lock);

		if (request) {
			struct fota_error perr = {0};

			if (fota_mqtt_publish(a->mqtt, a->request_topic, request, strlen(request),
					      1, false, 2000, &perr) != FOTA_OK)
				log_warn("repair request not sent: %s", perr.msg);
			free(request);
		}
		/* Subscribe before reporting: "downloading" starts the broadcast, and a chunk the
		 * broker routes before the chunk topic's SUBACK is lost to this device. */
		if (update_subscriptions(a, &serr) != FOTA_OK && strcmp(serr.msg, last_serr) != 0) {
			log_warn("subscriptions: %s", serr.msg);
			snprintf(last_serr, sizeof(last_serr), "%s", serr.msg);
		}
		reporter_flush(&a->reporter, a->mqtt);
		pthread_mutex_lock(&a->lock);
		report_outcome_done(a);
		due = reboot_due(a, true);
		pthread_mutex_unlock(&a->lock);
		if (due) {
			struct fota_error ferr = {0};

			/* An empty queue means handed to Paho, not yet at the broker: the status
			 * must be acknowledged (so retained there) before the device goes down. */
			if (fota_mqtt_flush(a->mqtt, REBOOT_FLUSH_MS, &ferr) != FOTA_OK)
				log_warn("rebooting with the last status unconfirmed: %s",
					 ferr.msg);
			run_reboot(a);
		}
		join_workers(a, false);
	}
	/* An install under way ends first (a script is not cut short by a stop request). */
	join_workers(a, true);
	/* Leave the checkpoint durable so the next start resumes exactly here. */
	pthread_mutex_lock(&a->lock);
	if (a->job.xfer)
		transfer_sync(a->job.xfer, NULL);
	pthread_mutex_unlock(&a->lock);
	return FOTA_OK;
}
