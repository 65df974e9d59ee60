/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the rollout model (stages, admission, thresholds) and
 * the engine that runs campaigns from the store and publishes their directives. */
#ifndef ORCH_CAMPAIGN_H
#define ORCH_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/directive.h"
#include "fota/error.h"
#include "fota/signer.h"
#include "fota/status.h"

#include "broadcaster.h"
#include "config.h"
#include "image_store.h"
#include "publisher.h"
#include "store.h"

/* Directives of a campaign stay valid this long; every change re-signs them. */
#define ORCH_CAMPAIGN_DIRECTIVE_DAYS 30

/* --- the rollout model: pure functions, unit-tested ---------------------------------------- */

/* "dev-1,dev-2" / "50%" / "dev-1,dev-2+10%", then optional ":success=P" and ":wait=S".
 * Defaults: success 100, wait 0. out->devices is malloc'd (orch_campaign_clear frees it). */
fota_err orch_stage_parse(const char *spec, struct orch_cstage *out, struct fota_error *err);

/* "90" or "90s", "10m", "12h", "7d": seconds, at most max. */
fota_err orch_duration_parse(const char *what, const char *s, uint32_t max, uint32_t *out,
			     struct fota_error *err);

/* "2" (devices) or "10%" (of admitted devices) into c->fail_count / c->fail_pct. */
fota_err orch_fail_threshold_parse(const char *s, struct orch_campaign *c, struct fota_error *err);

/* Stage order, limits, device ids, thresholds, window. */
fota_err orch_campaign_validate(const struct orch_campaign *c, struct fota_error *err);

/* The largest percentage of stages 0..stage: stages only ever widen admission. */
uint32_t orch_campaign_stage_percent(const struct orch_campaign *c, uint32_t stage);
/* True if device is listed explicitly by one of stages 0..stage. */
bool orch_campaign_lists(const struct orch_campaign *c, uint32_t stage, const char *device);
/* What a directive for (stage, percent) admits; the same rule as fota_directive_admits. */
bool orch_campaign_admits(const struct orch_campaign *c, uint32_t stage, uint32_t percent,
			  const char *device);

/* Devices of a campaign by what they last reported. */
struct orch_counts {
	uint32_t admitted;
	uint32_t by_state[FOTA_STATE__COUNT];
	uint32_t reported; /* admitted devices that reported anything for this campaign */
	uint32_t confirmed;
	uint32_t failed;       /* failed or rolled back, ever */
	uint32_t failed_now;   /* failed or rolled back since the last resume: what pauses */
	uint32_t in_flight;    /* admitted, not final */
	uint32_t aborted;      /* reported the abort (dropped their staged data) */
	uint32_t need_image;   /* admitted, not yet holding the image: what a broadcast is for */
	uint32_t timed_out;    /* silent past the device timeout (in failed or skipped too) */
	uint32_t skipped;      /* timed out with timeout_skips: out of the success ratio */
	uint32_t incompatible; /* ruled out by the registry: not in admitted */
};

/* True if d, by its last report, still has to receive the image: never reported, idle,
 * downloading with chunks missing, or failed before the last resume (it retries). */
bool orch_cdev_needs_image(const struct orch_campaign *c, const struct orch_cdev *d);

void orch_counts_add(struct orch_counts *k, const struct orch_campaign *c,
		     const struct orch_cdev *d);

/* True once d needs nothing more from the engine: confirmed, failed, aborted or marked. */
bool orch_cdev_settled(const struct orch_cdev *d);
/* When d was last heard of: its last report, its admission or the last resume if later. */
int64_t orch_cdev_last_heard(const struct orch_campaign *c, const struct orch_cdev *d);
/* True if d, not settled, has been silent for the campaign's device timeout at now. */
bool orch_cdev_timed_out(const struct orch_campaign *c, const struct orch_cdev *d, int64_t now);

/* False (with why) if a device registered with model and hw cannot take c's image; an
 * empty registry field rules nothing out. */
