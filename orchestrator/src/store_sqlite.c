/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite backend of the store: one file in WAL mode, versioned migrations, cached statements. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fota/timeutil.h"

#include "store.h"
#include "store_rows.h"
#include "store_turns.h"

/* Statements are prepared once per handle; the SQL text pointer is the cache key. */
#define STMT_CACHE 40
/* Another process (a CLI command beside the daemon) may hold the write lock this long. */
#define BUSY_TIMEOUT_MS 10000

struct sqlite_store {
	struct orch_store base; /* first: the generic handle */
	sqlite3 *db;
	char dir[PATH_MAX]; /* of the database file: the state directory */
	/* The other connections of this process to the same file wait in turn, not in the busy
	 * handler's sleeps; NULL without memory for it (the busy handler alone then). */
	struct orch_store_turns *turns;
	bool has_turn;	 /* from BEGIN until the transaction ends */
	bool seq_in_txn; /* the open transaction handed out a sequence: commit it durably */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
};

/*
 * Migrations, applied in order inside one transaction each; PRAGMA user_version records the
 * last one applied. Never edit an applied step: append a new one.
 */
static const struct migration {
	const char *sql;
	/* Then import the files older versions kept beside the store (store_import.c). */
	bool import_files;
} migrations[] = {
    /* 1: the initial schema. */
    {"CREATE TABLE devices ("
     " id TEXT PRIMARY KEY, model TEXT NOT NULL DEFAULT '', hw TEXT NOT NULL DEFAULT '',"
     " version TEXT NOT NULL DEFAULT '', last_seen INTEGER NOT NULL DEFAULT 0,"
     " online INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE groups (name TEXT PRIMARY KEY);"
     "CREATE TABLE device_groups ("
     " device TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
     " grp TEXT NOT NULL REFERENCES groups(name), PRIMARY KEY (device, grp));"
     "CREATE INDEX device_groups_grp ON device_groups(grp, device);"
     "CREATE TABLE images ("
     " id TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,"
     " size INTEGER NOT NULL, added INTEGER NOT NULL);"
     "CREATE TABLE campaigns ("
     " id TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id),"
     " grp TEXT NOT NULL, salt TEXT NOT NULL, state TEXT NOT NULL,"
     " reason TEXT NOT NULL DEFAULT '', stage INTEGER NOT NULL DEFAULT 0,"
     " fail_count INTEGER NOT NULL, fail_pct INTEGER NOT NULL,"
     " admit_per_min INTEGER NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
     " cur_percent INTEGER NOT NULL DEFAULT 0, directive_seq INTEGER NOT NULL DEFAULT 0,"
     " want_rev INTEGER NOT NULL DEFAULT 0, pub_rev INTEGER NOT NULL DEFAULT 0,"
     " created INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0,"
     " stage_started INTEGER NOT NULL DEFAULT 0, stage_met INTEGER NOT NULL DEFAULT 0,"
     " resumed INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE stages ("
     " campaign TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
     " idx INTEGER NOT NULL, devices TEXT NOT NULL DEFAULT '', percent INTEGER NOT NULL,"
     " success_pct INTEGER NOT NULL, wait_s INTEGER NOT NULL, PRIMARY KEY (campaign, idx));"
     "CREATE TABLE campaign_devices ("
     " campaign TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,"
     " device TEXT NOT NULL, stage INTEGER NOT NULL, admitted INTEGER NOT NULL,"
     " reported INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'idle',"
     " result TEXT NOT NULL DEFAULT 'none', reason TEXT NOT NULL DEFAULT '',"
     " chunks_present INTEGER NOT NULL DEFAULT 0, chunk_count INTEGER NOT NULL DEFAULT 0,"
     " updated INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (campaign, device));"
     "CREATE TABLE events ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
     " campaign TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '',"
     " kind TEXT NOT NULL, result TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX events_campaign ON events(campaign, device, seq);"
     /* The audit trail is append-only, also against a careless UPDATE from a shell. */
     "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
     " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
     "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
     " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
     false},
    /* 2: reports ordered by store sequence, device timeouts, image compatibility. */
    {"ALTER TABLE campaigns ADD COLUMN resumed_seq INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE campaigns ADD COLUMN device_timeout_s INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE campaigns ADD COLUMN timeout_skips INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE campaigns ADD COLUMN model TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE campaigns ADD COLUMN hw_revisions TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE campaign_devices ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE campaign_devices ADD COLUMN device_ts INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE campaign_devices ADD COLUMN mark TEXT NOT NULL DEFAULT '';",
     false},
    /* 3: a daily maintenance window ("01:00-05:00", '' for none) in a named zone. */
    {"ALTER TABLE campaigns ADD COLUMN daily TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE campaigns ADD COLUMN tz TEXT NOT NULL DEFAULT '';",
     false},
    /* 4: broadcast progress, so that a restarted daemon resumes a broadcast. */
    {"CREATE TABLE broadcasts ("
     " grp TEXT NOT NULL, image_id TEXT NOT NULL, campaign TEXT NOT NULL, state TEXT NOT NULL,"
     " devices INTEGER NOT NULL DEFAULT 0, chunk_count INTEGER NOT NULL DEFAULT 0,"
     " next_chunk INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL,"
     " PRIMARY KEY (grp, image_id));",
     false},
    /* 5: directive sequences, publish records and the status audit trail, which older
     * versions kept in files (groups/<group>/directive_seq, campaign.json, events.jsonl). */
    {"CREATE TABLE group_seqs (grp TEXT PRIMARY KEY, seq INTEGER NOT NULL);"
     "CREATE TABLE group_pubs ("
     " grp TEXT PRIMARY KEY, campaign TEXT NOT NULL, image_id TEXT NOT NULL,"
     " directive_seq INTEGER NOT NULL, published INTEGER NOT NULL);"
     "CREATE TABLE audit ("
     " seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, device TEXT NOT NULL,"
     " state TEXT NOT NULL, result TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',"
     " campaign TEXT NOT NULL DEFAULT '', image_id TEXT NOT NULL DEFAULT '',"
     " version TEXT NOT NULL DEFAULT '', device_ts INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX audit_device ON audit(device, seq);"
     "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
     true},
    /* 6: the device's certificate (PEM, '' for none): content keys are wrapped to its key. */
    {"ALTER TABLE devices ADD COLUMN cert TEXT NOT NULL DEFAULT '';", false},
    /* 7: the groups a device reports and the assignment last published for it, so that
     * campaigns and renewals know what to (re)publish. */
    {"ALTER TABLE devices ADD COLUMN reported_groups TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE devices ADD COLUMN assigned_groups TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE devices ADD COLUMN assignment_seq INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE devices ADD COLUMN assignment_published INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE devices ADD COLUMN assignment_expires INTEGER NOT NULL DEFAULT 0;",
     false},
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int orch_store_sqlite_latest_version(void)
{
	return N_MIGRATIONS;
}

static struct sqlite_store *S(struct orch_store *s)
{
	return (struct sqlite_store *)s;
}

static fota_err db_error(struct sqlite_store *s, struct fota_error *err, const char *what)
{
	int code = sqlite3_errcode(s->db);

	return fota_error_set(err, code == SQLITE_NOMEM ? FOTA_ERR_NOMEM : FOTA_ERR_IO,
			      "store: %s: %s", what, sqlite3_errmsg(s->db));
}

/* A cached statement, reset and with bindings cleared; NULL on error (err filled). */
static sqlite3_stmt *prep(struct sqlite_store *s, const char *sql, struct fota_error *err)
{
	size_t i;

	for (i = 0; i < STMT_CACHE && s->cache[i].sql; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].st);
			sqlite3_clear_bindings(s->cache[i].st);
			return s->cache[i].st;
		}
	}
	if (i == STMT_CACHE) {
		fota_error_set(err, FOTA_ERR_TOO_BIG, "store: statement cache full");
		return NULL;
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &s->cache[i].st, NULL) != SQLITE_OK) {
		db_error(s, err, "prepare");
		return NULL;
	}
	s->cache[i].sql = sql;
	return s->cache[i].st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* The shared row mapping (store_rows.h) over a statement: its current row, its parameters. */
