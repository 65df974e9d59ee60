/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the store: migrations, registry, campaigns, admissions, audit log. On SQLite;
 * with FOTA_TEST_STORE=postgresql://... (tests/tools/with_postgres.sh) the same tests run on
 * PostgreSQL. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "broadcast_store.h"
#include "campaign.h"
#include "store.h"

static char dir[] = "/tmp/check_store.XXXXXX";
static char path[sizeof(dir) + 32];
static const char *pg_uri; /* FOTA_TEST_STORE: the PostgreSQL run, else SQLite */

static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Runs sql on the store's database behind the store's back (a shell user would); true if it
 * succeeded, else the database's message in msg. */
static bool raw_exec(const char *sql, char *msg, size_t size)
{
	bool ok;

	msg[0] = '\0';
	if (pg_uri) {
		PGconn *c = PQconnectdb(pg_uri);
		PGresult *r;

		PQsetNoticeProcessor(c, quiet_notice, NULL);
		r = PQexec(c, sql);

		ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok)
			snprintf(msg, size, "%s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db = NULL;

		ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
		ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
		if (!ok)
			snprintf(msg, size, "%s", sqlite3_errmsg(db));
		sqlite3_close(db);
	}
	return ok;
}

/* Undoes migration 7, for tests that take a store back to an older version. */
#define DROP_ASSIGNMENT_COLS                                                                       \
	" ALTER TABLE devices DROP COLUMN reported_groups;"                                        \
	" ALTER TABLE devices DROP COLUMN assigned_groups;"                                        \
	" ALTER TABLE devices DROP COLUMN assignment_seq;"                                         \
	" ALTER TABLE devices DROP COLUMN assignment_published;"                                   \
	" ALTER TABLE devices DROP COLUMN assignment_expires;"

static int latest_version(void)
{
	return pg_uri ? orch_store_pg_latest_version() : orch_store_sqlite_latest_version();
}

static void setup(void)
{
	char msg[512];

	ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/check_store.XXXXXX")));
	snprintf(path, sizeof(path), "%s/o.db", dir);
	/* Each test starts from an empty database. */
	if (pg_uri)
		ck_assert_msg(
		    raw_exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public", msg, sizeof(msg)),
		    "%s", msg);
}

static void teardown(void)
{
	char p[sizeof(path) + 8];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
}

static struct orch_store *open_store(void)
{
	struct orch_store *s = NULL;
	struct fota_error err = {0};

	ck_assert_msg(orch_store_open(pg_uri ? pg_uri : path, &s, &err) == FOTA_OK, "%s", err.msg);
	return s;
}

