/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the fleet view's audit trail: rows reach the store without waiting for a
 * full batch or for the exit, and a kill -9 loses only the newest rows, never one between
 * two recorded ones. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fleet.h"
#include "store.h"
#include "testutil.h"

static char dir[PATH_MAX];
static struct orch_config cfg;

static void setup(void)
{
	tu_tmpdir_make(dir, sizeof(dir), "check_fleet_audit");
	orch_config_init(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", dir);
}

static void teardown(void)
{
	tu_tmpdir_remove(dir);
}

/* Device d-<n> reports that it downloads: its first status, one audit row. */
static void ingest(struct orch_fleet *f, unsigned n)
{
	struct fota_status s;
	struct fota_error err = {0};
	char *json = NULL;

	memset(&s, 0, sizeof(s));
	snprintf(s.device, sizeof(s.device), "d-%u", n);
	s.state = FOTA_STATE_DOWNLOADING;
	snprintf(s.version, sizeof(s.version), "1.0.0");
	s.timestamp = 1700000000 + n;
	ck_assert_msg(fota_status_to_json(&s, &json, &err) == FOTA_OK, "%s", err.msg);
	orch_fleet_ingest(f, s.device, (const uint8_t *)json, strlen(json));
	free(json);
}

struct rows {
	unsigned n;
	bool in_order; /* row k is device d-<k> */
};

static int check_row(void *ctx, const struct orch_audit *a)
{
	struct rows *r = ctx;
	char want[32];

	snprintf(want, sizeof(want), "d-%u", r->n);
	if (strcmp(a->device, want) != 0)
		r->in_order = false;
	r->n++;
	return 0;
}

static struct rows audit_rows(void)
{
	struct orch_store *s = NULL;
	struct fota_error err = {0};
	struct rows r = {0, true};

	ck_assert_msg(orch_open_store(&cfg, &s, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_msg(s->ops->audit_each(s, NULL, check_row, &r, &err) == FOTA_OK, "%s", err.msg);
	orch_store_close(s);
	return r;
}

/* Polls (at most 30 s) until the store holds at least n audit rows. */
static bool rows_reach(unsigned n)
{
	struct timespec pause_50ms = {0, 50 * 1000 * 1000};
	int i;

	for (i = 0; i < 600; i++) {
		if (audit_rows().n >= n)
			return true;
		nanosleep(&pause_50ms, NULL);
	}
	return false;
}

/* Three changes, far from a full batch, reach the store while the fleet keeps running. */
START_TEST(test_rows_written_without_full_batch)
{
	struct orch_fleet *f = NULL;
	struct fota_error err = {0};
	struct rows r;
	unsigned i;

	ck_assert_msg(orch_fleet_new(&cfg, NULL, NULL, &f, &err) == FOTA_OK, "%s", err.msg);
	for (i = 0; i < 3; i++)
		ingest(f, i);
	ck_assert_msg(rows_reach(3), "3 audit rows still not written while the fleet runs");
	r = audit_rows();
	ck_assert_uint_eq(r.n, 3);
	ck_assert(r.in_order);
	orch_fleet_free(f);
}
END_TEST

/* A process ingesting without end is killed with -9 after more than one batch was written:
 * what the store holds is the first rows, in order, with nothing missing between them. */
START_TEST(test_kill_loses_only_the_newest_rows)
{
	struct rows r;
	pid_t pid;
	int status;

	/* The schema exists before the writer and the readers race. */
	audit_rows();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct orch_fleet *f = NULL;
		struct fota_error err = {0};
		unsigned n;

		if (orch_fleet_new(&cfg, NULL, NULL, &f, &err) != FOTA_OK)
			_exit(1);
		for (n = 0;; n++)
			ingest(f, n);
	}
	ck_assert_msg(rows_reach(1500), "the ingesting process wrote no 1500 rows");
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	r = audit_rows();
	ck_assert_uint_ge(r.n, 1500);
	ck_assert_msg(r.in_order, "the %u rows after the kill are not the first %u, in order", r.n,
		      r.n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fleet_audit");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rows_written_without_full_batch);
	tcase_add_test(tc, test_kill_loses_only_the_newest_rows);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
