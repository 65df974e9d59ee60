/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: which column of a table row holds which field of the
 * store's structs, shared by every store backend. */
#ifndef ORCH_STORE_ROWS_H
#define ORCH_STORE_ROWS_H

#include <stdint.h>

#include "store.h"

/*
 * The backends differ in how they read a result column and how they send a parameter; what
 * a column means is the same for all of them, so it is written once here. A backend wraps
 * its current result row in a struct orch_row and its statement's parameters in a struct
 * orch_params; the functions below read or fill them in the order of the *_COLS lists, which
 * the backends put in their SQL so that the order cannot drift from the mapping.
 */

/* The current row of a query's result. Columns are numbered from 0. */
struct orch_row {
	void *ctx;
	/* The column as text, "" for NULL; valid until the row changes. */
	const char *(*text)(void *ctx, int col);
	int64_t (*i64)(void *ctx, int col); /* 0 for NULL */
};

/* The rows of a query's result, one after the other. */
struct orch_cursor {
	/* Called with row.ctx: moves row to the next row; 1 if there is one, 0 at the end,
	 * -1 if reading failed (the backend has the reason). */
	int (*next)(void *ctx);
	struct orch_row row;
};

/* Calls fn with each row's struct until fn returns nonzero (then 0) or the rows end (0);
 * -1 if the cursor failed. */
int orch_rows_device(struct orch_cursor *c, orch_device_fn fn, void *ctx);
int orch_rows_cdev(struct orch_cursor *c, orch_cdev_fn fn, void *ctx);
int orch_rows_event(struct orch_cursor *c, orch_event_fn fn, void *ctx);
int orch_rows_bcast(struct orch_cursor *c, orch_bcast_fn fn, void *ctx);
int orch_rows_audit(struct orch_cursor *c, orch_audit_fn fn, void *ctx);
/* Reads the next row into *out: the cursor's answer (1 read, 0 none, -1 failed). */
int orch_rows_first_device(struct orch_cursor *c, struct orch_device *out);
int orch_rows_first_cdev(struct orch_cursor *c, struct orch_cdev *out);
int orch_rows_first_group_pub(struct orch_cursor *c, struct orch_group_pub *out);

/* A statement's parameters. Parameters are numbered from 0 ($1 or ?1 is 0). A backend may
 * keep a text parameter by pointer until the statement has run: every string passed is the
 * struct's own, static, or in formatted below. */
struct orch_params {
	void *ctx;
	void (*text)(void *ctx, int idx, const char *v); /* NULL is sent as "" */
	void (*i64)(void *ctx, int idx, int64_t v);
	char formatted[FOTA_DAILY_WINDOW_STR_LEN + 1]; /* a campaign's daily window as text */
};

/* Columns in the order orch_row_campaign reads and orch_params_campaign writes them: id is
 * parameter 0 of both the insert and the update (WHERE id = first parameter). */
#define ORCH_CAMPAIGN_COLS                                                                         \
	"id, image_id, grp, salt, state, reason, stage, fail_count, fail_pct, admit_per_min,"      \
	" not_before, not_after, cur_percent, directive_seq, want_rev, pub_rev, created, started," \
	" stage_started, stage_met, resumed, finished, resumed_seq, device_timeout_s,"             \
	" timeout_skips, model, hw_revisions, daily, tz"
#define ORCH_CAMPAIGN_NCOLS 29
#define ORCH_STAGE_COLS "devices, percent, success_pct, wait_s"
/* A stage is written with its campaign and index first. */
#define ORCH_STAGE_INSERT_COLS "campaign, idx, " ORCH_STAGE_COLS
#define ORCH_STAGE_INSERT_NCOLS 6
/* The columns of a device row but its groups, which each backend aggregates its own way
 * (column 6). */
#define ORCH_DEVICE_COLS "d.id, d.model, d.hw, d.version, d.last_seen, d.online"
#define ORCH_DEVICE_INSERT_COLS "id, model, hw, version, last_seen, online, reported_groups"
#define ORCH_DEVICE_INSERT_NCOLS 7
/* After the groups column, which each backend aggregates in its own dialect. */
#define ORCH_DEVICE_ASSIGNMENT_COLS                                                                \
	"d.reported_groups, d.assigned_groups, d.assignment_seq, d.assignment_published,"          \
	" d.assignment_expires"
