/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the store interface (devices, campaigns, audit events). */
#ifndef ORCH_STORE_H
#define ORCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/daily_window.h"
#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"
#include "fota/status.h"

/*
 * Everything the orchestrator must remember across restarts goes through this interface, never
 * through file-scope state, so a second backend (PostgreSQL, shared by several orchestrator
 * instances) is one more `struct orch_store_ops` and one more URI scheme in orch_store_open().
 * Calls on one store handle are serialised by the caller (one handle per thread).
 */

#define ORCH_MAX_STAGES 16
/* Comma-joined device ids of one stage ("dev-1,dev-2"); bounded by the directive's list. */
#define ORCH_MAX_STAGE_DEVICES_LEN (FOTA_MAX_ADMIT_DEVICES * (FOTA_MAX_SEGMENT_LEN + 1))
#define ORCH_MAX_EVENT_DETAIL 256
/* A device's certificate as PEM, with its terminating NUL: one certificate, never a chain. */
#define ORCH_MAX_DEVICE_CERT_PEM 8192

enum orch_cstate {
	ORCH_CAMPAIGN_DRAFT = 0, /* created, not started: nothing published */
	ORCH_CAMPAIGN_RUNNING,
	ORCH_CAMPAIGN_PAUSED, /* by command or by the failure threshold */
	ORCH_CAMPAIGN_ABORTED,
	ORCH_CAMPAIGN_COMPLETED,
	ORCH_CAMPAIGN__COUNT
};

const char *orch_cstate_name(enum orch_cstate s);
bool orch_cstate_parse(const char *name, enum orch_cstate *out);

/* One stage: explicit devices and/or a percentage of the group, and when it may advance. */
struct orch_cstage {
	char *devices;	      /* owned, comma-joined ids, NULL or "" for none */
	uint32_t percent;     /* 0..100 of the group, deterministic by admission bucket */
	uint32_t success_pct; /* confirmed / admitted needed to advance, 0..100 */
	uint32_t wait_s;      /* soak time after the success threshold was met */
};