static const char *col_text(void *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? (const char *)t : "";
}

static int64_t col_i64(void *st, int col)
{
	return sqlite3_column_int64(st, col);
}

static int step_row(void *st)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static struct orch_cursor cursor(sqlite3_stmt *st)
{
	return (struct orch_cursor){step_row, {st, col_text, col_i64}};
}

/* Ends a loop over st's rows; rc is the loop's (negative: a step failed). */
static fota_err rows_done(struct sqlite_store *s, sqlite3_stmt *st, int rc, struct fota_error *err,
			  const char *what)
{
	sqlite3_reset(st);
	return rc < 0 ? db_error(s, err, what) : FOTA_OK;
}

/* Ends a query for one row; rc is the cursor's. FOTA_ERR_NOT_FOUND, err not filled in, if
 * there was none: the caller names what it looked for. */
static fota_err row_done(struct sqlite_store *s, sqlite3_stmt *st, int rc, struct fota_error *err,
			 const char *what)
{
	sqlite3_reset(st);
	if (rc < 0)
		return db_error(s, err, what);
	return rc > 0 ? FOTA_OK : FOTA_ERR_NOT_FOUND;
}

static void param_text(void *st, int idx, const char *v)
{
	sqlite3_bind_text(st, idx + 1, v, -1, SQLITE_TRANSIENT);
}

static void param_i64(void *st, int idx, int64_t v)
{
	sqlite3_bind_int64(st, idx + 1, v);
}

static struct orch_params params(sqlite3_stmt *st)
{
	return (struct orch_params){st, param_text, param_i64, ""};
}

