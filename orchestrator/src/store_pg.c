/* SPDX-License-Identifier: Apache-2.0 */
/* PostgreSQL backend of the store (libpq): the SQLite backend's schema, migrations and
 * behaviour, for several orchestrator instances sharing one database. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/timeutil.h"

#include "pq_lib.h"
#include "store.h"
#include "store_rows.h"

/* Every write transaction takes this advisory lock first: writers are serialised as SQLite's
 * BEGIN IMMEDIATE serialises them, across every process and host on the database, so a
 * read-modify-write of a campaign (admissions, stage advances) never interleaves with
 * another instance's. Readers outside a transaction are not blocked. */
#define PG_WRITE_LOCK 0x666f7461 /* "fota" */
/* Migrations run under their own lock, so two instances starting at once apply each once. */
#define PG_MIGRATE_LOCK 0x666f7462

struct pg_store {
	struct orch_store base; /* first: the generic handle */
	PGconn *conn;
};

/*
 * The SQLite backend's migrations, step for step, in PostgreSQL's dialect (BIGINT for every
 * integer, identity columns for sequences, a trigger function for append-only tables). The
 * table fota_schema records the last one applied. Never edit an applied step: append.
 */
static const char *const migrations[] = {
    /* 1: the initial schema. */
    "CREATE TABLE devices ("
    " id TEXT PRIMARY KEY, model TEXT NOT NULL DEFAULT '', hw TEXT NOT NULL DEFAULT '',"
    " version TEXT NOT NULL DEFAULT '', last_seen BIGINT NOT NULL DEFAULT 0,"
    " online INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE groups (name TEXT PRIMARY KEY);"
    "CREATE TABLE device_groups ("
    " device TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " grp TEXT NOT NULL REFERENCES groups(name), PRIMARY KEY (device, grp));"
    "CREATE INDEX device_groups_grp ON device_groups(grp, device);"
    "CREATE TABLE images ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,"
    " size BIGINT NOT NULL, added BIGINT NOT NULL);"
    "CREATE TABLE campaigns ("
    " id TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id),"
    " grp TEXT NOT NULL, salt TEXT NOT NULL, state TEXT NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '', stage BIGINT NOT NULL DEFAULT 0,"
    " fail_count BIGINT NOT NULL, fail_pct BIGINT NOT NULL,"
    " admit_per_min BIGINT NOT NULL, not_before BIGINT NOT NULL, not_after BIGINT NOT NULL,"
    " cur_percent BIGINT NOT NULL DEFAULT 0, directive_seq BIGINT NOT NULL DEFAULT 0,"
    " want_rev BIGINT NOT NULL DEFAULT 0, pub_rev BIGINT NOT NULL DEFAULT 0,"
    " created BIGINT NOT NULL, started BIGINT NOT NULL DEFAULT 0,"
    " stage_started BIGINT NOT NULL DEFAULT 0, stage_met BIGINT NOT NULL DEFAULT 0,"
    " resumed BIGINT NOT NULL DEFAULT 0, finished BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE stages ("
    " campaign TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    " idx BIGINT NOT NULL, devices TEXT NOT NULL DEFAULT '', percent BIGINT NOT NULL,"
    " success_pct BIGINT NOT NULL, wait_s BIGINT NOT NULL, PRIMARY KEY (campaign, idx));"
    "CREATE TABLE campaign_devices ("
    " campaign TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
    " device TEXT NOT NULL, stage BIGINT NOT NULL, admitted BIGINT NOT NULL,"
    " reported INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'idle',"
    " result TEXT NOT NULL DEFAULT 'none', reason TEXT NOT NULL DEFAULT '',"
    " chunks_present BIGINT NOT NULL DEFAULT 0, chunk_count BIGINT NOT NULL DEFAULT 0,"
    " updated BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (campaign, device));"
    "CREATE TABLE events ("
    " seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts BIGINT NOT NULL,"
    " campaign TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '',"
    " kind TEXT NOT NULL, result TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX events_campaign ON events(campaign, device, seq);"
    /* The audit trail is append-only, also against a careless UPDATE from psql. */
    "CREATE FUNCTION fota_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;"
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events"
    " FOR EACH ROW EXECUTE FUNCTION fota_append_only();",
    /* 2: reports ordered by store sequence, device timeouts, image compatibility. */
    "ALTER TABLE campaigns ADD COLUMN resumed_seq BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE campaigns ADD COLUMN device_timeout_s BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE campaigns ADD COLUMN timeout_skips INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE campaigns ADD COLUMN model TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE campaigns ADD COLUMN hw_revisions TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE campaign_devices ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE campaign_devices ADD COLUMN device_ts BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE campaign_devices ADD COLUMN mark TEXT NOT NULL DEFAULT '';",
    /* 3: a daily maintenance window in a named zone. */
    "ALTER TABLE campaigns ADD COLUMN daily TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE campaigns ADD COLUMN tz TEXT NOT NULL DEFAULT '';",
    /* 4: broadcast progress, so that a restarted daemon resumes a broadcast. */
    "CREATE TABLE broadcasts ("
    " grp TEXT NOT NULL, image_id TEXT NOT NULL, campaign TEXT NOT NULL, state TEXT NOT NULL,"
    " devices BIGINT NOT NULL DEFAULT 0, chunk_count BIGINT NOT NULL DEFAULT 0,"
    " next_chunk BIGINT NOT NULL DEFAULT 0, updated BIGINT NOT NULL,"
    " PRIMARY KEY (grp, image_id));",
    /* 5: directive sequences, publish records and the status audit trail. A new database has
     * no files of older versions to import (that applies to SQLite state directories). */
    "CREATE TABLE group_seqs (grp TEXT PRIMARY KEY, seq BIGINT NOT NULL);"
    "CREATE TABLE group_pubs ("
    " grp TEXT PRIMARY KEY, campaign TEXT NOT NULL, image_id TEXT NOT NULL,"
    " directive_seq BIGINT NOT NULL, published BIGINT NOT NULL);"
    "CREATE TABLE audit ("
    " seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts BIGINT NOT NULL,"
    " device TEXT NOT NULL, state TEXT NOT NULL, result TEXT NOT NULL DEFAULT '',"
    " reason TEXT NOT NULL DEFAULT '', campaign TEXT NOT NULL DEFAULT '',"
    " image_id TEXT NOT NULL DEFAULT '', version TEXT NOT NULL DEFAULT '',"
    " device_ts BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX audit_device ON audit(device, seq);"
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION fota_append_only();",
    /* 6: the device's certificate (PEM, '' for none): content keys are wrapped to its key. */
    "ALTER TABLE devices ADD COLUMN cert TEXT NOT NULL DEFAULT '';",
    /* 7: the groups a device reports and the assignment last published for it. */
    "ALTER TABLE devices ADD COLUMN reported_groups TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE devices ADD COLUMN assigned_groups TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE devices ADD COLUMN assignment_seq BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE devices ADD COLUMN assignment_published BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE devices ADD COLUMN assignment_expires BIGINT NOT NULL DEFAULT 0;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int orch_store_pg_latest_version(void)
{
	return N_MIGRATIONS;
}

