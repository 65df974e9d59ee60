/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's one decision on a directive: does it act, and how. Every device (the agent and
 * the fleet simulator) calls fota_acceptance_judge(), so the rules live in one place.
 *
 * Pure: the outcome depends only on the bytes, the trust store and the device state passed
 * in (clock included); nothing is written, logged or published. The caller applies it.
 */
#ifndef FOTA_ACCEPTANCE_H
#define FOTA_ACCEPTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/directive.h"
#include "fota/error.h"
#include "fota/manifest.h"
#include "fota/status.h"
#include "fota/trust.h"
#include "fota/tzone.h"

enum fota_verdict {
	FOTA_VERDICT_IGNORE = 0,   /* nothing to do: empty, replay, redelivery, busy */
	FOTA_VERDICT_NOT_ADMITTED, /* the group's current directive, but not for this device */
	FOTA_VERDICT_UNVERIFIED,   /* does not verify: belongs to nobody, count it, touch nothing */
	FOTA_VERDICT_REFUSE,	   /* authentic but refused: report failed with result and reason */
	FOTA_VERDICT_ABORT,	   /* campaign aborted: drop the job of that campaign */
	FOTA_VERDICT_HOLD,	   /* paused: the group's running job holds, nothing new starts */
	FOTA_VERDICT_DEFER,	   /* window not open yet: start nothing, judge again at retry_at */
	FOTA_VERDICT_INSTALLED,	   /* the named image is the one installed */
	FOTA_VERDICT_CONTINUE,	   /* the named image is the running job's: carry on */
	FOTA_VERDICT_START,	   /* start a job for the manifest (ending any other job) */
	FOTA_VERDICT__COUNT
};

/* Where the directive window stands at a given time. */
enum fota_window {
	FOTA_WINDOW_OPEN = 0,
	FOTA_WINDOW_NOT_YET, /* opens later: *opens_at says when */
	FOTA_WINDOW_CLOSED,  /* closed for good */
};

/* What the device knows about itself and its work when it judges a directive. */
struct fota_acceptance_device {
	const char *id;	   /* device id, for admission */
	const char *group; /* the group whose directive topic carried the document */
	/* Identity and capabilities. */
	const char *vendor, *model, *hw_revision;
	const char *install_method; /* "file", "ab-slot" or "script" */
	bool zstd;		    /* can take zstd-compressed images */
	bool delta;		    /* can take delta images (from_sha256) */
	/* What is installed. */
	const char *current_version;	 /* "" or NULL: nothing installed yet */
	uint64_t installed_sequence;	 /* 0: factory image */
	const uint8_t *installed_sha256; /* FOTA_SHA256_LEN bytes; NULL: factory image */
	/* The group's replay state: highest directive recorded, and whether it was settled. */
	uint64_t seen_seq;
	bool settled;
	/* The running job, if any. */
	bool job_active;
	uint64_t job_seq;	   /* directive_seq the job runs under */
	const char *job_group;	   /* group of the job's directive */
	const uint8_t *job_sha256; /* FOTA_SHA256_LEN bytes: the job's image */
	/* A switch, probation or reboot is under way: directives wait for the next start. */
	bool busy;
	int64_t now; /* Unix seconds */
	/* Looks up the zone of a directive's daily window: fota_tz_cache_get with a
	 * struct fota_tz_cache of the caller's as zone_ctx. NULL, or a NULL zone: the device
	 * does not know the zone, and refuses the directive. */
	const struct fota_tz *(*zone)(void *zone_ctx, const char *name);
	void *zone_ctx;
};

struct fota_acceptance {
	enum fota_verdict verdict;
	/* REFUSE and UNVERIFIED: the error code, result and a precise reason; other verdicts
	 * leave a short explanation in reason (for the log). */
	fota_err code;
	enum fota_result result;
	char reason[FOTA_ERROR_MSG_MAX];
	/* The document is accepted as the group's current directive: record its directive_seq
	 * (and settled) for the group. False before that point (unverified, malformed, wrong
	 * group, replay). */
	bool record;
	bool settle;	  /* record it as settled: it is not acted on again */
	int64_t retry_at; /* DEFER: when the window opens */
	/* Filled as far as the checks got (has_*); the caller must fota_acceptance_clear(). */
	bool has_directive, has_manifest;
	struct fota_directive directive;
	struct fota_manifest manifest;
};

/*
 * Judges one message from the group's directive topic, in this order (docs/manifest.md,
 * "Acting on a directive"): size and signature (orchestrator role), parse, group, sequence,
 * busy, state (aborted, paused), admission, window, expiry, manifest signature (release
 * role), manifest digest and parse, already installed, device checks (expiry, anti-rollback,
 * target, current version), compression, install method. The first check that decides gives
 * the verdict. An empty message (a cleared retained directive) is IGNORE.
 */
void fota_acceptance_judge(const struct fota_trust *trust, const uint8_t *jws, size_t len,
			   const struct fota_acceptance_device *dev, struct fota_acceptance *out);

/* Frees what judge allocated; out may be NULL or already cleared. */
void fota_acceptance_clear(struct fota_acceptance *out);

/* Where the directive's window stands at now; *opens_at (may be NULL) is set for NOT_YET.
 * The one place that reads the window, so a new kind of window is one more case here.
 * Both the absolute window (not_before, not_after) and the daily one (in zone tz, which the
 * caller looked up; ignored without a daily window) must be open. */
enum fota_window fota_acceptance_window(const struct fota_directive *d, const struct fota_tz *tz,
					int64_t now, int64_t *opens_at);

const char *fota_verdict_name(enum fota_verdict v);

#endif