/* Runs a statement expected to return no rows. */
static fota_err step_done(struct sqlite_store *s, sqlite3_stmt *st, struct fota_error *err,
			  const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_error(s, err, what);
	return FOTA_OK;
}

static fota_err exec(struct sqlite_store *s, const char *sql, struct fota_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fota_error_set(err, FOTA_ERR_IO, "store: %s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return err ? err->code : FOTA_ERR_IO;
	}
	return FOTA_OK;
}

static int sq_schema_version(struct orch_store *base)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static fota_err migrate(struct sqlite_store *s, struct fota_error *err)
{
	char pragma[64];
	int v;
	fota_err rc = FOTA_OK;

	/* IMMEDIATE: two processes opening a fresh store must not both apply step 1. */
	if (exec(s, "BEGIN IMMEDIATE", err))
		return err ? err->code : FOTA_ERR_IO;
	v = sq_schema_version(&s->base);
	if (v > N_MIGRATIONS) {
		rc = fota_error_set(err, FOTA_ERR_STATE,
				    "store: schema version %d is newer than this program knows "
				    "(%d); upgrade fota-orchestrator",
				    v, N_MIGRATIONS);
		goto fail;
	}
	for (; v < N_MIGRATIONS; v++) {
		rc = exec(s, migrations[v].sql, err);
		if (rc) {
			fota_error_prefix(err, "migration");
			goto fail;
		}
		if (migrations[v].import_files) {
			rc = orch_store_import_files(&s->base, s->dir, err);
			if (rc)
				goto fail;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		rc = exec(s, pragma, err);
		if (rc)
			goto fail;
	}
	return exec(s, "COMMIT", err);
fail:
	exec(s, "ROLLBACK", NULL);
	return rc;
}

static void sq_close(struct orch_store *base)
{
	struct sqlite_store *s = S(base);
	size_t i;

	for (i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close(s->db); /* rolls back a transaction still open */
	if (s->has_turn)
		orch_store_turn_give(s->turns);
	orch_store_turns_put(s->turns);
	free(s);
}

/* The turn ends with the transaction, whichever way it ends (a failed COMMIT keeps it open). */
static void end_turn_if_done(struct sqlite_store *s)
{
	if (s->has_turn && sqlite3_get_autocommit(s->db)) {
		s->has_turn = false;
		orch_store_turn_give(s->turns);
	}
}

static fota_err sq_begin(struct orch_store *base, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	fota_err rc;

	if (s->turns && !s->has_turn)
		s->has_turn = orch_store_turn_take(s->turns, BUSY_TIMEOUT_MS);
	rc = exec(s, "BEGIN IMMEDIATE", err);
	end_turn_if_done(s);
	return rc;
}

/*
 * Makes what was committed survive a power cut. At synchronous=NORMAL a COMMIT leaves the
 * write-ahead log in the page cache; syncing the log file afterwards is what
 * synchronous=FULL does at the commit itself (that pragma cannot change inside a
 * transaction, when the caller would know it needs it). The log is appended to until a
 * checkpoint, which syncs it and the database before the log is reused, so one sync covers
 * this commit and every one before it, without a checkpoint's copying. Without a log (a
 * rollback journal, whose NORMAL commit syncs the database; a database in memory) there is
 * no file open to sync.
 */
static fota_err sync_log(struct sqlite_store *s, struct fota_error *err)
{
	sqlite3_file *log = NULL;
	int rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log);

	if (rc == SQLITE_OK && log && log->pMethods)
		rc = log->pMethods->xSync(log, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK)
		return fota_error_set(err, FOTA_ERR_IO,
				      "store: committed, but the write-ahead log did not sync: %s",
				      sqlite3_errstr(rc));
	return FOTA_OK;
}

static fota_err commit_txn(struct sqlite_store *s, bool durable, struct fota_error *err)
{
	fota_err rc = exec(s, "COMMIT", err);

	if (rc == FOTA_OK)
		s->seq_in_txn = false;
	end_turn_if_done(s);
	if (rc == FOTA_OK && durable)
		rc = sync_log(s, err);
	return rc;
}

static fota_err sq_commit(struct orch_store *base, struct fota_error *err)
{
	struct sqlite_store *s = S(base);

	return commit_txn(s, s->seq_in_txn, err);
}

static fota_err sq_commit_durable(struct orch_store *base, struct fota_error *err)
{
	return commit_txn(S(base), true, err);
}

static void sq_rollback(struct orch_store *base)
{
	struct sqlite_store *s = S(base);

	exec(s, "ROLLBACK", NULL);
	s->seq_in_txn = false;
	end_turn_if_done(s);
}

/* --- devices and groups ------------------------------------------------------------------- */

static const char sql_dev_put[] =
    "INSERT INTO devices (" ORCH_DEVICE_INSERT_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7)"
    " ON CONFLICT(id) DO UPDATE SET"
    " model = CASE WHEN ?2 = '' THEN model ELSE ?2 END,"
    " hw = CASE WHEN ?3 = '' THEN hw ELSE ?3 END,"
    " version = CASE WHEN ?4 = '' THEN version ELSE ?4 END,"
    " last_seen = MAX(last_seen, ?5), online = ?6,"
    " reported_groups = CASE WHEN ?7 = '' THEN reported_groups ELSE ?7 END";