static struct pg_store *P(struct orch_store *s)
{
	return (struct pg_store *)s;
}

static fota_err pg_error(struct pg_store *s, const PGresult *r, struct fota_error *err,
			 const char *what)
{
	const char *msg = r ? libpq.resultErrorMessage(r) : libpq.errorMessage(s->conn);
	size_t len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	return fota_error_set(err, FOTA_ERR_IO, "store: %s: %.*s", what, (int)len, msg);
}

/* Runs sql with text parameters (NULL for SQL NULL). Returns the result, or NULL with err
 * filled in (the failed result in *failed when the caller wants its SQLSTATE). */
static PGresult *query(struct pg_store *s, const char *sql, int n, const char *const *vals,
		       struct fota_error *err, const char *what, PGresult **failed)
{
	PGresult *r = libpq.execParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = libpq.resultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pg_error(s, r, err, what);
	if (failed)
		*failed = r;
	else
		libpq.clear(r);
	return NULL;
}

/* A statement returning no rows the caller needs; *changed (may be NULL): rows affected. */
static fota_err run(struct pg_store *s, const char *sql, int n, const char *const *vals,
		    struct fota_error *err, const char *what, long *changed)
{
	PGresult *r = query(s, sql, n, vals, err, what, NULL);

	if (!r)
		return err ? err->code : FOTA_ERR_IO;
	if (changed)
		*changed = strtol(libpq.cmdTuples(r), NULL, 10);
	libpq.clear(r);
	return FOTA_OK;
}

static fota_err exec_plain(struct pg_store *s, const char *sql, struct fota_error *err,
			   const char *what)
{
	PGresult *r = libpq.exec(s->conn, sql);
	ExecStatusType st = libpq.resultStatus(r);
	fota_err rc = FOTA_OK;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pg_error(s, r, err, what);
	libpq.clear(r);
	return rc;
}

/* Decimal text of v into buf (parameters are sent as text). */
static const char *num(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
	return libpq.getisnull(r, row, col) ? 0 : strtoll(libpq.getvalue(r, row, col), NULL, 10);
}

/* The shared row mapping (store_rows.h) over a result held by the client. */
struct pg_rows {
	PGresult *r; /* owned by the caller */
	int i;
};

static const char *row_text(void *ctx, int col)
{
	const struct pg_rows *p = ctx;

	return libpq.getvalue(p->r, p->i, col); /* "" for NULL */
}

static int64_t row_i64(void *ctx, int col)
{
	const struct pg_rows *p = ctx;

	return col_i64(p->r, p->i, col);
}

static int row_next(void *ctx)
{
	struct pg_rows *p = ctx;

	return ++p->i < libpq.ntuples(p->r) ? 1 : 0;
}

static struct orch_cursor cursor(struct pg_rows *rows, PGresult *r)
{
	rows->r = r;
	rows->i = -1;
	return (struct orch_cursor){row_next, {rows, row_text, row_i64}};
}