START_TEST(test_migrations)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	char msg[512];

	ck_assert_int_eq(s->ops->schema_version(s), latest_version());
	ck_assert_int_eq(orch_store_sqlite_latest_version(), orch_store_pg_latest_version());
	orch_store_close(s);
	/* Reopening applies nothing twice. */
	s = open_store();
	ck_assert_int_eq(s->ops->schema_version(s), latest_version());
	orch_store_close(s);
	/* A store from a newer program is refused, with the reason. */
	ck_assert_msg(
	    raw_exec(pg_uri ? "UPDATE fota_schema SET version = 999" : "PRAGMA user_version = 999",
		     msg, sizeof(msg)),
	    "%s", msg);
	ck_assert_int_eq(orch_store_open(pg_uri ? pg_uri : path, &s, &err), FOTA_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer"));
	/* A scheme no backend has is refused before anything is created; a database that
	 * does not answer says so. */
	ck_assert_int_eq(orch_store_open("mysql://db/fota", &s, &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "unsupported backend"));
	ck_assert_int_eq(
	    orch_store_open("postgresql://127.0.0.1:1/fota?connect_timeout=2", &s, &err),
	    FOTA_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot connect to PostgreSQL"));
}
END_TEST

static int count_dev(void *ctx, const struct orch_device *d)
{
	(void)d;
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_devices)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	struct orch_device d, got;
	int n = 0;

	memset(&d, 0, sizeof(d));
	strcpy(d.id, "gw-1");
	strcpy(d.model, "gw-100");
	strcpy(d.version, "1.0.0");
	strcpy(d.groups, "lab,north");
	d.last_seen = 50;
	d.online = true;
	ck_assert_int_eq(s->ops->device_put(s, &d, true, &err), FOTA_OK);
	/* A report without model or groups keeps what is known; last_seen never goes back. */
	memset(&d, 0, sizeof(d));
	strcpy(d.id, "gw-1");
	strcpy(d.version, "2.0.0");
	d.last_seen = 40;
	ck_assert_int_eq(s->ops->device_put(s, &d, false, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->device_get(s, "gw-1", &got, &err), FOTA_OK);
	ck_assert_str_eq(got.model, "gw-100");
	ck_assert_str_eq(got.version, "2.0.0");
	ck_assert_str_eq(got.groups, "lab,north");
	ck_assert_int_eq(got.last_seen, 50);
	ck_assert(!got.online);
	strcpy(d.id, "gw-2");
	strcpy(d.groups, "north");
	ck_assert_int_eq(s->ops->device_put(s, &d, true, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->device_each(s, "lab", count_dev, &n, &err), FOTA_OK);
	ck_assert_int_eq(n, 1);
	n = 0;
	ck_assert_int_eq(s->ops->device_each(s, "north", count_dev, &n, &err), FOTA_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(s->ops->device_get(s, "nope", &got, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	orch_store_close(s);
}
END_TEST

/* What a device reports it follows and the assignment last published for it: a report keeps
 * the record, a report without groups keeps the reported ones. */
START_TEST(test_device_assignment)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	struct orch_device d, got;

	memset(&d, 0, sizeof(d));
	strcpy(d.id, "gw-1");
	strcpy(d.groups, "canary,lab");
	strcpy(d.reported, "lab");
	ck_assert_int_eq(s->ops->device_put(s, &d, true, &err), FOTA_OK);
	ck_assert_int_eq(
	    s->ops->device_assignment_put(s, "gw-1", "canary,lab", 3, 1700000000, 1731536000, &err),
	    FOTA_OK);
	d.reported[0] = '\0';
	d.last_seen = 60;
	ck_assert_int_eq(s->ops->device_put(s, &d, false, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->device_get(s, "gw-1", &got, &err), FOTA_OK);
	ck_assert_str_eq(got.reported, "lab");
	ck_assert_str_eq(got.assigned, "canary,lab");
	ck_assert_uint_eq(got.assignment_seq, 3);
	ck_assert_int_eq(got.assignment_published, 1700000000);
	ck_assert_int_eq(got.assignment_expires, 1731536000);
	strcpy(d.reported, "canary,lab");
	ck_assert_int_eq(s->ops->device_put(s, &d, false, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->device_get(s, "gw-1", &got, &err), FOTA_OK);
	ck_assert_str_eq(got.reported, "canary,lab");
	ck_assert_uint_eq(got.assignment_seq, 3);
	ck_assert_int_eq(s->ops->device_assignment_put(s, "nope", "", 1, 1, 1, &err),
			 FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	orch_store_close(s);
}
END_TEST

START_TEST(test_device_cert)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	struct orch_device d, got;
	char pem[ORCH_MAX_DEVICE_CERT_PEM];
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

	memset(&d, 0, sizeof(d));
	strcpy(d.id, "gw-1");
	strcpy(d.groups, "lab");
	ck_assert_int_eq(s->ops->device_put(s, &d, true, &err), FOTA_OK);
	/* Registered without one: absent, and the message says so. */
	ck_assert_int_eq(s->ops->device_cert_get(s, "gw-1", pem, sizeof(pem), &err),
			 FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no certificate"));
	ck_assert_int_eq(s->ops->device_cert_put(s, "gw-1", cert, &err), FOTA_OK);
	/* A status report (device_put) keeps it. */
	strcpy(d.version, "2.0.0");
	ck_assert_int_eq(s->ops->device_put(s, &d, false, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->device_cert_get(s, "gw-1", pem, sizeof(pem), &err), FOTA_OK);
	ck_assert_str_eq(pem, cert);
	ck_assert_int_eq(s->ops->device_get(s, "gw-1", &got, &err), FOTA_OK);
	ck_assert_str_eq(got.groups, "lab");
	/* Unregistered devices have nothing to store it on. */
	ck_assert_int_eq(s->ops->device_cert_put(s, "gw-9", cert, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "gw-9"));
	ck_assert_int_eq(s->ops->device_cert_get(s, "gw-9", pem, sizeof(pem), &err),
			 FOTA_ERR_NOT_FOUND);
	ck_assert_int_eq(s->ops->device_cert_put(s, "gw-1", "", &err), FOTA_OK);
	ck_assert_int_eq(s->ops->device_cert_get(s, "gw-1", pem, sizeof(pem), &err),
			 FOTA_ERR_NOT_FOUND);
	orch_store_close(s);
}
END_TEST

static int count_ev(void *ctx, const struct orch_event *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_campaign_round_trip)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	struct orch_campaign c, got;
	struct orch_cdev d;
	bool ins = false;
	int n = 0;
	char msg[512];

	memset(&c, 0, sizeof(c));
	strcpy(c.id, "r1");
	strcpy(c.image_id, "0011223344556677");
	strcpy(c.group, "lab");
	strcpy(c.salt, "r1");
	ck_assert_int_eq(orch_stage_parse("a,b", &c.stages[0], &err), FOTA_OK);
	ck_assert_int_eq(orch_stage_parse("50%:success=90:wait=5", &c.stages[1], &err), FOTA_OK);
	c.n_stages = 2;
	c.fail_count = 2;
	c.created = 7;
	ck_assert_int_eq(s->ops->image_put(s, c.image_id, "fw", "2.0.0", 1024, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->campaign_create(s, &c, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->campaign_create(s, &c, &err), FOTA_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err.msg, "exists"));
	c.state = ORCH_CAMPAIGN_PAUSED;
	strcpy(c.reason, "why");
	c.want_rev = 3;
	c.resumed_seq = 41;
	c.device_timeout_s = 604800;
	c.timeout_skips = true;
	strcpy(c.model, "gw-100");
	strcpy(c.hw_revisions, "B,C");
	ck_assert_int_eq(fota_daily_window_parse("22:30-04:00", "Europe/Berlin", &c.daily, &err),
			 FOTA_OK);
	ck_assert_int_eq(s->ops->campaign_put(s, &c, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->campaign_get(s, "r1", &got, &err), FOTA_OK);
	ck_assert_int_eq(got.state, ORCH_CAMPAIGN_PAUSED);
	ck_assert_str_eq(got.reason, "why");
	ck_assert_uint_eq(got.n_stages, 2);
	ck_assert_str_eq(got.stages[0].devices, "a,b");
	ck_assert_uint_eq(got.stages[1].percent, 50);
	ck_assert_uint_eq(got.stages[1].success_pct, 90);
	ck_assert_uint_eq(got.stages[1].wait_s, 5);
	ck_assert_uint_eq(got.want_rev, 3);
	ck_assert_int_eq(got.resumed_seq, 41);
	ck_assert_uint_eq(got.device_timeout_s, 604800);
	ck_assert(got.timeout_skips);
	ck_assert_str_eq(got.model, "gw-100");
	ck_assert_str_eq(got.hw_revisions, "B,C");
	ck_assert(got.daily.set);
	ck_assert_uint_eq(got.daily.start_min, 22 * 60 + 30);
	ck_assert_uint_eq(got.daily.end_min, 240);
	ck_assert_str_eq(got.daily.tz, "Europe/Berlin");
	orch_campaign_clear(&got);
	ck_assert_int_eq(s->ops->campaign_get(s, "r2", &got, &err), FOTA_ERR_NOT_FOUND);

	/* Admission is recorded once, whatever happens later. */
	ck_assert_int_eq(s->ops->cdev_admit(s, "r1", "a", 0, 10, &ins, &err), FOTA_OK);
	ck_assert(ins);
	ck_assert_int_eq(s->ops->cdev_admit(s, "r1", "a", 1, 20, &ins, &err), FOTA_OK);
	ck_assert(!ins);
	ck_assert_int_eq(s->ops->cdev_get(s, "r1", "a", &d, &err), FOTA_OK);
	ck_assert_uint_eq(d.stage, 0);
	ck_assert_int_eq(d.admitted, 10);
	d.state = FOTA_STATE_FAILED;
	d.result = FOTA_RESULT_HEALTH_CHECK_FAILED;
	d.reported = true;
	d.seq = 77;
	d.device_ts = 1800000000;
	d.mark = ORCH_CMARK_TIMED_OUT;
	ck_assert_int_eq(s->ops->cdev_put(s, "r1", &d, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->cdev_get(s, "r1", "a", &d, &err), FOTA_OK);
	ck_assert_int_eq(d.result, FOTA_RESULT_HEALTH_CHECK_FAILED);
	ck_assert_int_eq(d.admitted, 10);
	ck_assert_int_eq(d.seq, 77);
	ck_assert_int_eq(d.device_ts, 1800000000);
	ck_assert_str_eq(orch_cmark_name(d.mark), "timed_out");

	/* The audit log only grows. */
	ck_assert_int_eq(
	    orch_campaign_event(s, "r1", "a", "failed", "health_check_failed", &err, "%s", "boom"),
	    FOTA_OK);
	ck_assert_int_eq(orch_campaign_event(s, "r1", "", "paused", "", &err, "x"), FOTA_OK);
	ck_assert_int_eq(s->ops->event_each(s, "r1", "a", count_ev, &n, &err), FOTA_OK);
	ck_assert_int_eq(n, 1);
	orch_store_close(s);
	ck_assert(!raw_exec("DELETE FROM events", msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, "append-only"));
	ck_assert(!raw_exec("UPDATE events SET kind='x'", msg, sizeof(msg)));
	orch_campaign_clear(&c);
}
END_TEST

static int collect_bcast(void *ctx, const struct orch_bcast_rec *b)
{
	struct orch_bcast_rec *out = ctx;
	size_t i = 0;

	while (out[i].group[0])
		i++;
	out[i] = *b;
	return 0;
}

START_TEST(test_broadcast_progress)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	struct orch_bcast_rec b, got[4];
	struct orch_device d;
	char msg[512];

	memset(&b, 0, sizeof(b));
	strcpy(b.group, "lab");
	strcpy(b.image_id, "00112233aabbccdd");
	strcpy(b.campaign, "r1");
	strcpy(b.state, ORCH_BCAST_ACTIVE);
	b.devices = 3;
	b.chunk_count = 64;
	b.next_chunk = 17;
	ck_assert_int_eq(s->ops->bcast_put(s, &b, &err), FOTA_OK);
	/* The same group and image again: the row is replaced, not doubled. */
	b.next_chunk = 40;
	ck_assert_int_eq(s->ops->bcast_put(s, &b, &err), FOTA_OK);
	strcpy(b.group, "north");
	strcpy(b.state, "success");
	b.next_chunk = 64;
	ck_assert_int_eq(s->ops->bcast_put(s, &b, &err), FOTA_OK);
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(s->ops->bcast_each(s, true, collect_bcast, got, &err), FOTA_OK);
	ck_assert_str_eq(got[0].group, "lab");
	ck_assert_str_eq(got[0].campaign, "r1");
	ck_assert_uint_eq(got[0].next_chunk, 40);
	ck_assert_uint_eq(got[0].chunk_count, 64);
	ck_assert_uint_eq(got[0].devices, 3);
	ck_assert_int_gt(got[0].updated, 0);
	ck_assert_str_eq(got[1].group, "");
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(s->ops->bcast_each(s, false, collect_bcast, got, &err), FOTA_OK);
	ck_assert_str_eq(got[1].group, "north");
	ck_assert_str_eq(got[1].state, "success");
	memset(&d, 0, sizeof(d));
	strcpy(d.id, "gw-1");
	strcpy(d.groups, "lab");
	ck_assert_int_eq(s->ops->device_put(s, &d, true, &err), FOTA_OK);
	orch_store_close(s);

	/* A state directory from before broadcasts were stored: the migrations add the tables
	 * and keeps everything else. */
	ck_assert_msg(raw_exec(pg_uri
				   ? "DROP TABLE broadcasts; DROP TABLE group_seqs;"
				     " DROP TABLE group_pubs; DROP TABLE audit;"
				     " ALTER TABLE devices DROP COLUMN cert;" DROP_ASSIGNMENT_COLS
				     " UPDATE fota_schema SET version = 3"
				   : "DROP TABLE broadcasts; DROP TABLE group_seqs;"
				     " DROP TABLE group_pubs; DROP TABLE audit;"
				     " ALTER TABLE devices DROP COLUMN cert;" DROP_ASSIGNMENT_COLS
				     " PRAGMA user_version = 3",
			       msg, sizeof(msg)),
		      "%s", msg);
	s = open_store();
	ck_assert_int_eq(s->ops->schema_version(s), latest_version());
	ck_assert_int_eq(s->ops->device_get(s, "gw-1", &d, &err), FOTA_OK);
	ck_assert_str_eq(d.groups, "lab");
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(s->ops->bcast_each(s, false, collect_bcast, got, &err), FOTA_OK);
	ck_assert_str_eq(got[0].group, "");
	strcpy(b.state, ORCH_BCAST_ACTIVE);
	ck_assert_int_eq(s->ops->bcast_put(s, &b, &err), FOTA_OK);
	orch_store_close(s);
}
END_TEST

START_TEST(test_directive_seq)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	uint64_t seq = 0, other = 0;

	/* Per group, from 1, rising by one; groups do not share a counter. */
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, 1);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, 2);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "north", &other, &err), FOTA_OK);
	ck_assert_uint_eq(other, 1);
	/* Inside a transaction, rolled back: not handed out; committed: kept. */
	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, 3);
	s->ops->rollback(s);
	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, 3);
	ck_assert_int_eq(s->ops->commit_durable(s, &err), FOTA_OK);
	/* Raising never lowers. */
	ck_assert_int_eq(s->ops->directive_seq_raise(s, "lab", 1, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->directive_seq_raise(s, "north", 40, &err), FOTA_OK);
	orch_store_close(s);
	/* Durable across handles: a restart continues above what was handed out. */
	s = open_store();
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, 4);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "north", &other, &err), FOTA_OK);
	ck_assert_uint_eq(other, 41);
	orch_store_close(s);
}
END_TEST