static const char sql_grp_clear[] = "DELETE FROM device_groups WHERE device = ?1";
static const char sql_grp_new[] = "INSERT OR IGNORE INTO groups (name) VALUES (?1)";
static const char sql_grp_add[] =
    "INSERT OR IGNORE INTO device_groups (device, grp) VALUES (?1,?2)";

static fota_err sq_device_put(struct orch_store *base, const struct orch_device *d, bool set_groups,
			      struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	struct orch_params pv;
	fota_err rc;
	const char *p = d->groups;
	char g[FOTA_MAX_SEGMENT_LEN + 1];

	st = prep(s, sql_dev_put, err);
	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	pv = params(st);
	orch_params_device(&pv, d);
	rc = step_done(s, st, err, "device");
	if (rc || !set_groups)
		return rc;
	st = prep(s, sql_grp_clear, err);
	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, d->id);
	rc = step_done(s, st, err, "device groups");
	while (rc == FOTA_OK && (p = orch_group_list_next(p, g))) {
		st = prep(s, sql_grp_new, err);
		if (!st)
			return err ? err->code : FOTA_ERR_IO;
		bind_text(st, 1, g);
		rc = step_done(s, st, err, "group");
		if (rc)
			break;
		st = prep(s, sql_grp_add, err);
		if (!st)
			return err ? err->code : FOTA_ERR_IO;
		bind_text(st, 1, d->id);
		bind_text(st, 2, g);
		rc = step_done(s, st, err, "device group");
	}
	return rc;
}

#define DEV_COLS                                                                                   \
	"SELECT " ORCH_DEVICE_COLS ", COALESCE((SELECT group_concat(grp, ',') FROM"                \
	" (SELECT grp FROM device_groups g WHERE g.device = d.id ORDER BY grp)), "                 \
	"''), " ORCH_DEVICE_ASSIGNMENT_COLS " FROM devices d"
static const char sql_dev_get[] = DEV_COLS " WHERE d.id = ?1";
static const char sql_dev_all[] = DEV_COLS " ORDER BY d.id";
static const char sql_dev_grp[] =
    DEV_COLS " JOIN device_groups m ON m.device = d.id WHERE m.grp = ?1 ORDER BY d.id";

static fota_err sq_device_get(struct orch_store *base, const char *id, struct orch_device *out,
			      struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_dev_get, err);
	struct orch_cursor c;
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, id);
	c = cursor(st);
	rc = row_done(s, st, orch_rows_first_device(&c, out), err, "device");
	if (rc == FOTA_ERR_NOT_FOUND)
		return fota_error_set(err, rc, "no device '%s' in the registry", id);
	return rc;
}

static fota_err sq_device_each(struct orch_store *base, const char *group, orch_device_fn fn,
			       void *ctx, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, group ? sql_dev_grp : sql_dev_all, err);
	struct orch_cursor c;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	if (group)
		bind_text(st, 1, group);
	c = cursor(st);
	return rows_done(s, st, orch_rows_device(&c, fn, ctx), err, "devices");
}

static const char sql_cert_put[] = "UPDATE devices SET cert = ?2 WHERE id = ?1";
static const char sql_cert_get[] = "SELECT cert FROM devices WHERE id = ?1";

static fota_err sq_device_cert_put(struct orch_store *base, const char *id, const char *pem,
				   struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_cert_put, err);
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, id);
	bind_text(st, 2, pem);
	rc = step_done(s, st, err, "device certificate");
	if (rc == FOTA_OK && sqlite3_changes(s->db) == 0)
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device '%s' in the registry", id);
	return rc;
}

static fota_err sq_device_cert_get(struct orch_store *base, const char *id, char *pem, size_t cap,
				   struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_cert_get, err);
	int rc;

	pem[0] = '\0';
	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(pem, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(s, err, "device certificate");
	if (rc == SQLITE_DONE)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device '%s' in the registry",
				      id);
	if (!pem[0])
		return fota_error_set(err, FOTA_ERR_NOT_FOUND,
				      "device '%s' has no certificate in the registry", id);
	return FOTA_OK;
}

static const char sql_dev_assigned[] =
    "UPDATE devices SET assigned_groups = ?2, assignment_seq = ?3, assignment_published = ?4,"
    " assignment_expires = ?5 WHERE id = ?1";

static fota_err sq_device_assignment_put(struct orch_store *base, const char *id,
					 const char *groups, uint64_t seq, int64_t published,
					 int64_t expires, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_dev_assigned, err);
	struct orch_params pv;
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	pv = params(st);
	orch_params_assignment(&pv, id, groups, seq, published, expires);
	rc = step_done(s, st, err, "device assignment");
	if (rc == FOTA_OK && sqlite3_changes(s->db) == 0)
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "no device '%s' in the registry", id);
	return rc;
}