/* Runs a query and opens a cursor on its rows: false (err filled in) if it failed. The caller
 * libpq.clear()s rows->r. */
static bool query_rows(struct pg_store *s, const char *sql, int n, const char *const *vals,
		       struct fota_error *err, const char *what, struct pg_rows *rows,
		       struct orch_cursor *c)
{
	PGresult *r = query(s, sql, n, vals, err, what, NULL);

	if (r)
		*c = cursor(rows, r);
	return r != NULL;
}

/* Parameters as libpq takes them: text, numbers formatted into num. */
#define PG_MAX_PARAMS ORCH_CAMPAIGN_NCOLS
struct pg_params {
	const char *v[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];
};

static void param_text(void *ctx, int idx, const char *v)
{
	((struct pg_params *)ctx)->v[idx] = v;
}

static void param_i64(void *ctx, int idx, int64_t v)
{
	struct pg_params *p = ctx;

	p->v[idx] = num(p->num[idx], v);
}

static struct orch_params params(struct pg_params *pp)
{
	return (struct orch_params){pp, param_text, param_i64, ""};
}

static int pg_schema_version(struct orch_store *base)
{
	struct pg_store *s = P(base);
	PGresult *r = libpq.exec(s->conn, "SELECT version FROM fota_schema");
	int v = -1;

	if (libpq.resultStatus(r) == PGRES_TUPLES_OK && libpq.ntuples(r) == 1)
		v = (int)col_i64(r, 0, 0);
	libpq.clear(r);
	return v;
}

static fota_err migrate(struct pg_store *s, struct fota_error *err)
{
	char sql[96];
	int v;
	fota_err rc;

	rc = exec_plain(s, "BEGIN", err, "migration");
	if (rc)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d)", PG_MIGRATE_LOCK);
	rc = exec_plain(s, sql, err, "migration lock");
	if (rc == FOTA_OK)
		rc = exec_plain(s,
				"CREATE TABLE IF NOT EXISTS fota_schema (version INTEGER NOT NULL);"
				"INSERT INTO fota_schema SELECT 0 WHERE NOT EXISTS"
				" (SELECT 1 FROM fota_schema)",
				err, "schema version");
	if (rc)
		goto fail;
	v = pg_schema_version(&s->base);
	if (v < 0) {
		rc = fota_error_set(err, FOTA_ERR_STATE, "store: fota_schema has no version row");
		goto fail;
	}
	if (v > N_MIGRATIONS) {
		rc = fota_error_set(err, FOTA_ERR_STATE,
				    "store: schema version %d is newer than this program knows "
				    "(%d); upgrade fota-orchestrator",
				    v, N_MIGRATIONS);
		goto fail;
	}
	for (; v < N_MIGRATIONS; v++) {
		rc = exec_plain(s, migrations[v], err, "migration");
		if (rc)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE fota_schema SET version = %d", v + 1);
		rc = exec_plain(s, sql, err, "schema version");
		if (rc)
			goto fail;
	}
	return exec_plain(s, "COMMIT", err, "migration");
fail:
	exec_plain(s, "ROLLBACK", NULL, "migration");
	return rc;
}

static void pg_close(struct orch_store *base)
{
	struct pg_store *s = P(base);

	libpq.finish(s->conn);
	free(s);
}

static fota_err pg_begin(struct orch_store *base, struct fota_error *err)
{
	struct pg_store *s = P(base);
	char sql[64];
	fota_err rc = exec_plain(s, "BEGIN", err, "begin");

	if (rc)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d)", PG_WRITE_LOCK);
	rc = exec_plain(s, sql, err, "write lock");
	if (rc)
		exec_plain(s, "ROLLBACK", NULL, "rollback");
	return rc;
}

/* Every COMMIT is durable already: with synchronous_commit at its default (on), PostgreSQL
 * returns from COMMIT once the write-ahead log is flushed up to the commit record, which
 * also covers every commit before it. (A server configured with synchronous_commit = off
 * gives that up for all of its clients.) */
static fota_err pg_commit(struct orch_store *base, struct fota_error *err)
{
	return exec_plain(P(base), "COMMIT", err, "commit");
}

static void pg_rollback(struct orch_store *base)
{
	exec_plain(P(base), "ROLLBACK", NULL, "rollback");
}

/* --- devices and groups ------------------------------------------------------------------- */

static const char sql_dev_put[] =
    "INSERT INTO devices (" ORCH_DEVICE_INSERT_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7)"
    " ON CONFLICT (id) DO UPDATE SET"
    " model = CASE WHEN $2 = '' THEN devices.model ELSE $2 END,"
    " hw = CASE WHEN $3 = '' THEN devices.hw ELSE $3 END,"
    " version = CASE WHEN $4 = '' THEN devices.version ELSE $4 END,"
    " last_seen = GREATEST(devices.last_seen, $5), online = $6,"
    " reported_groups = CASE WHEN $7 = '' THEN devices.reported_groups ELSE $7 END";
