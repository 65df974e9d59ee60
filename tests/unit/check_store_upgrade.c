/* SPDX-License-Identifier: Apache-2.0 */
/* Upgrade of a state directory written before directive sequences, publish records and the
 * audit trail moved into the store (tests/data/store_v4, from a real campaign run): every
 * campaign, sequence and event is found after the upgrade, and nothing is imported twice. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "store.h"
#include "testutil.h"

#define FIXTURE FOTA_TEST_DATA "/store_v4"

static char dir[512];
static char db_path[600];

static void copy_file(const char *from, const char *to)
{
	size_t len = 0;
	uint8_t *data = tu_read_file(from, &len);

	ck_assert_ptr_nonnull(data);
	tu_write_file(to, data, len, 0644);
	free(data);
}

/* The fixture's state directory in a scratch copy: files as they were, the database built
 * from its dump. */
static void setup(void)
{
	char p[600];
	char *sql;
	sqlite3 *db = NULL;

	tu_tmpdir_make(dir, sizeof(dir), "check_store_upgrade");
	tu_path(p, sizeof(p), dir, "groups");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	tu_path(p, sizeof(p), dir, "groups/lab");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	tu_path(p, sizeof(p), dir, "groups/lab/directive_seq");
	copy_file(FIXTURE "/groups/lab/directive_seq", p);
	tu_path(p, sizeof(p), dir, "groups/lab/campaign.json");
	copy_file(FIXTURE "/groups/lab/campaign.json", p);
	tu_path(p, sizeof(p), dir, "events.jsonl");
	copy_file(FIXTURE "/events.jsonl", p);
	tu_path(db_path, sizeof(db_path), dir, "orchestrator.db");
	sql = tu_read_text(FIXTURE "/orchestrator.sql", NULL);
	ck_assert_ptr_nonnull(sql);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s",
		      sqlite3_errmsg(db));
	sqlite3_close(db);
	free(sql);
}

static void teardown(void)
{
	tu_tmpdir_remove(dir);
}

/* Counts lines of path that contain needle ("" counts every non-empty line). */
static int count_lines(const char *path, const char *needle)
{
	char *text = tu_read_text(path, NULL), *line, *save = NULL;
	int n = 0;

	ck_assert_ptr_nonnull(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, needle))
			n++;
	free(text);
	return n;
}