static const char sql_groups[] = "SELECT name FROM groups ORDER BY name";

static fota_err sq_group_each(struct orch_store *base, orch_name_fn fn, void *ctx,
			      struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_groups, err);
	int rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(ctx, (const char *)sqlite3_column_text(st, 0)))
			break;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(s, err, "groups");
	return FOTA_OK;
}

static const char sql_img_put[] =
    "INSERT INTO images (id, name, version, size, added) VALUES (?1,?2,?3,?4,?5)"
    " ON CONFLICT(id) DO UPDATE SET name = ?2, version = ?3, size = ?4";

static fota_err sq_image_put(struct orch_store *base, const char *id, const char *name,
			     const char *version, uint64_t size, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_img_put, err);

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, id);
	bind_text(st, 2, name);
	bind_text(st, 3, version);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 5, fota_time_now());
	return step_done(s, st, err, "image");
}

/* --- campaigns ----------------------------------------------------------------------------- */

static const char sql_camp_ins[] =
    "INSERT INTO campaigns (" ORCH_CAMPAIGN_COLS ")"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
    " ?23,?24,?25,?26,?27,?28,?29)";
static const char sql_camp_upd[] =
    "UPDATE campaigns SET image_id=?2, grp=?3, salt=?4, state=?5, reason=?6, stage=?7,"
    " fail_count=?8, fail_pct=?9, admit_per_min=?10, not_before=?11, not_after=?12,"
    " cur_percent=?13, directive_seq=?14, want_rev=?15, pub_rev=?16, created=?17, started=?18,"
    " stage_started=?19, stage_met=?20, resumed=?21, finished=?22, resumed_seq=?23,"
    " device_timeout_s=?24, timeout_skips=?25, model=?26, hw_revisions=?27, daily=?28, tz=?29"
    " WHERE id=?1";
static const char sql_stage_del[] = "DELETE FROM stages WHERE campaign = ?1";
static const char sql_stage_ins[] =
    "INSERT INTO stages (" ORCH_STAGE_INSERT_COLS ") VALUES (?1,?2,?3,?4,?5,?6)";

static fota_err write_campaign(struct sqlite_store *s, const char *sql,
			       const struct orch_campaign *c, struct fota_error *err)
{
	sqlite3_stmt *st = prep(s, sql, err);
	struct orch_params pv;
	uint32_t i;
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	pv = params(st);
	orch_params_campaign(&pv, c);
	rc = step_done(s, st, err, "campaign");
	if (rc)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "no campaign '%s'", c->id);
	st = prep(s, sql_stage_del, err);
	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, c->id);
	rc = step_done(s, st, err, "stages");
	for (i = 0; rc == FOTA_OK && i < c->n_stages; i++) {
		st = prep(s, sql_stage_ins, err);
		if (!st)
			return err ? err->code : FOTA_ERR_IO;
		pv = params(st);
		orch_params_stage(&pv, c->id, i, &c->stages[i]);
		rc = step_done(s, st, err, "stage");
	}
	return rc;
}

static fota_err sq_campaign_create(struct orch_store *base, const struct orch_campaign *c,
				   struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	fota_err rc = write_campaign(s, sql_camp_ins, c, err);

	if (rc && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		return fota_error_set(err, FOTA_ERR_STATE, "campaign '%s' exists already", c->id);
	return rc;
}

static fota_err sq_campaign_put(struct orch_store *base, const struct orch_campaign *c,
				struct fota_error *err)
{
	return write_campaign(S(base), sql_camp_upd, c, err);
}

static const char sql_camp_get[] = "SELECT " ORCH_CAMPAIGN_COLS " FROM campaigns WHERE id = ?1";
static const char sql_stage_get[] =
    "SELECT " ORCH_STAGE_COLS " FROM stages WHERE campaign = ?1 ORDER BY idx";

static fota_err sq_campaign_get(struct orch_store *base, const char *id, struct orch_campaign *out,
				struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_camp_get, err);
	struct orch_campaign row, *c = &row; /* *out is written only on success */
	struct orch_cursor cur;
	int n;
	fota_err rc;

	memset(c, 0, sizeof(*c));
	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, id);
	cur = cursor(st);
	n = cur.next(st);
	if (n > 0)
		orch_row_campaign(&cur.row, c);
	rc = row_done(s, st, n, err, "campaign");
	if (rc == FOTA_ERR_NOT_FOUND)
		return fota_error_set(err, rc, "no campaign '%s'", id);
	if (rc)
		return rc;

	st = prep(s, sql_stage_get, err);
	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, id);
	cur = cursor(st);
	while (rc == FOTA_OK && c->n_stages < ORCH_MAX_STAGES && (n = cur.next(st)) > 0) {
		rc = orch_row_stage(&cur.row, &c->stages[c->n_stages], err);
		if (rc == FOTA_OK)
			c->n_stages++;
	}
	sqlite3_reset(st);
	if (rc == FOTA_OK && n < 0)
		rc = db_error(s, err, "stages");
	if (rc) {
		orch_campaign_clear(c);
		return rc;
	}
	*out = row;
	return FOTA_OK;
}