static const char sql_grp_clear[] = "DELETE FROM device_groups WHERE device = $1";
static const char sql_grp_new[] = "INSERT INTO groups (name) VALUES ($1) ON CONFLICT DO NOTHING";
static const char sql_grp_add[] =
    "INSERT INTO device_groups (device, grp) VALUES ($1,$2) ON CONFLICT DO NOTHING";

static fota_err pg_device_put(struct orch_store *base, const struct orch_device *d, bool set_groups,
			      struct fota_error *err)
{
	struct pg_store *s = P(base);
	struct pg_params pp;
	struct orch_params pv = params(&pp);
	fota_err rc;
	const char *p = d->groups;
	char g[FOTA_MAX_SEGMENT_LEN + 1];
	const char *gv[2] = {d->id, g};

	orch_params_device(&pv, d);
	rc = run(s, sql_dev_put, ORCH_DEVICE_INSERT_NCOLS, pp.v, err, "device", NULL);
	if (rc || !set_groups)
		return rc;
	rc = run(s, sql_grp_clear, 1, pp.v, err, "device groups", NULL);
	while (rc == FOTA_OK && (p = orch_group_list_next(p, g))) {
		rc = run(s, sql_grp_new, 1, &gv[1], err, "group", NULL);
		if (rc == FOTA_OK)
			rc = run(s, sql_grp_add, 2, gv, err, "device group", NULL);
	}
	return rc;
}

#define DEV_COLS                                                                                   \
	"SELECT " ORCH_DEVICE_COLS ","                                                             \
	" COALESCE((SELECT string_agg(grp, ',' ORDER BY grp) FROM device_groups g"                 \
	" WHERE g.device = d.id), ''), " ORCH_DEVICE_ASSIGNMENT_COLS " FROM devices d"
static const char sql_dev_get[] = DEV_COLS " WHERE d.id = $1";
static const char sql_dev_all[] = DEV_COLS " ORDER BY d.id";
static const char sql_dev_grp[] =
    DEV_COLS " JOIN device_groups m ON m.device = d.id WHERE m.grp = $1 ORDER BY d.id";

static fota_err pg_device_get(struct orch_store *base, const char *id, struct orch_device *out,
			      struct fota_error *err)
{
	struct pg_rows rows;
	struct orch_cursor c;
	bool found;

	if (!query_rows(P(base), sql_dev_get, 1, &id, err, "device", &rows, &c))
		return err ? err->code : FOTA_ERR_IO;
	found = orch_rows_first_device(&c, out) > 0;
	libpq.clear(rows.r);
	if (!found)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device '%s' in the registry",
				      id);
	return FOTA_OK;
}

static fota_err pg_device_each(struct orch_store *base, const char *group, orch_device_fn fn,
			       void *ctx, struct fota_error *err)
{
	struct pg_rows rows;
	struct orch_cursor c;

	if (!query_rows(P(base), group ? sql_dev_grp : sql_dev_all, group ? 1 : 0, &group, err,
			"devices", &rows, &c))
		return err ? err->code : FOTA_ERR_IO;
	orch_rows_device(&c, fn, ctx);
	libpq.clear(rows.r);
	return FOTA_OK;
}

static const char sql_dev_assigned[] =
    "UPDATE devices SET assigned_groups = $2, assignment_seq = $3, assignment_published = $4,"
    " assignment_expires = $5 WHERE id = $1";

static fota_err pg_device_assignment_put(struct orch_store *base, const char *id,
					 const char *groups, uint64_t seq, int64_t published,
					 int64_t expires, struct fota_error *err)
{
	struct pg_params pp;
	struct orch_params pv = params(&pp);
	long changed = 0;
	fota_err rc;

	orch_params_assignment(&pv, id, groups, seq, published, expires);
	rc = run(P(base), sql_dev_assigned, ORCH_ASSIGNMENT_NPARAMS, pp.v, err, "device assignment",
		 &changed);
	if (rc == FOTA_OK && changed == 0)
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device '%s' in the registry", id);
	return rc;
}

static fota_err pg_group_each(struct orch_store *base, orch_name_fn fn, void *ctx,
			      struct fota_error *err)
{
	PGresult *r =
	    query(P(base), "SELECT name FROM groups ORDER BY name", 0, NULL, err, "groups", NULL);
	int i;

	if (!r)
		return err ? err->code : FOTA_ERR_IO;
	for (i = 0; i < libpq.ntuples(r); i++)
		if (fn(ctx, libpq.getvalue(r, i, 0)))
			break;
	libpq.clear(r);
	return FOTA_OK;
}

static fota_err pg_device_cert_put(struct orch_store *base, const char *id, const char *pem,
				   struct fota_error *err)
{
	const char *v[2] = {id, pem};
	long changed = 0;
	fota_err rc = run(P(base), "UPDATE devices SET cert = $2 WHERE id = $1", 2, v, err,
			  "device certificate", &changed);

	if (rc == FOTA_OK && changed == 0)
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device '%s' in the registry", id);
	return rc;
}

static fota_err pg_device_cert_get(struct orch_store *base, const char *id, char *pem, size_t cap,
				   struct fota_error *err)
{
	PGresult *r = query(P(base), "SELECT cert FROM devices WHERE id = $1", 1, &id, err,
			    "device certificate", NULL);
	bool found;