struct orch_campaign {
	char id[FOTA_MAX_NAME_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char salt[FOTA_MAX_NAME_LEN + 1];
	enum orch_cstate state;
	char reason[FOTA_MAX_REASON_LEN + 1]; /* why paused/aborted, "" otherwise */
	uint32_t stage;			      /* index of the current stage */
	uint32_t n_stages;
	struct orch_cstage stages[ORCH_MAX_STAGES];
	uint32_t fail_count;	/* pause at this many failures (0: no count threshold) */
	uint32_t fail_pct;	/* pause at this % of admitted failing (0: none) */
	uint32_t admit_per_min; /* new admissions per minute (0: unlimited) */
	int64_t not_before;	/* window; 0 = open */
	int64_t not_after;
	struct fota_daily_window daily; /* .set false: none */
	/* An admitted device silent this long is timed out (0: never); it then counts as a
	 * failure, or with timeout_skips as skipped (out of the stage's success ratio). */
	uint32_t device_timeout_s;
	bool timeout_skips;
	/* What the image's manifest requires, so a registry entry can rule a device out:
	 * model ("" any) and comma-joined hardware revisions ("" any). */
	char model[FOTA_MAX_NAME_LEN + 1];
	char hw_revisions[FOTA_MAX_LIST_ITEMS * (FOTA_MAX_VERSION_LEN + 1)];
	uint32_t cur_percent;	/* percentage the published directive admits */
	uint64_t directive_seq; /* of the last directive published */
	uint64_t want_rev;	/* bumped whenever the directive must change */
	uint64_t pub_rev;	/* want_rev of the last directive published */
	int64_t created, started, stage_started, stage_met, resumed, finished;
	/* Store sequence (orch_event.seq) of the start or last resume: a device report with a
	 * higher sequence came after it, whatever the clock says. */
	int64_t resumed_seq;
};

/* Frees the stage device lists; the struct may be reused after. */
void orch_campaign_clear(struct orch_campaign *c);

/* What the engine concluded about a device, beyond what it reported. */
enum orch_cmark {
	ORCH_CMARK_NONE = 0,
	ORCH_CMARK_TIMED_OUT,	 /* silent past the campaign's device timeout */
	ORCH_CMARK_INCOMPATIBLE, /* its registry entry rules the image out: never admitted */
	ORCH_CMARK__COUNT
};

const char *orch_cmark_name(enum orch_cmark m);
bool orch_cmark_parse(const char *name, enum orch_cmark *out);

/* A device's progress in one campaign. */
struct orch_cdev {
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	uint32_t stage;	  /* stage that admitted it */
	int64_t admitted; /* Unix seconds */
	bool reported;	  /* a status naming the campaign arrived */
	enum fota_state state;
	enum fota_result result;
	char reason[FOTA_MAX_REASON_LEN + 1];
	uint32_t chunks_present, chunk_count;
	int64_t updated;   /* Unix seconds of the last change (the engine's clock) */
	int64_t seq;	   /* store sequence of the last report or mark: ordered against resumes */
	int64_t device_ts; /* the device's own timestamp of its last report */
	enum orch_cmark mark;
};

/* A comma-joined list of groups with its NUL. */
#define ORCH_GROUPS_LEN (FOTA_MAX_LIST_ITEMS * (FOTA_MAX_SEGMENT_LEN + 1))

struct orch_device {
	char id[FOTA_MAX_SEGMENT_LEN + 1];
	char model[FOTA_MAX_NAME_LEN + 1];
	char hw[FOTA_MAX_VERSION_LEN + 1];
	char version[FOTA_MAX_VERSION_LEN + 1];
	char groups[ORCH_GROUPS_LEN]; /* comma-joined */
	int64_t last_seen;	      /* 0: never */
	bool online;
	/* The groups the device's last status said it follows ("" before any). */
	char reported[ORCH_GROUPS_LEN];
	/* The last assignment published for it: groups, sequence, when, until when (0: none). */
	char assigned[ORCH_GROUPS_LEN];
	uint64_t assignment_seq;
	int64_t assignment_published, assignment_expires;
};

/* One audit line: campaign-level (device "") or about one device. */
struct orch_event {
	int64_t seq; /* assigned by the store, rising */
	int64_t ts;
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	char kind[32]; /* created, started, stage, directive, admitted, paused, ... or a state */
	char result[32];
	char detail[ORCH_MAX_EVENT_DETAIL];
};

/* The broadcast of one image to one group (at most one runs or waits at a time), as far as
 * the broker acknowledged it: what a restarted daemon resumes. */
struct orch_bcast_rec {
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char state[16];	      /* "active" (queued or running), or how it ended: success,
			       * stopped, failed */
	uint32_t devices;     /* how many it runs for */
	uint32_t chunk_count; /* of the image; 0 until it started */
	uint32_t next_chunk;  /* every chunk below it was acknowledged by the broker */
	int64_t updated;      /* Unix seconds, filled in by the store when 0 */
};

#define ORCH_BCAST_ACTIVE "active"

/* The directive last published to a group (what `status --group` compares devices against). */
struct orch_group_pub {
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint64_t directive_seq;
	int64_t published; /* Unix seconds */
};

/* One device status change as the orchestrator received it: the fleet's audit trail. States
 * and results are kept as the names the device sent. */
struct orch_audit {
	int64_t seq; /* assigned by the store, rising */
	int64_t ts;  /* Unix seconds of reception */
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	char state[24];
	char result[24];
	char reason[FOTA_MAX_REASON_LEN + 1];
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	char version[FOTA_MAX_VERSION_LEN + 1];
	int64_t device_ts; /* the device's own timestamp: a replayed retained status repeats it */
};

typedef int (*orch_device_fn)(void *ctx, const struct orch_device *d);
typedef int (*orch_bcast_fn)(void *ctx, const struct orch_bcast_rec *b);
typedef int (*orch_cdev_fn)(void *ctx, const struct orch_cdev *d);
typedef int (*orch_event_fn)(void *ctx, const struct orch_event *e);
typedef int (*orch_name_fn)(void *ctx, const char *name);
typedef int (*orch_audit_fn)(void *ctx, const struct orch_audit *a);

struct orch_store;

/* A backend: every function returns FOTA_OK or fills err. "not found" is FOTA_ERR_NOT_FOUND. */
struct orch_store_ops {
	const char *name;
	void (*close)(struct orch_store *s);
	fota_err (*begin)(struct orch_store *s, struct fota_error *err);
	/* Survives a crash of the process; a power cut may take the last commits back. */
	fota_err (*commit)(struct orch_store *s, struct fota_error *err);
	/* Commits like commit, and returns only once the transaction, and every one committed
	 * before it, is on stable storage: a power cut cannot take it back. For a transaction
	 * that something published next relies on (a sequence number a message carries). A
	 * transaction that handed out a sequence (directive_seq_next) is committed this way
	 * whichever of the two ends it. */
	fota_err (*commit_durable)(struct orch_store *s, struct fota_error *err);
	void (*rollback)(struct orch_store *s);
	int (*schema_version)(struct orch_store *s);