bool orch_campaign_compatible(const struct orch_campaign *c, const char *model, const char *hw,
			      char *why, size_t size);

enum orch_verdict {
	ORCH_VERDICT_HOLD = 0, /* keep going */
	ORCH_VERDICT_PAUSE,    /* the failure threshold is reached */
	ORCH_VERDICT_MET,      /* success threshold met, soaking for the stage's wait */
	ORCH_VERDICT_ADVANCE,  /* on to the next stage */
	ORCH_VERDICT_COMPLETE, /* last stage met and every admitted device is final */
};

const char *orch_verdict_name(enum orch_verdict v);

/* The decision for a running campaign. fully_admitted: the stage's whole percentage is out
 * (a rate limit may still be holding some back). Never mutates c. */
enum orch_verdict orch_campaign_judge(const struct orch_campaign *c, const struct orch_counts *k,
				      bool fully_admitted, int64_t now);

/* The directive that expresses c now (caller clears it). */
fota_err orch_campaign_directive(const struct orch_campaign *c, const struct orch_image *img,
				 int64_t now, struct fota_directive *d, struct fota_error *err);

/* --- operator commands: the CLI and tests call these ---------------------------------------- */

/* verb "start", "pause", "resume" or "abort" on campaign id at now, in one transaction with
 * its audit event. FOTA_ERR_STATE (with why) if the campaign's state does not allow it. */
fota_err orch_campaign_command(struct orch_store *st, const char *id, const char *verb, int64_t now,
			       enum orch_cstate *from, enum orch_cstate *to,
			       struct fota_error *err);
/* orch_campaign_command naming who asked: actor (e.g. "operator CN (role)") replaces
 * "command" in the reason ("paused by ...") and the event detail ("running -> paused by
 * ..."); NULL or "" is "command". */
fota_err orch_campaign_command_by(struct orch_store *st, const char *id, const char *verb,
				  const char *actor, int64_t now, enum orch_cstate *from,
				  enum orch_cstate *to, struct fota_error *err);

/* Whether c can do anything, before it is created: its group has registered members and
 * not all of them are ruled out by the image's model and hardware revisions; every listed
 * device is registered, in the group and not ruled out. FOTA_ERR_NOT_FOUND (unknown group or
 * device), FOTA_ERR_FIELD (listed device outside the group) or FOTA_ERR_INCOMPATIBLE, with
 * the reason. *members and *incompatible count the group's registered devices. */
fota_err orch_campaign_preflight(struct orch_store *st, const struct orch_campaign *c,
				 uint32_t *members, uint32_t *incompatible, struct fota_error *err);

/* What orch_campaign_create found besides its result. */
struct orch_campaign_created {
	bool refused; /* the preflight refused it: err says why; force would create it */
	bool forced;  /* created although the preflight refused it, for this reason: */
	char preflight[FOTA_ERROR_MSG_MAX];
	uint32_t members;      /* registered devices of the group */
	uint32_t incompatible; /* of them, ruled out by the image's model or hardware */
	/* On refusal, the input at fault where the rule knows it: "id", "image", "group",
	 * "stages"; "" otherwise. */
	char field[16];
};

/* Creates campaign id (draft) from c: the salt defaults to the id, c is validated, takes the
 * image's device requirements (c->image_id may be a unique prefix), passes the preflight
 * (unless force) and is stored with its "created" event (ending "by <actor>" unless actor is
 * NULL or "") in one transaction: on any error
 * nothing is stored. FOTA_ERR_FIELD for a bad campaign, the image's or the preflight's code
 * otherwise (out->refused says which). */
fota_err orch_campaign_create(const struct orch_config *cfg, struct orch_store *st,
			      struct orch_campaign *c, const char *id, bool force,
			      const char *actor, struct orch_campaign_created *out,
			      struct fota_error *err);