	pem[0] = '\0';
	if (!r)
		return err ? err->code : FOTA_ERR_IO;
	found = libpq.ntuples(r) > 0;
	if (found)
		snprintf(pem, cap, "%s", libpq.getvalue(r, 0, 0));
	libpq.clear(r);
	if (!found)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device '%s' in the registry",
				      id);
	if (!pem[0])
		return fota_error_set(err, FOTA_ERR_NOT_FOUND,
				      "device '%s' has no certificate in the registry", id);
	return FOTA_OK;
}

static fota_err pg_image_put(struct orch_store *base, const char *id, const char *name,
			     const char *version, uint64_t size, struct fota_error *err)
{
	char sz[24], now[24];
	const char *v[5] = {id, name, version, num(sz, (int64_t)size), num(now, fota_time_now())};

	return run(P(base),
		   "INSERT INTO images (id, name, version, size, added) VALUES ($1,$2,$3,$4,$5)"
		   " ON CONFLICT (id) DO UPDATE SET name = $2, version = $3, size = $4",
		   5, v, err, "image", NULL);
}

/* --- campaigns ----------------------------------------------------------------------------- */

static const char sql_camp_ins[] =
    "INSERT INTO campaigns (" ORCH_CAMPAIGN_COLS ")"
    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,"
    " $23,$24,$25,$26,$27,$28,$29)";
static const char sql_camp_upd[] =
    "UPDATE campaigns SET image_id=$2, grp=$3, salt=$4, state=$5, reason=$6, stage=$7,"
    " fail_count=$8, fail_pct=$9, admit_per_min=$10, not_before=$11, not_after=$12,"
    " cur_percent=$13, directive_seq=$14, want_rev=$15, pub_rev=$16, created=$17, started=$18,"
    " stage_started=$19, stage_met=$20, resumed=$21, finished=$22, resumed_seq=$23,"
    " device_timeout_s=$24, timeout_skips=$25, model=$26, hw_revisions=$27, daily=$28, tz=$29"
    " WHERE id=$1";

static fota_err write_campaign(struct pg_store *s, const char *sql, const struct orch_campaign *c,
			       bool create, struct fota_error *err)
{
	struct pg_params pp;
	struct orch_params pv = params(&pp);
	PGresult *failed = NULL, *r;
	long changed = 0;
	uint32_t i;
	fota_err rc;

	orch_params_campaign(&pv, c);
	r = query(s, sql, ORCH_CAMPAIGN_NCOLS, pp.v, err, "campaign", &failed);
	if (!r) {
		const char *state =
		    failed ? libpq.resultErrorField(failed, PG_DIAG_SQLSTATE) : NULL;

		rc = err ? err->code : FOTA_ERR_IO;
		if (create && state && strcmp(state, "23505") == 0) /* unique_violation */
			rc = fota_error_set(err, FOTA_ERR_STATE, "campaign '%s' exists already",
					    c->id);
		libpq.clear(failed);
		return rc;
	}
	changed = strtol(libpq.cmdTuples(r), NULL, 10);
	libpq.clear(r);
	if (changed == 0)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "no campaign '%s'", c->id);
	rc = run(s, "DELETE FROM stages WHERE campaign = $1", 1, pp.v, err, "stages", NULL);
	for (i = 0; rc == FOTA_OK && i < c->n_stages; i++) {
		orch_params_stage(&pv, c->id, i, &c->stages[i]);
		rc = run(
		    s, "INSERT INTO stages (" ORCH_STAGE_INSERT_COLS ") VALUES ($1,$2,$3,$4,$5,$6)",
		    ORCH_STAGE_INSERT_NCOLS, pp.v, err, "stage", NULL);
	}
	return rc;
}

static fota_err pg_campaign_create(struct orch_store *base, const struct orch_campaign *c,
				   struct fota_error *err)
{
	return write_campaign(P(base), sql_camp_ins, c, true, err);
}

static fota_err pg_campaign_put(struct orch_store *base, const struct orch_campaign *c,
				struct fota_error *err)
{
	return write_campaign(P(base), sql_camp_upd, c, false, err);
}

static fota_err pg_campaign_get(struct orch_store *base, const char *id, struct orch_campaign *out,
				struct fota_error *err)
{
	struct pg_store *s = P(base);
	struct orch_campaign row, *c = &row; /* *out is written only on success */
	struct pg_rows rows;
	struct orch_cursor cur;
	fota_err rc = FOTA_OK;

	if (!query_rows(s, "SELECT " ORCH_CAMPAIGN_COLS " FROM campaigns WHERE id = $1", 1, &id,
			err, "campaign", &rows, &cur))
		return err ? err->code : FOTA_ERR_IO;
	if (cur.next(&rows) <= 0) {
		libpq.clear(rows.r);
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "no campaign '%s'", id);
	}
	orch_row_campaign(&cur.row, c);
	libpq.clear(rows.r);
	if (!query_rows(s,
			"SELECT " ORCH_STAGE_COLS " FROM stages WHERE campaign = $1 ORDER BY idx",
			1, &id, err, "stages", &rows, &cur))
		return err ? err->code : FOTA_ERR_IO;
	while (rc == FOTA_OK && c->n_stages < ORCH_MAX_STAGES && cur.next(&rows) > 0) {
		rc = orch_row_stage(&cur.row, &c->stages[c->n_stages], err);
		if (rc == FOTA_OK)
			c->n_stages++;
	}
	libpq.clear(rows.r);
	if (rc) {
		orch_campaign_clear(c);
		return rc;
	}
	*out = row;
	return FOTA_OK;
}