/*
 * Syncs of SQLite's write-ahead log, counted by a VFS over the default one that every
 * connection of this process opens files through: the one sign a test can see that a commit
 * would survive a power cut (synchronous=NORMAL commits leave the log in the page cache).
 */
static sqlite3_vfs *real_vfs;
static sqlite3_vfs counting_vfs;
static const sqlite3_io_methods *real_log_methods;
static sqlite3_io_methods counting_log_methods;
static int log_syncs;

static int counting_sync(sqlite3_file *f, int flags)
{
	log_syncs++;
	return real_log_methods->xSync(f, flags);
}

static int counting_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
			 int *out)
{
	int rc = real_vfs->xOpen(real_vfs, name, f, flags, out);

	(void)vfs;
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && f->pMethods) {
		/* The file is the real VFS's; only its sync goes through the counter. */
		ck_assert(!real_log_methods || real_log_methods == f->pMethods);
		real_log_methods = f->pMethods;
		counting_log_methods = *f->pMethods;
		counting_log_methods.xSync = counting_sync;
		f->pMethods = &counting_log_methods;
	}
	return rc;
}

static void count_log_syncs(void)
{
	if (real_vfs)
		return;
	real_vfs = sqlite3_vfs_find(NULL);
	ck_assert_ptr_nonnull(real_vfs);
	counting_vfs = *real_vfs;
	counting_vfs.zName = "counting";
	counting_vfs.xOpen = counting_open;
	ck_assert_int_eq(sqlite3_vfs_register(&counting_vfs, 1), SQLITE_OK);
}