/* Without campaign, which every query names in its WHERE clause (parameter 0 of a put). */
#define ORCH_CDEV_COLS                                                                             \
	"device, stage, admitted, reported, state, result, reason, chunks_present, chunk_count,"   \
	" updated, seq, device_ts, mark"
#define ORCH_CDEV_NPARAMS 14 /* the campaign, then ORCH_CDEV_COLS */
/* seq is assigned by the database: selected, never inserted. */
#define ORCH_EVENT_INSERT_COLS "ts, campaign, device, kind, result, detail"
#define ORCH_EVENT_COLS "seq, " ORCH_EVENT_INSERT_COLS
#define ORCH_EVENT_INSERT_NCOLS 6
#define ORCH_BCAST_COLS "grp, image_id, campaign, state, devices, chunk_count, next_chunk, updated"
#define ORCH_BCAST_NCOLS 8
#define ORCH_GROUP_PUB_COLS "grp, campaign, image_id, directive_seq, published"
#define ORCH_GROUP_PUB_NCOLS 5
/* seq is assigned by the database: selected, never inserted. */
#define ORCH_AUDIT_INSERT_COLS                                                                     \
	"ts, device, state, result, reason, campaign, image_id, version, device_ts"
#define ORCH_AUDIT_COLS "seq, " ORCH_AUDIT_INSERT_COLS
#define ORCH_AUDIT_INSERT_NCOLS 9

/* Readers: each clears *out first. orch_row_campaign leaves the stages empty. */
void orch_row_device(const struct orch_row *r, struct orch_device *out);
void orch_row_campaign(const struct orch_row *r, struct orch_campaign *out);
/* One stage row; FOTA_ERR_NOMEM (err filled) if its device list cannot be copied. */
fota_err orch_row_stage(const struct orch_row *r, struct orch_cstage *out, struct fota_error *err);
void orch_row_cdev(const struct orch_row *r, struct orch_cdev *out);
void orch_row_event(const struct orch_row *r, struct orch_event *out);
void orch_row_bcast(const struct orch_row *r, struct orch_bcast_rec *out);
void orch_row_group_pub(const struct orch_row *r, struct orch_group_pub *out);
void orch_row_audit(const struct orch_row *r, struct orch_audit *out);

/* The name after p in a comma-joined group list (orch_device.groups) into g; returns where
 * the next one starts, NULL at the end. Empty and over-long names are passed over. */
const char *orch_group_list_next(const char *p, char g[FOTA_MAX_SEGMENT_LEN + 1]);

/* True when the comma-joined list (may be NULL) holds the len bytes at name as one of its
 * names: the membership test of group, device and revision lists. */
bool orch_list_has(const char *list, const char *name, size_t len);

/* Writers, ORCH_*_NCOLS parameters each. */
void orch_params_device(struct orch_params *p, const struct orch_device *d);
/* A published assignment: the device id (parameter 0, WHERE id = first parameter), then
 * assigned_groups, assignment_seq, assignment_published, assignment_expires. */
void orch_params_assignment(struct orch_params *p, const char *id, const char *groups, uint64_t seq,
			    int64_t published, int64_t expires);
#define ORCH_ASSIGNMENT_NPARAMS 5
void orch_params_campaign(struct orch_params *p, const struct orch_campaign *c);
void orch_params_stage(struct orch_params *p, const char *campaign, uint32_t idx,
		       const struct orch_cstage *g);
/* Parameter 0 is the campaign, then ORCH_CDEV_COLS. */
void orch_params_cdev(struct orch_params *p, const char *campaign, const struct orch_cdev *d);
/* With ts for the event's own (which the caller fills in once the insert succeeded). */
void orch_params_event(struct orch_params *p, const struct orch_event *e, int64_t ts);
/* updated 0 is sent as now. */
void orch_params_bcast(struct orch_params *p, const struct orch_bcast_rec *b);
void orch_params_group_pub(struct orch_params *p, const struct orch_group_pub *g);
/* With ts for the audit row's own, as for events. */
void orch_params_audit(struct orch_params *p, const struct orch_audit *a, int64_t ts);

#endif