static const char sql_camp_all[] = "SELECT id FROM campaigns ORDER BY created, id";
static const char sql_camp_active[] =
    "SELECT id FROM campaigns WHERE state IN ('running','paused')"
    " OR (state IN ('aborted','completed') AND pub_rev < want_rev) ORDER BY created, id";

static fota_err sq_campaign_each(struct orch_store *base, bool active_only, orch_name_fn fn,
				 void *ctx, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, active_only ? sql_camp_active : sql_camp_all, err);
	char **ids = NULL;
	size_t n = 0, i;
	int rc;
	fota_err ret = FOTA_OK;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	/* Collected first: the callback may use the store (and this cached statement). */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char **tmp = realloc(ids, (n + 1) * sizeof(*ids));

		if (!tmp || !(tmp[n] = strdup((const char *)sqlite3_column_text(st, 0)))) {
			ids = tmp ? tmp : ids;
			ret = fota_error_set(err, FOTA_ERR_NOMEM, "store: out of memory");
			break;
		}
		ids = tmp;
		n++;
	}
	sqlite3_reset(st);
	if (ret == FOTA_OK && rc != SQLITE_DONE)
		ret = db_error(s, err, "campaigns");
	for (i = 0; ret == FOTA_OK && i < n; i++)
		if (fn(ctx, ids[i]))
			break;
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return ret;
}

/* --- per-device campaign state ------------------------------------------------------------ */

static const char sql_cdev_admit[] =
    "INSERT OR IGNORE INTO campaign_devices (campaign, device, stage, admitted)"
    " VALUES (?1,?2,?3,?4)";
static const char sql_cdev_put[] =
    "INSERT INTO campaign_devices (campaign, " ORCH_CDEV_COLS ")"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
    " ON CONFLICT(campaign, device) DO UPDATE SET stage=?3, admitted=?4, reported=?5, state=?6,"
    " result=?7, reason=?8, chunks_present=?9, chunk_count=?10, updated=?11, seq=?12,"
    " device_ts=?13, mark=?14";
static const char sql_cdev_get[] =
    "SELECT " ORCH_CDEV_COLS " FROM campaign_devices WHERE campaign = ?1 AND device = ?2";
static const char sql_cdev_all[] =
    "SELECT " ORCH_CDEV_COLS " FROM campaign_devices WHERE campaign = ?1 ORDER BY device";

static fota_err sq_cdev_admit(struct orch_store *base, const char *campaign, const char *device,
			      uint32_t stage, int64_t now, bool *inserted, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_cdev_admit, err);
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, campaign);
	bind_text(st, 2, device);
	sqlite3_bind_int64(st, 3, stage);
	sqlite3_bind_int64(st, 4, now);
	rc = step_done(s, st, err, "admission");
	if (rc == FOTA_OK && inserted)
		*inserted = sqlite3_changes(s->db) > 0;
	return rc;
}

static fota_err sq_cdev_put(struct orch_store *base, const char *campaign,
			    const struct orch_cdev *d, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_cdev_put, err);
	struct orch_params pv;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	pv = params(st);
	orch_params_cdev(&pv, campaign, d);
	return step_done(s, st, err, "campaign device");
}

static fota_err sq_cdev_get(struct orch_store *base, const char *campaign, const char *device,
			    struct orch_cdev *out, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_cdev_get, err);
	struct orch_cursor c;
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, campaign);
	bind_text(st, 2, device);
	c = cursor(st);
	rc = row_done(s, st, orch_rows_first_cdev(&c, out), err, "campaign device");
	if (rc == FOTA_ERR_NOT_FOUND)
		return fota_error_set(err, rc, "device %s is not in campaign %s", device, campaign);
	return rc;
}

static fota_err sq_cdev_each(struct orch_store *base, const char *campaign, orch_cdev_fn fn,
			     void *ctx, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_cdev_all, err);
	struct orch_cursor c;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, campaign);
	c = cursor(st);
	return rows_done(s, st, orch_rows_cdev(&c, fn, ctx), err, "campaign devices");
}

/* --- events -------------------------------------------------------------------------------- */

static const char sql_ev_add[] =
    "INSERT INTO events (" ORCH_EVENT_INSERT_COLS ") VALUES (?1,?2,?3,?4,?5,?6)";
static const char sql_ev_all[] =
    "SELECT " ORCH_EVENT_COLS " FROM events"
    " WHERE (?1 IS NULL OR campaign = ?1) AND (?2 IS NULL OR device = ?2) ORDER BY seq";