/* commit survives a crash of the process; commit_durable also syncs the log. */
START_TEST(test_commit_durable)
{
	struct orch_store *s;
	struct fota_error err = {0};
	struct orch_device d;
	int before;

	count_log_syncs();
	s = open_store();
	memset(&d, 0, sizeof(d));
	strcpy(d.id, "gw-1");
	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->device_put(s, &d, false, &err), FOTA_OK);
	before = log_syncs;
	ck_assert_int_eq(s->ops->commit(s, &err), FOTA_OK);
	ck_assert_int_eq(log_syncs, before);
	strcpy(d.id, "gw-2");
	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->device_put(s, &d, false, &err), FOTA_OK);
	before = log_syncs;
	ck_assert_msg(s->ops->commit_durable(s, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_gt(log_syncs, before);
	ck_assert_int_eq(s->ops->device_get(s, "gw-2", &d, &err), FOTA_OK);
	orch_store_close(s);
}
END_TEST

/* A sequence is synced before anything can carry it: handed out alone, or inside a caller's
 * transaction, whichever commit ends that. */
START_TEST(test_directive_seq_durable)
{
	struct orch_store *s;
	struct fota_error err = {0};
	uint64_t seq = 0;
	int before;

	count_log_syncs();
	s = open_store();
	before = log_syncs;
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, 1);
	ck_assert_int_gt(log_syncs, before);

	/* Several in one transaction (an import's assignments): one sync, at its commit. */
	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	before = log_syncs;
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "device:gw-1", &seq, &err), FOTA_OK);
	ck_assert_int_eq(log_syncs, before);
	ck_assert_int_eq(s->ops->commit_durable(s, &err), FOTA_OK);
	ck_assert_int_gt(log_syncs, before);

	/* A plain commit of such a transaction is made durable all the same. */
	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, 3);
	before = log_syncs;
	ck_assert_int_eq(s->ops->commit(s, &err), FOTA_OK);
	ck_assert_int_gt(log_syncs, before);

	/* ...and the next transaction, without one, is a plain commit again. */
	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->directive_seq_raise(s, "north", 4, &err), FOTA_OK);
	before = log_syncs;
	ck_assert_int_eq(s->ops->commit(s, &err), FOTA_OK);
	ck_assert_int_eq(log_syncs, before);
	/* A rolled back one hands nothing out. */
	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	s->ops->rollback(s);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, 4);
	orch_store_close(s);
}
END_TEST