static fota_err pg_campaign_each(struct orch_store *base, bool active_only, orch_name_fn fn,
				 void *ctx, struct fota_error *err)
{
	PGresult *r =
	    query(P(base),
		  active_only ? "SELECT id FROM campaigns WHERE state IN ('running','paused')"
				" OR (state IN ('aborted','completed') AND pub_rev < want_rev)"
				" ORDER BY created, id"
			      : "SELECT id FROM campaigns ORDER BY created, id",
		  0, NULL, err, "campaigns", NULL);
	int i;

	if (!r)
		return err ? err->code : FOTA_ERR_IO;
	/* The result is held by the client: the callback may use the store. */
	for (i = 0; i < libpq.ntuples(r); i++)
		if (fn(ctx, libpq.getvalue(r, i, 0)))
			break;
	libpq.clear(r);
	return FOTA_OK;
}

/* --- per-device campaign state ------------------------------------------------------------ */

static fota_err pg_cdev_admit(struct orch_store *base, const char *campaign, const char *device,
			      uint32_t stage, int64_t now, bool *inserted, struct fota_error *err)
{
	char a[24], b[24];
	const char *v[4] = {campaign, device, num(a, stage), num(b, now)};
	long changed = 0;
	fota_err rc = run(P(base),
			  "INSERT INTO campaign_devices (campaign, device, stage, admitted)"
			  " VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
			  4, v, err, "admission", &changed);

	if (rc == FOTA_OK && inserted)
		*inserted = changed > 0;
	return rc;
}

static fota_err pg_cdev_put(struct orch_store *base, const char *campaign,
			    const struct orch_cdev *d, struct fota_error *err)
{
	struct pg_params pp;
	struct orch_params pv = params(&pp);

	orch_params_cdev(&pv, campaign, d);
	return run(P(base),
		   "INSERT INTO campaign_devices (campaign, " ORCH_CDEV_COLS ")"
		   " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
		   " ON CONFLICT (campaign, device) DO UPDATE SET stage=$3, admitted=$4,"
		   " reported=$5, state=$6, result=$7, reason=$8, chunks_present=$9,"
		   " chunk_count=$10, updated=$11, seq=$12, device_ts=$13, mark=$14",
		   ORCH_CDEV_NPARAMS, pp.v, err, "campaign device", NULL);
}

static fota_err pg_cdev_get(struct orch_store *base, const char *campaign, const char *device,
			    struct orch_cdev *out, struct fota_error *err)
{
	const char *v[2] = {campaign, device};
	struct pg_rows rows;
	struct orch_cursor c;
	bool found;

	if (!query_rows(P(base),
			"SELECT " ORCH_CDEV_COLS " FROM campaign_devices"
			" WHERE campaign = $1 AND device = $2",
			2, v, err, "campaign device", &rows, &c))
		return err ? err->code : FOTA_ERR_IO;
	found = orch_rows_first_cdev(&c, out) > 0;
	libpq.clear(rows.r);
	if (!found)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "device %s is not in campaign %s",
				      device, campaign);
	return FOTA_OK;
}

static fota_err pg_cdev_each(struct orch_store *base, const char *campaign, orch_cdev_fn fn,
			     void *ctx, struct fota_error *err)
{
	struct pg_rows rows;
	struct orch_cursor c;

	if (!query_rows(P(base),
			"SELECT " ORCH_CDEV_COLS " FROM campaign_devices WHERE campaign = $1"
			" ORDER BY device",
			1, &campaign, err, "campaign devices", &rows, &c))
		return err ? err->code : FOTA_ERR_IO;
	orch_rows_cdev(&c, fn, ctx);
	libpq.clear(rows.r);
	return FOTA_OK;
}

/* --- events -------------------------------------------------------------------------------- */

static fota_err pg_event_append(struct orch_store *base, struct orch_event *e,
				struct fota_error *err)
{
	int64_t when = e->ts ? e->ts : fota_time_now();
	struct pg_params pp;
	struct orch_params pv = params(&pp);
	PGresult *r;

	orch_params_event(&pv, e, when);
	r = query(P(base),
		  "INSERT INTO events (" ORCH_EVENT_INSERT_COLS ") VALUES ($1,$2,$3,$4,$5,$6)"
		  " RETURNING seq",
		  ORCH_EVENT_INSERT_NCOLS, pp.v, err, "event", NULL);
	if (!r)
		return err ? err->code : FOTA_ERR_IO;
	e->ts = when;
	e->seq = col_i64(r, 0, 0);
	libpq.clear(r);
	return FOTA_OK;
}