static fota_err sq_event_append(struct orch_store *base, struct orch_event *e,
				struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_ev_add, err);
	int64_t ts = e->ts ? e->ts : fota_time_now();
	struct orch_params pv;
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	pv = params(st);
	orch_params_event(&pv, e, ts);
	rc = step_done(s, st, err, "event");
	if (rc == FOTA_OK) {
		e->ts = ts;
		e->seq = sqlite3_last_insert_rowid(s->db);
	}
	return rc;
}

static fota_err sq_event_each(struct orch_store *base, const char *campaign, const char *device,
			      orch_event_fn fn, void *ctx, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_ev_all, err);
	struct orch_cursor c;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	if (campaign)
		bind_text(st, 1, campaign);
	if (device)
		bind_text(st, 2, device);
	c = cursor(st);
	return rows_done(s, st, orch_rows_event(&c, fn, ctx), err, "events");
}

static const char sql_bc_put[] = "INSERT OR REPLACE INTO broadcasts (" ORCH_BCAST_COLS ")"
				 " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)";
static const char sql_bc_all[] =
    "SELECT " ORCH_BCAST_COLS
    " FROM broadcasts WHERE (?1 IS NULL OR state = ?1) ORDER BY grp, image_id";

static fota_err sq_bcast_put(struct orch_store *base, const struct orch_bcast_rec *b,
			     struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_bc_put, err);
	struct orch_params pv;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	pv = params(st);
	orch_params_bcast(&pv, b);
	return step_done(s, st, err, "broadcast");
}

static fota_err sq_bcast_each(struct orch_store *base, bool active_only, orch_bcast_fn fn,
			      void *ctx, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_bc_all, err);
	struct orch_cursor c;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	if (active_only)
		bind_text(st, 1, ORCH_BCAST_ACTIVE);
	c = cursor(st);
	return rows_done(s, st, orch_rows_bcast(&c, fn, ctx), err, "broadcasts");
}

/* --- group directive sequences and publish records ------------------------------------------ */

static const char sql_seq_next[] = "INSERT INTO group_seqs (grp, seq) VALUES (?1, 1)"
				   " ON CONFLICT(grp) DO UPDATE SET seq = seq + 1 RETURNING seq";
static const char sql_seq_raise[] = "INSERT INTO group_seqs (grp, seq) VALUES (?1, ?2)"
				    " ON CONFLICT(grp) DO UPDATE SET seq = MAX(seq, ?2)";
static const char sql_pub_put[] =
    "INSERT OR REPLACE INTO group_pubs (" ORCH_GROUP_PUB_COLS ") VALUES (?1,?2,?3,?4,?5)";
static const char sql_pub_get[] = "SELECT " ORCH_GROUP_PUB_COLS " FROM group_pubs WHERE grp = ?1";

static fota_err sq_directive_seq_next(struct orch_store *base, const char *group, uint64_t *seq,
				      struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_seq_next, err);
	bool own_txn = sqlite3_get_autocommit(s->db) != 0;
	fota_err frc = FOTA_OK;
	int rc;
	uint64_t v = 0;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	/* A sequence lost to a power cut would be handed out again, and devices that saw the
	 * first message with it would refuse the second: the transaction that hands it out is
	 * committed durably (commit_durable), this call's own or the caller's. */
	if (own_txn && (frc = sq_begin(base, err)) != FOTA_OK)
		return frc;
	bind_text(st, 1, group);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v = (uint64_t)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || v == 0)
		frc = db_error(s, err, "directive sequence");
	else
		s->seq_in_txn = true;
	if (own_txn && frc == FOTA_OK)
		frc = sq_commit_durable(base, err);
	if (own_txn && frc != FOTA_OK)
		sq_rollback(base);
	if (frc == FOTA_OK)
		*seq = v;
	return frc;
}

static fota_err sq_directive_seq_raise(struct orch_store *base, const char *group, uint64_t last,
				       struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_seq_raise, err);

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, group);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)last);
	return step_done(s, st, err, "directive sequence");
}

static fota_err sq_group_pub_put(struct orch_store *base, const struct orch_group_pub *p,
				 struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_pub_put, err);
	struct orch_params pv;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	pv = params(st);
	orch_params_group_pub(&pv, p);
	return step_done(s, st, err, "group publish record");
}

static fota_err sq_group_pub_get(struct orch_store *base, const char *group,
				 struct orch_group_pub *out, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_pub_get, err);
	struct orch_cursor c;
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	bind_text(st, 1, group);
	c = cursor(st);
	rc = row_done(s, st, orch_rows_first_group_pub(&c, out), err, "group publish record");
	if (rc == FOTA_ERR_NOT_FOUND)
		return fota_error_set(err, rc, "nothing was published to group %s", group);
	return rc;
}

/* --- audit trail of device statuses ----------------------------------------------------------- */

static const char sql_audit_add[] =
    "INSERT INTO audit (" ORCH_AUDIT_INSERT_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)";
static const char sql_audit_all[] =
    "SELECT " ORCH_AUDIT_COLS " FROM audit WHERE (?1 IS NULL OR device = ?1) ORDER BY seq";