/* Re-admits the failed, rolled-back and timed-out devices of a running or paused campaign
 * (device NULL: all of them) and asks for a new directive sequence; each gets a "retry"
 * event. *count says how many. FOTA_ERR_NOT_FOUND if device is not in the campaign,
 * FOTA_ERR_STATE if it neither failed nor timed out or the campaign is not under way. */
fota_err orch_campaign_retry(struct orch_store *st, const char *id, const char *device, int64_t now,
			     uint32_t *count, struct fota_error *err);
/* orch_campaign_retry naming who asked: the "retry" events end "by <actor>" (unless actor is
 * NULL or ""). */
fota_err orch_campaign_retry_by(struct orch_store *st, const char *id, const char *device,
				const char *actor, int64_t now, uint32_t *count,
				struct fota_error *err);

/* --- the engine ----------------------------------------------------------------------------- */

struct orch_engine;

struct orch_engine_stats {
	uint64_t statuses;   /* status messages ingested into the store */
	uint64_t dropped;    /* queue full or unparsable */
	uint64_t directives; /* directives published */
	int64_t busy_ms;     /* time spent writing statuses to the store */
	uint64_t peak_per_s; /* most statuses ingested within one second */
	uint64_t queued;     /* statuses waiting to be written, when read */
	int64_t oldest_ms;   /* how long the oldest of them has waited; 0 when none */
};

/* store, pub (may be NULL: no publishing) and signer (may be NULL) must outlive the engine. */
fota_err orch_engine_new(const struct orch_config *cfg, struct orch_store *store,
			 const struct orch_publisher *pub, struct fota_signer *signer,
			 struct orch_engine **out, struct fota_error *err);
void orch_engine_free(struct orch_engine *e); /* NULL is a no-op */

/* From the MQTT thread: copies and queues; never touches the store. */
void orch_engine_submit_status(struct orch_engine *e, const char *device, const uint8_t *payload,
			       size_t len);

/* From the engine's thread: writes queued statuses (one transaction), then advances every
 * active campaign and publishes what changed. */
void orch_engine_run_once(struct orch_engine *e);

/* One status into the store at time now (the engine's thread or tests); groups is "" or
 * comma-joined. */
fota_err orch_engine_ingest(struct orch_engine *e, const struct fota_status *s, const char *groups,
			    int64_t now, struct fota_error *err);

/* Advances one campaign now (tests call this directly). */
fota_err orch_engine_step(struct orch_engine *e, const char *campaign_id, int64_t now,
			  struct fota_error *err);

void orch_engine_get_stats(struct orch_engine *e, struct orch_engine_stats *out);

/* From then on a published directive that admits devices still needing the image asks b
 * for a broadcast (docs/campaigns.md, "Delivery"), and a campaign that stops running stops
 * its broadcast. b (NULL: repair only) must outlive the engine's use of it. */
void orch_engine_set_broadcaster(struct orch_engine *e, struct orch_broadcaster *b);
struct orch_assigner;
/* With an assigner, each step sends the devices a running campaign admits their assignment
 * when they do not yet follow their registry groups (orch_assign_needed). */
void orch_engine_set_assigner(struct orch_engine *e, struct orch_assigner *a);

/* Records finished broadcasts as campaign events ("broadcast") and the progress of running
 * ones (broadcast_store.h); run_once calls it. */
void orch_engine_record_broadcasts(struct orch_engine *e);

/* Broadcasts recorded for a campaign: all of them, and those that did not finish. */
fota_err orch_campaign_broadcasts(struct orch_store *s, const char *campaign, uint32_t *total,
				  uint32_t *incomplete, struct fota_error *err);

/* Appends a campaign-level event; used by the CLI as well. */
fota_err orch_campaign_event(struct orch_store *s, const char *campaign, const char *device,
			     const char *kind, const char *result, struct fota_error *err,
			     const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* orch_campaign_event that also gives the event's store sequence. */
fota_err orch_campaign_event_seq(struct orch_store *s, const char *campaign, const char *device,
				 const char *kind, const char *result, int64_t *seq,
				 struct fota_error *err, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

#endif