	/* Devices: groups NULL keeps the stored groups; reported "" keeps the stored ones; the
	 * assignment record is left alone. */
	fota_err (*device_put)(struct orch_store *s, const struct orch_device *d, bool set_groups,
			       struct fota_error *err);
	fota_err (*device_get)(struct orch_store *s, const char *id, struct orch_device *out,
			       struct fota_error *err);
	/* group NULL: every device; sorted by id. */
	fota_err (*device_each)(struct orch_store *s, const char *group, orch_device_fn fn,
				void *ctx, struct fota_error *err);
	fota_err (*group_each)(struct orch_store *s, orch_name_fn fn, void *ctx,
			       struct fota_error *err);
	/* The certificate (PEM, checked by the caller) of registered device id, which the
	 * orchestrator wraps content keys to; "" removes it. FOTA_ERR_NOT_FOUND if id is not
	 * registered. */
	fota_err (*device_cert_put)(struct orch_store *s, const char *id, const char *pem,
				    struct fota_error *err);
	/* Copies the stored certificate into pem (NUL-terminated, cap bytes at most);
	 * FOTA_ERR_NOT_FOUND, saying which, if the device or its certificate is absent. */
	fota_err (*device_cert_get)(struct orch_store *s, const char *id, char *pem, size_t cap,
				    struct fota_error *err);
	/* Records the assignment published for registered device id (the assigned* fields of
	 * struct orch_device); FOTA_ERR_NOT_FOUND if id is not registered. */
	fota_err (*device_assignment_put)(struct orch_store *s, const char *id, const char *groups,
					  uint64_t seq, int64_t published, int64_t expires,
					  struct fota_error *err);

	fota_err (*image_put)(struct orch_store *s, const char *id, const char *name,
			      const char *version, uint64_t size, struct fota_error *err);

	/* Campaigns: insert (create) or update (put) the whole row with its stages. */
	fota_err (*campaign_create)(struct orch_store *s, const struct orch_campaign *c,
				    struct fota_error *err);
	fota_err (*campaign_put)(struct orch_store *s, const struct orch_campaign *c,
				 struct fota_error *err);
	fota_err (*campaign_get)(struct orch_store *s, const char *id, struct orch_campaign *out,
				 struct fota_error *err);
	/* active_only: running and paused. Sorted by creation. */
	fota_err (*campaign_each)(struct orch_store *s, bool active_only, orch_name_fn fn,
				  void *ctx, struct fota_error *err);

	/* Per-device campaign state. cdev_admit inserts only if absent; *inserted says which. */
	fota_err (*cdev_admit)(struct orch_store *s, const char *campaign, const char *device,
			       uint32_t stage, int64_t now, bool *inserted, struct fota_error *err);
	fota_err (*cdev_put)(struct orch_store *s, const char *campaign, const struct orch_cdev *d,
			     struct fota_error *err);
	fota_err (*cdev_get)(struct orch_store *s, const char *campaign, const char *device,
			     struct orch_cdev *out, struct fota_error *err);
	fota_err (*cdev_each)(struct orch_store *s, const char *campaign, orch_cdev_fn fn,
			      void *ctx, struct fota_error *err);

	/* Append-only; e->seq and (if 0) e->ts are filled in. */
	fota_err (*event_append)(struct orch_store *s, struct orch_event *e,
				 struct fota_error *err);
	/* campaign and/or device NULL: any. In append order. */
	fota_err (*event_each)(struct orch_store *s, const char *campaign, const char *device,
			       orch_event_fn fn, void *ctx, struct fota_error *err);

	/* Broadcast progress: inserts or replaces the row of b's group and image. */
	fota_err (*bcast_put)(struct orch_store *s, const struct orch_bcast_rec *b,
			      struct fota_error *err);
	/* active_only: state ORCH_BCAST_ACTIVE. Sorted by group, then image. fn must not write
	 * to the store. */
	fota_err (*bcast_each)(struct orch_store *s, bool active_only, orch_bcast_fn fn, void *ctx,
			       struct fota_error *err);