static fota_err sq_audit_append(struct orch_store *base, struct orch_audit *a,
				struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_audit_add, err);
	int64_t ts = a->ts ? a->ts : fota_time_now();
	struct orch_params pv;
	fota_err rc;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	pv = params(st);
	orch_params_audit(&pv, a, ts);
	rc = step_done(s, st, err, "audit");
	if (rc == FOTA_OK) {
		a->ts = ts;
		a->seq = sqlite3_last_insert_rowid(s->db);
	}
	return rc;
}

static fota_err sq_audit_each(struct orch_store *base, const char *device, orch_audit_fn fn,
			      void *ctx, struct fota_error *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = prep(s, sql_audit_all, err);
	struct orch_cursor c;

	if (!st)
		return err ? err->code : FOTA_ERR_IO;
	if (device)
		bind_text(st, 1, device);
	c = cursor(st);
	return rows_done(s, st, orch_rows_audit(&c, fn, ctx), err, "audit");
}

/* One serve owns a SQLite store (the state-directory lock): every lock is its own. */
static fota_err sq_lock_try(struct orch_store *base, const char *name, bool *got,
			    struct fota_error *err)
{
	(void)base;
	(void)name;
	(void)err;
	*got = true;
	return FOTA_OK;
}

static void sq_unlock(struct orch_store *base, const char *name)
{
	(void)base;
	(void)name;
}

static const struct orch_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .commit_durable = sq_commit_durable,
    .rollback = sq_rollback,
    .schema_version = sq_schema_version,
    .device_put = sq_device_put,
    .device_get = sq_device_get,
    .device_each = sq_device_each,
    .group_each = sq_group_each,
    .device_cert_put = sq_device_cert_put,
    .device_cert_get = sq_device_cert_get,
    .device_assignment_put = sq_device_assignment_put,
    .image_put = sq_image_put,
    .campaign_create = sq_campaign_create,
    .campaign_put = sq_campaign_put,
    .campaign_get = sq_campaign_get,
    .campaign_each = sq_campaign_each,
    .cdev_admit = sq_cdev_admit,
    .cdev_put = sq_cdev_put,
    .cdev_get = sq_cdev_get,
    .cdev_each = sq_cdev_each,
    .event_append = sq_event_append,
    .event_each = sq_event_each,
    .bcast_put = sq_bcast_put,
    .bcast_each = sq_bcast_each,
    .directive_seq_next = sq_directive_seq_next,
    .directive_seq_raise = sq_directive_seq_raise,
    .group_pub_put = sq_group_pub_put,
    .group_pub_get = sq_group_pub_get,
    .audit_append = sq_audit_append,
    .audit_each = sq_audit_each,
    .lock_try = sq_lock_try,
    .unlock = sq_unlock,
};

fota_err orch_store_sqlite_open(const char *path, struct orch_store **out, struct fota_error *err)
{
	struct sqlite_store *s = calloc(1, sizeof(*s));
	fota_err rc;

	*out = NULL;
	if (!s)
		return fota_error_set(err, FOTA_ERR_NOMEM, "store: out of memory");
	s->base.ops = &sqlite_ops;
	/* Files an older version kept beside the database are imported from its directory. */
	{
		const char *slash = strrchr(path, '/');

		if (!slash)
			snprintf(s->dir, sizeof(s->dir), ".");
		else if (slash == path)
			snprintf(s->dir, sizeof(s->dir), "/");
		else
			snprintf(s->dir, sizeof(s->dir), "%.*s", (int)(slash - path), path);
	}
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = fota_error_set(err, FOTA_ERR_IO, "store: cannot open %s: %s", path,
				    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* WAL: readers (CLI status) never block the daemon's writer. synchronous=NORMAL is
	 * durable against a process crash (the test kills with -9); a power cut may lose the
	 * last transactions, which the retained device statuses replay. */
	rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
		  err);
	/* No checkpoint when the last connection closes: it synced the WAL and the database
	 * (0.13 s after publish saw confirmed, in a trace on a loaded machine) for no promise
	 * of ours. What is committed survives a process crash in the WAL as well as in the
	 * database; a power cut may lose the last transactions either way, as said above. A
	 * writer's automatic checkpoint (every 1,000 WAL pages) moves the WAL into the
	 * database; the WAL and its index stay beside the database file between commands. */
	if (rc == FOTA_OK &&
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK)
		rc = fota_error_set(err, FOTA_ERR_IO, "store: %s", sqlite3_errmsg(s->db));
	if (rc == FOTA_OK)
		rc = migrate(s, err);
	if (rc)
		goto fail;
	{
		/* One queue per file, however the path was spelled; a database in memory is
		 * its connection's alone. */
		char real[PATH_MAX];

		if (strcmp(path, ":memory:") != 0 && realpath(path, real))
			s->turns = orch_store_turns_get(real);
	}
	*out = &s->base;
	return FOTA_OK;
fail:
	sq_close(&s->base);
	return rc;
}