START_TEST(test_group_pub)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	struct orch_group_pub p, got;

	/* A failed call leaves its output as it was. */
	memset(&got, 0x5a, sizeof(got));
	ck_assert_int_eq(s->ops->group_pub_get(s, "lab", &got, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "lab"));
	ck_assert_int_eq(((unsigned char *)&got)[0], 0x5a);
	memset(&p, 0, sizeof(p));
	strcpy(p.group, "lab");
	strcpy(p.campaign, "r1");
	strcpy(p.image_id, "00112233aabbccdd");
	p.directive_seq = 7;
	p.published = 1700000000;
	ck_assert_int_eq(s->ops->group_pub_put(s, &p, &err), FOTA_OK);
	strcpy(p.campaign, "r2");
	p.directive_seq = 8;
	ck_assert_int_eq(s->ops->group_pub_put(s, &p, &err), FOTA_OK);
	ck_assert_int_eq(s->ops->group_pub_get(s, "lab", &got, &err), FOTA_OK);
	ck_assert_str_eq(got.campaign, "r2");
	ck_assert_str_eq(got.image_id, "00112233aabbccdd");
	ck_assert_uint_eq(got.directive_seq, 8);
	ck_assert_int_eq(got.published, 1700000000);
	orch_store_close(s);
}
END_TEST