	/* Raises the group's directive sequence by one and returns it in *seq (1 for a new
	 * group). It is durable (commit_durable) before anything can carry it: outside a
	 * transaction when the call returns, inside one when the transaction commits. So a
	 * crash or a power cut can never make two messages share a sequence; concurrent
	 * callers on one database get distinct, rising values. */
	fota_err (*directive_seq_next)(struct orch_store *s, const char *group, uint64_t *seq,
				       struct fota_error *err);
	/* Raises the group's last sequence to at least last (importing older state). */
	fota_err (*directive_seq_raise)(struct orch_store *s, const char *group, uint64_t last,
					struct fota_error *err);
	/* Inserts or replaces the record of p->group. */
	fota_err (*group_pub_put)(struct orch_store *s, const struct orch_group_pub *p,
				  struct fota_error *err);
	/* FOTA_ERR_NOT_FOUND if nothing was published to the group. */
	fota_err (*group_pub_get)(struct orch_store *s, const char *group,
				  struct orch_group_pub *out, struct fota_error *err);

	/* Append-only audit trail of device statuses; a->seq and (if 0) a->ts are filled in.
	 * Callers batch several appends in one transaction. */
	fota_err (*audit_append)(struct orch_store *s, struct orch_audit *a,
				 struct fota_error *err);
	/* device NULL: every device. In append order. */
	fota_err (*audit_each)(struct orch_store *s, const char *device, orch_audit_fn fn,
			       void *ctx, struct fota_error *err);

	/* Ownership among orchestrator instances sharing the database: takes the named lock for
	 * this handle if no other handle holds it (*got), without waiting. It is held until
	 * unlock or until the handle's connection ends (a killed instance loses its locks, so
	 * another takes its work over). On a backend one instance owns (SQLite, behind serve's
	 * state-directory lock) *got is always true. */
	fota_err (*lock_try)(struct orch_store *s, const char *name, bool *got,
			     struct fota_error *err);
	void (*unlock)(struct orch_store *s, const char *name);
};

struct orch_store {
	const struct orch_store_ops *ops;
};

/* "sqlite:PATH" or a plain path (SQLite), or a libpq URI "postgresql://..." (PostgreSQL).
 * Creates and migrates the schema. The backend is
 * chosen by the URI's scheme from a table in store.c. */
fota_err orch_store_open(const char *uri, struct orch_store **out, struct fota_error *err);

/* Imports what older versions kept in files under state_dir into s, inside the caller's
 * transaction: groups/<group>/directive_seq, groups/<group>/campaign.json and events.jsonl
 * (store_import.c). The files are left in place and never read again. */
fota_err orch_store_import_files(struct orch_store *s, const char *state_dir,
				 struct fota_error *err);
void orch_store_close(struct orch_store *s); /* NULL is a no-op */

/* Copies of the devices of campaign that keep(ctx, d) picks, in the store's order, so the caller
 * may change their rows after the walk (the rows change under a walk otherwise). *out: caller
 * frees, NULL when *n is 0. FOTA_ERR_NOMEM if they do not fit in memory. */
typedef bool (*orch_cdev_pick_fn)(void *ctx, const struct orch_cdev *d);
fota_err orch_cdev_collect(struct orch_store *s, const char *campaign, orch_cdev_pick_fn keep,
			   void *ctx, struct orch_cdev **out, size_t *n, struct fota_error *err);

/* The store cfg names (--store), else that of the state directory, <state_dir>/ORCH_STORE_FILE,
 * creating both. */
#define ORCH_STORE_FILE "orchestrator.db"
struct orch_config;
fota_err orch_open_store(const struct orch_config *cfg, struct orch_store **out,
			 struct fota_error *err);

/* The SQLite backend (store_sqlite.c). */
fota_err orch_store_sqlite_open(const char *path, struct orch_store **out, struct fota_error *err);
/* Schema version the code migrates to. */
int orch_store_sqlite_latest_version(void);

/* The PostgreSQL backend (store_pg.c): uri is a libpq connection URI. Same schema versions,
 * recorded in the table fota_schema. */
fota_err orch_store_pg_open(const char *uri, struct orch_store **out, struct fota_error *err);
int orch_store_pg_latest_version(void);

#endif