static int count_event(void *ctx, const struct orch_event *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static int count_cdev(void *ctx, const struct orch_cdev *d)
{
	(void)d;
	(*(int *)ctx)++;
	return 0;
}

struct audit_check {
	char **lines; /* the fixture's events.jsonl, one per entry */
	int n, bad;
};

/* Each entry equals the fixture's line at the same position. */
static int check_audit(void *ctx, const struct orch_audit *a)
{
	struct audit_check *c = ctx;
	cJSON *o;

	if (c->n >= 100000)
		return 1;
	o = cJSON_Parse(c->lines[c->n]);
	if (!o || strcmp(cJSON_GetObjectItem(o, "device")->valuestring, a->device) != 0 ||
	    strcmp(cJSON_GetObjectItem(o, "state")->valuestring, a->state) != 0 ||
	    strcmp(cJSON_GetObjectItem(o, "result")->valuestring, a->result) != 0 ||
	    strcmp(cJSON_GetObjectItem(o, "campaign")->valuestring, a->campaign) != 0 ||
	    strcmp(cJSON_GetObjectItem(o, "image")->valuestring, a->image_id) != 0 || a->ts <= 0 ||
	    a->device_ts <= 0)
		c->bad++;
	cJSON_Delete(o);
	c->n++;
	return 0;
}

static int audit_count(struct orch_store *s)
{
	char p[600], *text, *line, *save = NULL;
	char *lines[4096];
	struct audit_check c = {.lines = lines};
	struct fota_error err = {0};
	int n = 0;

	tu_path(p, sizeof(p), dir, "events.jsonl");
	text = tu_read_text(p, NULL);
	ck_assert_ptr_nonnull(text);
	for (line = strtok_r(text, "\n", &save); line && n < TU_N(lines);
	     line = strtok_r(NULL, "\n", &save))
		lines[n++] = line;
	ck_assert_int_eq(s->ops->audit_each(s, NULL, check_audit, &c, &err), FOTA_OK);
	ck_assert_int_eq(c.bad, 0);
	free(text);
	return c.n;
}

START_TEST(test_upgrade_keeps_everything)
{
	struct orch_store *s = NULL;
	struct fota_error err = {0};
	struct orch_campaign c;
	struct orch_group_pub pub;
	char p[600], *seq_text, *pub_text;
	cJSON *pub_json;
	uint64_t seq = 0;
	int events = 0, cdevs = 0;
	int want_events = count_lines(FIXTURE "/orchestrator.sql", "INSERT INTO events");
	int want_cdevs = count_lines(FIXTURE "/orchestrator.sql", "INSERT INTO campaign_devices");
	int want_audit = count_lines(FIXTURE "/events.jsonl", "\"device\"");

	ck_assert_int_gt(want_events, 0);
	ck_assert_int_gt(want_audit, 0);
	ck_assert_msg(orch_store_open(db_path, &s, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(s->ops->schema_version(s), orch_store_sqlite_latest_version());

	/* The campaign and its history. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(s->ops->campaign_get(s, "r1", &c, &err), FOTA_OK);
	ck_assert_int_eq(c.state, ORCH_CAMPAIGN_COMPLETED);
	ck_assert_uint_eq(c.n_stages, 3);
	orch_campaign_clear(&c);
	ck_assert_int_eq(s->ops->event_each(s, "r1", NULL, count_event, &events, &err), FOTA_OK);
	ck_assert_int_eq(events, want_events);
	ck_assert_int_eq(s->ops->cdev_each(s, "r1", count_cdev, &cdevs, &err), FOTA_OK);
	ck_assert_int_eq(cdevs, want_cdevs);

	/* The group's sequence continues above the file's. */
	seq_text = tu_read_text(FIXTURE "/groups/lab/directive_seq", NULL);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, strtoull(seq_text, NULL, 10) + 1);
	free(seq_text);

	/* What was last published to the group. */
	pub_text = tu_read_text(FIXTURE "/groups/lab/campaign.json", NULL);
	pub_json = cJSON_Parse(pub_text);
	ck_assert_int_eq(s->ops->group_pub_get(s, "lab", &pub, &err), FOTA_OK);
	ck_assert_str_eq(pub.campaign, cJSON_GetObjectItem(pub_json, "campaign")->valuestring);
	ck_assert_str_eq(pub.image_id, cJSON_GetObjectItem(pub_json, "image_id")->valuestring);
	ck_assert_uint_eq(pub.directive_seq,
			  (uint64_t)cJSON_GetObjectItem(pub_json, "directive_seq")->valuedouble);
	cJSON_Delete(pub_json);
	free(pub_text);

	/* Every audit line, in order. */
	ck_assert_int_eq(audit_count(s), want_audit);
	orch_store_close(s);

	/* Reopened: nothing is imported twice, and the sequence does not fall back. */
	ck_assert_msg(orch_store_open(db_path, &s, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(audit_count(s), want_audit);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_eq(seq, (uint64_t)(pub.directive_seq + 2));
	orch_store_close(s);
	tu_path(p, sizeof(p), dir, "events.jsonl");
	ck_assert_int_eq(count_lines(p, "\"device\""), want_audit); /* the file is kept */
}
END_TEST

START_TEST(test_upgrade_damaged_files)
{
	struct orch_store *s = NULL;
	struct fota_error err = {0};
	char p[600];
	uint64_t seq = 0;
	int want_audit = count_lines(FIXTURE "/events.jsonl", "\"device\"");
	FILE *f;

	/* A sequence file that is not a number continues from the clock, which is above any
	 * counter that rose by one per directive; a line cut short by a crash is skipped. */
	tu_path(p, sizeof(p), dir, "groups/lab/directive_seq");
	tu_write_text(p, "garbage");
	tu_path(p, sizeof(p), dir, "events.jsonl");
	f = fopen(p, "a");
	ck_assert_ptr_nonnull(f);
	fputs("{\"ts\":\"2026-01-01T00:00:00Z\",\"device\":\"sim-1\",\"sta", f);
	fclose(f);
	ck_assert_msg(orch_store_open(db_path, &s, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(s->ops->directive_seq_next(s, "lab", &seq, &err), FOTA_OK);
	ck_assert_uint_gt(seq, 1700000000);
	orch_store_close(s);
	ck_assert_int_eq(count_lines(p, "\"device\""), want_audit + 1);
}
END_TEST

static Suite *upgrade_suite(void)
{
	Suite *s = suite_create("store_upgrade");
	TCase *tc = tcase_create("v4");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_upgrade_keeps_everything);
	tcase_add_test(tc, test_upgrade_damaged_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(upgrade_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