static int collect_audit(void *ctx, const struct orch_audit *a)
{
	struct orch_audit *out = ctx;
	int i = 0;

	while (out[i].seq)
		i++;
	if (i >= 3)
		return 1;
	out[i] = *a;
	return 0;
}

START_TEST(test_audit)
{
	struct orch_store *s = open_store();
	struct fota_error err = {0};
	struct orch_audit a, got[4];
	const char *states[] = {"downloading", "installing", "idle"};
	const char *devs[] = {"gw-1", "gw-2", "gw-1"};
	char msg[512];
	int i;

	ck_assert_int_eq(s->ops->begin(s, &err), FOTA_OK);
	for (i = 0; i < 3; i++) {
		memset(&a, 0, sizeof(a));
		strcpy(a.device, devs[i]);
		strcpy(a.state, states[i]);
		strcpy(a.result, i == 2 ? "success" : "none");
		strcpy(a.campaign, "r1");
		a.device_ts = 1700000000 + i;
		ck_assert_int_eq(s->ops->audit_append(s, &a, &err), FOTA_OK);
		ck_assert_int_gt(a.seq, 0);
		ck_assert_int_gt(a.ts, 0);
	}
	ck_assert_int_eq(s->ops->commit(s, &err), FOTA_OK);
	/* In append order; by device. */
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(s->ops->audit_each(s, NULL, collect_audit, got, &err), FOTA_OK);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(got[i].device, devs[i]);
		ck_assert_str_eq(got[i].state, states[i]);
		ck_assert_int_eq(got[i].device_ts, 1700000000 + i);
	}
	ck_assert_int_lt(got[0].seq, got[1].seq);
	ck_assert_int_lt(got[1].seq, got[2].seq);
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(s->ops->audit_each(s, "gw-1", collect_audit, got, &err), FOTA_OK);
	ck_assert_str_eq(got[0].state, "downloading");
	ck_assert_str_eq(got[1].state, "idle");
	ck_assert_str_eq(got[1].result, "success");
	ck_assert_int_eq(got[2].seq, 0);
	orch_store_close(s);
	/* Append-only, also against a shell. */
	ck_assert(!raw_exec("UPDATE audit SET state = 'x'", msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, "append-only"));
	ck_assert(!raw_exec("DELETE FROM audit", msg, sizeof(msg)));
}
END_TEST

/* --- several instances on one PostgreSQL: what the locks must prevent ---------------------- */

static bool lock_try(struct orch_store *s, const char *name)
{
	struct fota_error err = {0};
	bool got = false;

	ck_assert_msg(s->ops->lock_try(s, name, &got, &err) == FOTA_OK, "%s", err.msg);
	return got;
}

/* Forks a process that opens its own store, takes the lock name and holds it until killed:
 * an instance that dies without a word. Returns its pid once the lock is held. */