static fota_err pg_event_each(struct orch_store *base, const char *campaign, const char *device,
			      orch_event_fn fn, void *ctx, struct fota_error *err)
{
	const char *v[2] = {campaign, device};
	struct pg_rows rows;
	struct orch_cursor c;

	if (!query_rows(P(base),
			"SELECT " ORCH_EVENT_COLS " FROM events"
			" WHERE ($1::text IS NULL OR campaign = $1)"
			" AND ($2::text IS NULL OR device = $2) ORDER BY seq",
			2, v, err, "events", &rows, &c))
		return err ? err->code : FOTA_ERR_IO;
	orch_rows_event(&c, fn, ctx);
	libpq.clear(rows.r);
	return FOTA_OK;
}

/* --- broadcasts ---------------------------------------------------------------------------- */

static fota_err pg_bcast_put(struct orch_store *base, const struct orch_bcast_rec *b,
			     struct fota_error *err)
{
	struct pg_params pp;
	struct orch_params pv = params(&pp);

	orch_params_bcast(&pv, b);
	return run(P(base),
		   "INSERT INTO broadcasts (" ORCH_BCAST_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"
		   " ON CONFLICT (grp, image_id) DO UPDATE SET campaign=$3, state=$4, devices=$5,"
		   " chunk_count=$6, next_chunk=$7, updated=$8",
		   ORCH_BCAST_NCOLS, pp.v, err, "broadcast", NULL);
}

static fota_err pg_bcast_each(struct orch_store *base, bool active_only, orch_bcast_fn fn,
			      void *ctx, struct fota_error *err)
{
	const char *state = active_only ? ORCH_BCAST_ACTIVE : NULL;
	struct pg_rows rows;
	struct orch_cursor c;

	if (!query_rows(P(base),
			"SELECT " ORCH_BCAST_COLS " FROM broadcasts"
			" WHERE ($1::text IS NULL OR state = $1) ORDER BY grp, image_id",
			1, &state, err, "broadcasts", &rows, &c))
		return err ? err->code : FOTA_ERR_IO;
	orch_rows_bcast(&c, fn, ctx);
	libpq.clear(rows.r);
	return FOTA_OK;
}

/* --- group directive sequences and publish records ------------------------------------------ */

static fota_err pg_directive_seq_next(struct orch_store *base, const char *group, uint64_t *seq,
				      struct fota_error *err)
{
	/* The upsert locks the group's row until the end of the statement's transaction, so
	 * concurrent callers on any instance get distinct, rising values. */
	PGresult *r = query(P(base),
			    "INSERT INTO group_seqs (grp, seq) VALUES ($1, 1) ON CONFLICT (grp)"
			    " DO UPDATE SET seq = group_seqs.seq + 1 RETURNING seq",
			    1, &group, err, "directive sequence", NULL);

	if (!r)
		return err ? err->code : FOTA_ERR_IO;
	*seq = (uint64_t)col_i64(r, 0, 0);
	libpq.clear(r);
	return FOTA_OK;
}

static fota_err pg_directive_seq_raise(struct orch_store *base, const char *group, uint64_t last,
				       struct fota_error *err)
{
	char n[24];
	const char *v[2] = {group, num(n, (int64_t)last)};

	return run(P(base),
		   "INSERT INTO group_seqs (grp, seq) VALUES ($1, $2) ON CONFLICT (grp)"
		   " DO UPDATE SET seq = GREATEST(group_seqs.seq, $2)",
		   2, v, err, "directive sequence", NULL);
}

static fota_err pg_group_pub_put(struct orch_store *base, const struct orch_group_pub *p,
				 struct fota_error *err)
{
	struct pg_params pp;
	struct orch_params pv = params(&pp);

	orch_params_group_pub(&pv, p);
	return run(P(base),
		   "INSERT INTO group_pubs (" ORCH_GROUP_PUB_COLS ") VALUES ($1,$2,$3,$4,$5)"
		   " ON CONFLICT (grp) DO UPDATE SET campaign=$2, image_id=$3, directive_seq=$4,"
		   " published=$5",
		   ORCH_GROUP_PUB_NCOLS, pp.v, err, "group publish record", NULL);
}

static fota_err pg_group_pub_get(struct orch_store *base, const char *group,
				 struct orch_group_pub *out, struct fota_error *err)
{
	struct pg_rows rows;
	struct orch_cursor c;
	bool found;

	if (!query_rows(P(base), "SELECT " ORCH_GROUP_PUB_COLS " FROM group_pubs WHERE grp = $1", 1,
			&group, err, "group publish record", &rows, &c))
		return err ? err->code : FOTA_ERR_IO;
	found = orch_rows_first_group_pub(&c, out) > 0;
	libpq.clear(rows.r);
	if (!found)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "nothing was published to group %s",
				      group);
	return FOTA_OK;
}

/* --- audit trail of device statuses ----------------------------------------------------------- */

static fota_err pg_audit_append(struct orch_store *base, struct orch_audit *a,
				struct fota_error *err)
{
	int64_t when = a->ts ? a->ts : fota_time_now();
	struct pg_params pp;
	struct orch_params pv = params(&pp);
	PGresult *r;