static pid_t holder_start(const char *name)
{
	int fds[2];
	char ok = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct orch_store *s = NULL;
		struct fota_error err = {0};
		bool got = false;

		close(fds[0]);
		if (orch_store_open(pg_uri, &s, &err) == FOTA_OK &&
		    s->ops->lock_try(s, name, &got, &err) == FOTA_OK && got)
			ok = 1;
		if (write(fds[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &ok, 1), 1);
	close(fds[0]);
	ck_assert_msg(ok == 1, "the holder process could not take %s", name);
	return pid;
}

/* Waits (at most 30 s) until s gets the lock: the server frees a dead session's locks when
 * it notices the connection is gone, not at the instant of the kill. */
static bool lock_eventually(struct orch_store *s, const char *name)
{
	struct timespec pause_100ms = {0, 100 * 1000 * 1000};
	int i;

	for (i = 0; i < 300; i++) {
		if (lock_try(s, name))
			return true;
		nanosleep(&pause_100ms, NULL);
	}
	return false;
}

/* The publish lock of a campaign and the owner lock of a broadcast: one holder among the
 * handles on the database, released by unlock or by the death of the holder's connection. */
START_TEST(test_locks_exclusive_and_taken_over)
{
	struct orch_store *a = open_store(), *b = open_store();
	char owner[ORCH_BCAST_OWNER_LEN];
	const char *names[2] = {"publish:r1", owner};
	pid_t holder;
	int i, status;

	orch_bcast_owner_name(owner, "lab", "00112233aabbccdd");
	for (i = 0; i < 2; i++) {
		ck_assert_msg(lock_try(a, names[i]), "%s: the first handle gets it", names[i]);
		ck_assert_msg(lock_try(a, names[i]), "%s: its holder asks again", names[i]);
		ck_assert_msg(!lock_try(b, names[i]), "%s: taken by two handles", names[i]);
		a->ops->unlock(a, names[i]);
		ck_assert_msg(lock_try(b, names[i]), "%s: free after unlock", names[i]);
		ck_assert_msg(!lock_try(a, names[i]), "%s: taken back while held", names[i]);
		b->ops->unlock(b, names[i]);
	}
	/* Two locks are independent: holding one campaign's does not block another's. */
	ck_assert(lock_try(a, "publish:r1"));
	ck_assert(lock_try(b, "publish:r2"));
	a->ops->unlock(a, "publish:r1");
	b->ops->unlock(b, "publish:r2");

	/* Takeover: another process holds the broadcast, is killed with -9, and b gets it. */
	holder = holder_start(owner);
	ck_assert_msg(!lock_try(b, owner), "taken while another process holds it");
	ck_assert_msg(!lock_try(a, owner), "taken while another process holds it");
	ck_assert_int_eq(kill(holder, SIGKILL), 0);
	ck_assert_int_eq(waitpid(holder, &status, 0), holder);
	ck_assert_msg(lock_eventually(b, owner), "not taken over after its holder died");
	ck_assert_msg(!lock_try(a, owner), "taken by two handles after the takeover");
	orch_store_close(a);
	orch_store_close(b);
}
END_TEST

struct txn_run {
	struct orch_store *s;
	volatile int began; /* set once begin returned */
	fota_err rc;
};

static void *txn_worker(void *arg)
{
	struct txn_run *r = arg;
	struct fota_error err = {0};

	r->rc = r->s->ops->begin(r->s, &err);
	__atomic_store_n(&r->began, 1, __ATOMIC_SEQ_CST);
	if (r->rc == FOTA_OK)
		r->s->ops->rollback(r->s);
	return NULL;
}

/* True once the database shows a session waiting for an advisory lock (at most 30 s). */
static bool advisory_waiter(void)
{
	struct timespec pause_50ms = {0, 50 * 1000 * 1000};
	PGconn *c = PQconnectdb(pg_uri);
	bool seen = false;
	int i;

	for (i = 0; i < 600 && !seen; i++) {
		PGresult *r = PQexec(c, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
					" AND NOT granted");

		seen =
		    PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") != 0;
		PQclear(r);
		if (!seen)
			nanosleep(&pause_50ms, NULL);
	}
	PQfinish(c);
	return seen;
}

/* A campaign step of one instance is one write transaction; another instance's transaction
 * cannot begin until it ends, so two steps never interleave. */
START_TEST(test_write_transactions_serialised)
{
	struct orch_store *a = open_store(), *b = open_store();
	struct fota_error err = {0};
	struct txn_run run = {b, 0, FOTA_OK};
	pthread_t t;

	ck_assert_int_eq(a->ops->begin(a, &err), FOTA_OK);
	ck_assert_int_eq(pthread_create(&t, NULL, txn_worker, &run), 0);
	ck_assert_msg(advisory_waiter(), "the second transaction never waited for the first");
	ck_assert_msg(!__atomic_load_n(&run.began, __ATOMIC_SEQ_CST),
		      "a second write transaction began while the first was open");
	ck_assert_int_eq(a->ops->commit(a, &err), FOTA_OK);
	pthread_join(t, NULL);
	ck_assert_int_eq(run.rc, FOTA_OK);
	orch_store_close(a);
	orch_store_close(b);
}
END_TEST

#define SEQ_PER_HANDLE 300

struct seq_run {
	pthread_barrier_t *start;
	uint64_t got[SEQ_PER_HANDLE];
	char err[sizeof(((struct fota_error *)0)->msg) + 16];
};

/* One instance's handle allocating directive sequences as fast as it can. */
static void *seq_worker(void *arg)
{
	struct seq_run *r = arg;
	struct orch_store *s = NULL;
	struct fota_error err = {0};
	int i;

	if (orch_store_open(pg_uri, &s, &err) != FOTA_OK) {
		snprintf(r->err, sizeof(r->err), "open: %s", err.msg);
		pthread_barrier_wait(r->start);
		return NULL;
	}
	pthread_barrier_wait(r->start);
	for (i = 0; i < SEQ_PER_HANDLE; i++) {
		if (s->ops->directive_seq_next(s, "lab", &r->got[i], &err) != FOTA_OK) {
			snprintf(r->err, sizeof(r->err), "next: %s", err.msg);
			break;
		}
	}
	orch_store_close(s);
	return NULL;
}

/* Two handles raise one group's sequence at the same time: each sees its own values rise,
 * and no value is handed out twice. */
START_TEST(test_directive_seq_concurrent)
{
	static struct seq_run runs[2];
	static bool seen[2 * SEQ_PER_HANDLE + 1];
	pthread_barrier_t start;
	pthread_t t[2];
	struct orch_store *s = open_store();
	uint64_t last = 0;
	int i, j;

	orch_store_close(s); /* the schema exists before the race starts */
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
	for (i = 0; i < 2; i++) {
		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].start = &start;
		ck_assert_int_eq(pthread_create(&t[i], NULL, seq_worker, &runs[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 2; i++) {
		ck_assert_msg(runs[i].err[0] == '\0', "handle %d: %s", i, runs[i].err);
		for (j = 0, last = 0; j < SEQ_PER_HANDLE; j++) {
			uint64_t v = runs[i].got[j];

			ck_assert_msg(v > last, "handle %d: %llu after %llu", i,
				      (unsigned long long)v, (unsigned long long)last);
			ck_assert_msg(v <= 2 * SEQ_PER_HANDLE, "value %llu out of range",
				      (unsigned long long)v);
			ck_assert_msg(!seen[v], "sequence %llu handed out twice",
				      (unsigned long long)v);
			seen[v] = true;
			last = v;
		}
	}
	/* Together they counted 1..600 without a gap: the last value is the count. */
	s = open_store();
	{
		struct fota_error err = {0};
		uint64_t next = 0;

		ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &next, &err), FOTA_OK);
		ck_assert_uint_eq(next, 2 * SEQ_PER_HANDLE + 1);
	}
	orch_store_close(s);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create(pg_uri ? "postgresql" : "sqlite");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_migrations);
	tcase_add_test(tc, test_devices);
	tcase_add_test(tc, test_device_assignment);
	tcase_add_test(tc, test_device_cert);
	tcase_add_test(tc, test_campaign_round_trip);
	tcase_add_test(tc, test_broadcast_progress);
	tcase_add_test(tc, test_directive_seq);
	tcase_add_test(tc, test_group_pub);
	tcase_add_test(tc, test_audit);
	/* Only SQLite leaves commits in the page cache, and has a log to count syncs of. */
	if (!pg_uri) {
		tcase_add_test(tc, test_commit_durable);
		tcase_add_test(tc, test_directive_seq_durable);
	}
	/* Only a database shared by several processes has locks to prove. */
	if (pg_uri) {
		tcase_add_test(tc, test_locks_exclusive_and_taken_over);
		tcase_add_test(tc, test_write_transactions_serialised);
		tcase_add_test(tc, test_directive_seq_concurrent);
	}
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;

	pg_uri = getenv("FOTA_TEST_STORE");
	if (pg_uri && !*pg_uri)
		pg_uri = NULL;
	sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