	orch_params_audit(&pv, a, when);
	r = query(P(base),
		  "INSERT INTO audit (" ORCH_AUDIT_INSERT_COLS
		  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
		  " RETURNING seq",
		  ORCH_AUDIT_INSERT_NCOLS, pp.v, err, "audit", NULL);
	if (!r)
		return err ? err->code : FOTA_ERR_IO;
	a->ts = when;
	a->seq = col_i64(r, 0, 0);
	libpq.clear(r);
	return FOTA_OK;
}

static fota_err pg_audit_each(struct orch_store *base, const char *device, orch_audit_fn fn,
			      void *ctx, struct fota_error *err)
{
	struct pg_rows rows;
	struct orch_cursor c;

	if (!query_rows(P(base),
			"SELECT " ORCH_AUDIT_COLS " FROM audit"
			" WHERE ($1::text IS NULL OR device = $1) ORDER BY seq",
			1, &device, err, "audit", &rows, &c))
		return err ? err->code : FOTA_ERR_IO;
	orch_rows_audit(&c, fn, ctx);
	libpq.clear(rows.r);
	return FOTA_OK;
}

/* --- ownership among instances -----------------------------------------------------------------
 */

/* Session-level advisory locks, keyed by the name's hash in a class of their own: PostgreSQL
 * releases them when the connection ends, so the work of a killed instance becomes free. */
#define PG_OWNER_CLASS 0x666f

static fota_err pg_lock_try(struct orch_store *base, const char *name, bool *got,
			    struct fota_error *err)
{
	char sql[96];
	PGresult *r;

	snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%d, hashtext($1))", PG_OWNER_CLASS);
	r = query(P(base), sql, 1, &name, err, "lock", NULL);
	if (!r)
		return err ? err->code : FOTA_ERR_IO;
	*got = strcmp(libpq.getvalue(r, 0, 0), "t") == 0;
	libpq.clear(r);
	return FOTA_OK;
}

static void pg_unlock(struct orch_store *base, const char *name)
{
	char sql[96];
	int i;

	/* A session may hold a lock more than once; unlock releases every hold. */
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, hashtext($1))", PG_OWNER_CLASS);
	for (i = 0; i < 64; i++) {
		PGresult *r = query(P(base), sql, 1, &name, NULL, "unlock", NULL);
		bool held = r && strcmp(libpq.getvalue(r, 0, 0), "t") == 0;

		libpq.clear(r);
		if (!held)
			break;
	}
}

static const struct orch_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .commit_durable = pg_commit,
    .rollback = pg_rollback,
    .schema_version = pg_schema_version,
    .device_put = pg_device_put,
    .device_get = pg_device_get,
    .device_each = pg_device_each,
    .group_each = pg_group_each,
    .device_cert_put = pg_device_cert_put,
    .device_cert_get = pg_device_cert_get,
    .device_assignment_put = pg_device_assignment_put,
    .image_put = pg_image_put,
    .campaign_create = pg_campaign_create,
    .campaign_put = pg_campaign_put,
    .campaign_get = pg_campaign_get,
    .campaign_each = pg_campaign_each,
    .cdev_admit = pg_cdev_admit,
    .cdev_put = pg_cdev_put,
    .cdev_get = pg_cdev_get,
    .cdev_each = pg_cdev_each,
    .event_append = pg_event_append,
    .event_each = pg_event_each,
    .bcast_put = pg_bcast_put,
    .bcast_each = pg_bcast_each,
    .directive_seq_next = pg_directive_seq_next,
    .directive_seq_raise = pg_directive_seq_raise,
    .group_pub_put = pg_group_pub_put,
    .group_pub_get = pg_group_pub_get,
    .audit_append = pg_audit_append,
    .audit_each = pg_audit_each,
    .lock_try = pg_lock_try,
    .unlock = pg_unlock,
};

/* CREATE ... IF NOT EXISTS and similar notices are not worth a line on stderr. */
static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

fota_err orch_store_pg_open(const char *uri, struct orch_store **out, struct fota_error *err)
{
	struct pg_store *s = calloc(1, sizeof(*s));
	fota_err rc;

	*out = NULL;
	if (!s)
		return fota_error_set(err, FOTA_ERR_NOMEM, "store: out of memory");
	/* Every other function here runs on a store this opened, so after libpq is loaded. */
	rc = orch_pq_load(err);
	if (rc) {
		free(s);
		return rc;
	}
	s->base.ops = &pg_ops;
	s->conn = libpq.connectdb(uri);
	if (!s->conn || libpq.status(s->conn) != CONNECTION_OK) {
		/* libpq's message names the host and the reason, never the password. */
		rc = pg_error(s, NULL, err, "cannot connect to PostgreSQL");
		goto fail;
	}
	libpq.setNoticeProcessor(s->conn, quiet_notice, NULL);
	rc = migrate(s, err);
	if (rc)
		goto fail;
	*out = &s->base;
	return FOTA_OK;
fail:
	pg_close(&s->base);
	return rc;
}
