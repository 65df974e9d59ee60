/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent journal: round trip with probation, old formats, torn files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/atomic_file.h"
#include "../../common/src/json.h"
#include "journal.h"
#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_journal");
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

static void write_journal(const char *text)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/journal.json", tmpdir);
	ck_assert_int_eq(fota_atomic_write(path, text, strlen(text), 0600, NULL), FOTA_OK);
}

static bool exists(const char *name)
{
	char path[300];
	struct stat st;

	tu_path(path, sizeof(path), tmpdir, name);
	return stat(path, &st) == 0;
}

START_TEST(test_missing_is_factory)
{
	struct journal j;
	struct fota_error err = {0};

	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_str_eq(err.msg, "");
	ck_assert_str_eq(j.installed_version, "1.0.0");
	ck_assert_uint_eq(j.installed_sequence, 0);
	ck_assert_int_eq(j.probation.phase, JOURNAL_PHASE_NONE);
	ck_assert_str_eq(j.slot, "");
}
END_TEST

START_TEST(test_round_trip)
{
	struct journal j, back;
	struct fota_error err = {0};
	struct journal_group *g;

	memset(&j, 0, sizeof(j));
	snprintf(j.installed_version, sizeof(j.installed_version), "2.0.0");
	j.installed_sequence = 42;
	snprintf(j.installed_sha256, sizeof(j.installed_sha256), "%064d", 7);
	snprintf(j.installed_campaign, sizeof(j.installed_campaign), "c-1");
	snprintf(j.slot, sizeof(j.slot), "B");
	g = journal_group(&j, "lab");
	ck_assert_ptr_nonnull(g);
	g->directive_seq = 9;
	g->settled = true;
	j.probation.phase = JOURNAL_PHASE_TESTING;
	snprintf(j.probation.group, sizeof(j.probation.group), "lab");
	snprintf(j.probation.campaign, sizeof(j.probation.campaign), "c-2");
	snprintf(j.probation.image_id, sizeof(j.probation.image_id), "0123456789abcdef");
	snprintf(j.probation.sha256, sizeof(j.probation.sha256), "%064d", 8);
	snprintf(j.probation.version, sizeof(j.probation.version), "3.0.0");
	j.probation.sequence = 43;
	snprintf(j.probation.slot, sizeof(j.probation.slot), "A");
	snprintf(j.probation.from_slot, sizeof(j.probation.from_slot), "B");
	j.probation.confirm_timeout_s = 300;
	snprintf(j.probation.boot_id, sizeof(j.probation.boot_id),
		 "6f1d2c3b-0a4e-4f5d-9c8b-7a6e5d4c3b2a");
	j.probation.since_ms = 86400123;
	j.probation.boot_attempts = 2;
	snprintf(j.probation.reason, sizeof(j.probation.reason), "health check 'x' failed");
	ck_assert_int_eq(journal_save(&j, tmpdir, &err), FOTA_OK);
	ck_assert_int_eq(journal_load(&back, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_str_eq(err.msg, "");
	ck_assert_str_eq(back.installed_version, "2.0.0");
	ck_assert_uint_eq(back.installed_sequence, 42);
	ck_assert_str_eq(back.installed_sha256, j.installed_sha256);
	ck_assert_str_eq(back.installed_campaign, "c-1");
	ck_assert_str_eq(back.slot, "B");
	ck_assert_int_eq(back.n_groups, 1);
	ck_assert_uint_eq(back.groups[0].directive_seq, 9);
	ck_assert(back.groups[0].settled);
	ck_assert_int_eq(back.probation.phase, JOURNAL_PHASE_TESTING);
	ck_assert_str_eq(back.probation.campaign, "c-2");
	ck_assert_str_eq(back.probation.image_id, "0123456789abcdef");
	ck_assert_str_eq(back.probation.version, "3.0.0");
	ck_assert_uint_eq(back.probation.sequence, 43);
	ck_assert_str_eq(back.probation.slot, "A");
	ck_assert_str_eq(back.probation.from_slot, "B");
	ck_assert_uint_eq(back.probation.confirm_timeout_s, 300);
	ck_assert_str_eq(back.probation.boot_id, "6f1d2c3b-0a4e-4f5d-9c8b-7a6e5d4c3b2a");
	ck_assert_int_eq(back.probation.since_ms, 86400123);
	{
		/* Older agents (the old slot after a rollback) require a "deadline". */
		char path[300];
		size_t len = 0;
		uint8_t *text;

		snprintf(path, sizeof(path), "%s/journal.json", tmpdir);
		text = tu_read_file(path, &len);
		ck_assert_ptr_nonnull(text);
		ck_assert_ptr_nonnull(strstr((char *)text, "\"deadline\":0"));
		free(text);
	}
	ck_assert_uint_eq(back.probation.boot_attempts, 2);
	ck_assert_str_eq(back.probation.reason, "health check 'x' failed");

	/* An unpublished outcome survives a restart. */
	back.outcome.kept = true;
	snprintf(back.outcome.state, sizeof(back.outcome.state), "rolled_back");
	snprintf(back.outcome.result, sizeof(back.outcome.result), "health_check_failed");
	snprintf(back.outcome.reason, sizeof(back.outcome.reason), "bootloader fell back");
	snprintf(back.outcome.campaign, sizeof(back.outcome.campaign), "c-2");
	ck_assert_int_eq(journal_save(&back, tmpdir, &err), FOTA_OK);
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert(j.outcome.kept);
	ck_assert(!j.outcome.reported);
	ck_assert_str_eq(j.outcome.state, "rolled_back");
	ck_assert_str_eq(j.outcome.reason, "bootloader fell back");
	ck_assert_str_eq(j.outcome.campaign, "c-2");
	/* So does a published one: it stays the status until a new job starts. */
	back.outcome.reported = true;
	ck_assert_int_eq(journal_save(&back, tmpdir, &err), FOTA_OK);
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert(j.outcome.kept);
	ck_assert(j.outcome.reported);
	ck_assert_str_eq(j.outcome.state, "rolled_back");
	memset(&back.outcome, 0, sizeof(back.outcome));

	/* Committing clears the probation record from the file. */
	memset(&back.probation, 0, sizeof(back.probation));
	ck_assert_int_eq(journal_save(&back, tmpdir, &err), FOTA_OK);
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_int_eq(j.probation.phase, JOURNAL_PHASE_NONE);
	ck_assert(!j.outcome.kept);
	ck_assert_str_eq(j.installed_version, "2.0.0");
}
END_TEST

/* A journal written before slots and probation existed still loads. */
START_TEST(test_old_format)
{
	struct journal j;
	struct fota_error err = {0};

	write_journal("{\"installed_version\":\"1.2.0\",\"installed_sequence\":5,"
		      "\"installed_sha256\":\"\",\"groups\":[]}");
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_str_eq(err.msg, "");
	ck_assert_str_eq(j.installed_version, "1.2.0");
	ck_assert_uint_eq(j.installed_sequence, 5);
	ck_assert_int_eq(j.probation.phase, JOURNAL_PHASE_NONE);
}
END_TEST

#define PROB(body)                                                                                 \
	"{\"installed_version\":\"1.2.0\",\"installed_sequence\":5,\"installed_sha256\":\"\","     \
	"\"groups\":[],\"probation\":{" body "}}"
#define PROB_OK_TAIL                                                                               \
	"\"group\":\"lab\",\"campaign\":\"c\",\"image_id\":\"00\",\"sha256\":\"00\","              \
	"\"version\":\"2\",\"sequence\":6,\"confirm_timeout_s\":30,\"deadline\":0,"                \
	"\"boot_attempts\":0,\"reason\":\"\""

/* Each is refused as a whole: the agent then starts from the factory state. */
static const char *const broken[] = {
    "{\"installed_version\":",						  /* torn write */
    "[]",								  /* not an object */
    "{\"installed_sequence\":5,\"installed_sha256\":\"\",\"groups\":[]}", /* no version */
    "{\"installed_version\":\"1\",\"installed_sequence\":-1,\"installed_sha256\":\"\","
    "\"groups\":[]}", /* negative sequence */
    "{\"installed_version\":\"1\",\"installed_sequence\":1,\"installed_sha256\":\"\","
    "\"slot\":\"C\",\"groups\":[]}", /* no such slot */
    PROB("\"phase\":\"flying\",\"slot\":\"B\",\"from_slot\":\"A\"," PROB_OK_TAIL),  /* phase */
    PROB("\"phase\":\"testing\",\"slot\":\"B\",\"from_slot\":\"B\"," PROB_OK_TAIL), /* same */
    PROB("\"phase\":\"testing\",\"slot\":\"b\",\"from_slot\":\"A\"," PROB_OK_TAIL), /* case */
    PROB("\"phase\":\"testing\",\"slot\":\"B\"," PROB_OK_TAIL), /* no from_slot */
    "{\"installed_version\":\"1\",\"installed_sequence\":1,\"installed_sha256\":\"\","
    "\"groups\":[],\"probation\":7}", /* probation not an object */
    "{\"installed_version\":\"1\",\"installed_sequence\":1,\"installed_sha256\":\"\","
    "\"groups\":[],\"unreported\":{\"state\":\"confirmed\"}}", /* outcome incomplete */
    "{\"installed_version\":\"1\",\"installed_sequence\":1,\"installed_sha256\":\"\","
    "\"groups\":[],\"assignment\":{\"seq\":0,\"groups\":[]}}", /* assignment 0 */
    "{\"installed_version\":\"1\",\"installed_sequence\":1,\"installed_sha256\":\"\","
    "\"groups\":[],\"assignment\":{\"seq\":2,\"groups\":[\"a/b\"]}}", /* not a group */
};

/* The applied assignment survives a restart; a group the device left is forgotten. */
START_TEST(test_assignment_round_trip)
{
	struct journal j, back;
	struct fota_error err = {0};
	static const char keep[][FOTA_MAX_SEGMENT_LEN + 1] = {"canary", "field"};

	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	journal_group(&j, "lab")->directive_seq = 4;
	journal_group(&j, "canary")->directive_seq = 9;
	journal_keep_groups(&j, keep, 2);
	ck_assert_int_eq(j.n_groups, 1);
	ck_assert_str_eq(j.groups[0].name, "canary");
	j.assignment.seq = 7;
	j.assignment.n_groups = 2;
	snprintf(j.assignment.groups[0], sizeof(j.assignment.groups[0]), "canary");
	snprintf(j.assignment.groups[1], sizeof(j.assignment.groups[1]), "field");
	ck_assert_int_eq(journal_save(&j, tmpdir, &err), FOTA_OK);
	ck_assert_int_eq(journal_load(&back, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_str_eq(err.msg, "");
	ck_assert_uint_eq(back.assignment.seq, 7);
	ck_assert_int_eq(back.assignment.n_groups, 2);
	ck_assert_str_eq(back.assignment.groups[1], "field");
	ck_assert_uint_eq(back.groups[0].directive_seq, 9);
}
END_TEST

START_TEST(test_broken)
{
	struct journal j;
	struct fota_error err = {0};

	write_journal(broken[_i]);
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_int_eq(err.code, FOTA_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "unreadable, moved to .broken"));
	ck_assert_str_eq(j.installed_version, "1.0.0");
	ck_assert_uint_eq(j.installed_sequence, 0);
	ck_assert_int_eq(j.probation.phase, JOURNAL_PHASE_NONE);
	ck_assert(exists("journal.json.broken"));
	ck_assert(!exists("journal.json"));
}
END_TEST

/* What older agents wrote for an outcome the broker did not have yet. */
START_TEST(test_old_unreported_outcome)
{
	struct journal j;
	struct fota_error err = {0};

	write_journal("{\"installed_version\":\"1.2.0\",\"installed_sequence\":5,"
		      "\"installed_sha256\":\"\",\"groups\":[],\"unreported\":{\"state\":"
		      "\"confirmed\",\"result\":\"success\",\"reason\":\"\",\"campaign\":\"c\","
		      "\"image_id\":\"00\"}}");
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_str_eq(err.msg, "");
	ck_assert(j.outcome.kept);
	ck_assert(!j.outcome.reported);
	ck_assert_str_eq(j.outcome.state, "confirmed");
}
END_TEST

START_TEST(test_good_probation_parses)
{
	struct journal j;
	struct fota_error err = {0};

	write_journal(
	    PROB("\"phase\":\"switched\",\"slot\":\"B\",\"from_slot\":\"A\"," PROB_OK_TAIL));
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_str_eq(err.msg, "");
	ck_assert_int_eq(j.probation.phase, JOURNAL_PHASE_SWITCHED);
	ck_assert_str_eq(journal_phase_name(j.probation.phase), "switched");
	/* Written by an older agent: a wall-clock deadline, no probation clock yet. */
	ck_assert_str_eq(j.probation.boot_id, "");
	ck_assert_int_eq(j.probation.since_ms, 0);
}
END_TEST

/* Reads history.jsonl back: one strictly parsed JSON object per line. */
static int read_history(cJSON **lines, int max)
{
	char path[300];
	size_t len = 0;
	uint8_t *buf;
	int n = 0;
	size_t start = 0;

	tu_path(path, sizeof(path), tmpdir, "history.jsonl");
	buf = tu_read_file(path, &len);
	for (size_t i = 0; i < len; i++) {
		struct fota_error err = {0};

		if (buf[i] != '\n')
			continue;
		ck_assert_int_lt(n, max);
		ck_assert_msg(fota__json_load(buf + start, i - start, 4096, &lines[n],
					      "line: ", &err) == FOTA_OK,
			      "line %d: %s", n + 1, err.msg);
		n++;
		start = i + 1;
	}
	ck_assert_uint_eq(start, len); /* every line ends with a newline */
	free(buf);
	return n;
}

static void assert_member(const cJSON *o, const char *name, const char *want)
{
	const char *got = fota__json_find_string(o, name);

	ck_assert_msg(got != NULL && strcmp(got, want) == 0, "%s: '%s', want '%s'", name,
		      got ? got : "(none)", want);
}

/* Every field carries what a hostile or merely odd writer could put there; each line is still
 * one JSON object and reads back as written. */
static const struct {
	const char *text; /* what the agent hands over */
	const char *back; /* what a reader gets back */
} hostile[] = {
    {"2.0 \"LTS\"", "2.0 \"LTS\""},
    {"a\\b\\\\c\\", "a\\b\\\\c\\"},
    {"line 1\nline 2\r\n\t}", "line 1\nline 2\r\n\t}"},
    {"\",\"outcome\":\"confirmed", "\",\"outcome\":\"confirmed"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"bad \xc0\xaf utf-8 \xed\xa0\x80 \xff", "bad ?? utf-8 ??? ?"},
    {"\x01\x1f\x7f", "\x01\x1f\x7f"},
    {"", ""},
};

START_TEST(test_history_hostile_strings)
{
	const char *s = hostile[_i].text, *b = hostile[_i].back;
	struct journal_event e = {1704164645, s, s, s, 9007199254740991ull, s, s};
	struct fota_error err = {0};
	cJSON *lines[3] = {NULL};
	uint64_t seq = 0;

	ck_assert_int_eq(journal_history(tmpdir, &e, &err), FOTA_OK);
	e.outcome = "confirmed";
	e.sequence = 1000000000000000ull;
	ck_assert_int_eq(journal_history(tmpdir, &e, &err), FOTA_OK);
	ck_assert_int_eq(read_history(lines, 3), 2);
	assert_member(lines[0], "ts", "2024-01-02T03:04:05Z");
	assert_member(lines[0], "campaign", b);
	assert_member(lines[0], "image", b);
	assert_member(lines[0], "version", b);
	assert_member(lines[0], "outcome", b);
	assert_member(lines[0], "reason", b);
	ck_assert_int_eq(
	    fota__json_get_uint(lines[0], "sequence", 0, UINT64_MAX, &seq, "line: ", &err),
	    FOTA_OK);
	ck_assert_uint_eq(seq, 9007199254740991ull);
	assert_member(lines[1], "outcome", "confirmed");
	/* Plain digits, as docs/manifest.md asks of writers. */
	ck_assert_str_eq(cJSON_GetObjectItem(lines[1], "sequence")->valuestring,
			 "1000000000000000");
	cJSON_Delete(lines[0]);
	cJSON_Delete(lines[1]);
}
END_TEST

/* got holds want, cut to a field of size bytes as the agent's snprintf would. */
static void assert_fits(const char *got, size_t size, const char *want)
{
	ck_assert_msg(strlen(got) == (strlen(want) < size ? strlen(want) : size - 1) &&
			  strncmp(got, want, size - 1) == 0,
		      "'%s', want '%.*s'", got, (int)(size - 1), want);
}

/* Every string of the journal holds hostile[i].text; it is saved as strict JSON and comes
 * back as hostile[i].back. */
START_TEST(test_journal_hostile_strings)
{
	const char *s = hostile[_i].text, *b = hostile[_i].back;
	struct journal j, back;
	struct fota_error err = {0};
	struct journal_group *g;
	char path[300];
	uint8_t *buf;
	size_t len = 0;
	cJSON *root = NULL;

	memset(&j, 0, sizeof(j));
	snprintf(j.installed_version, sizeof(j.installed_version), "%s", s);
	snprintf(j.installed_sha256, sizeof(j.installed_sha256), "%s", s);
	snprintf(j.installed_campaign, sizeof(j.installed_campaign), "%s", s);
	g = journal_group(&j, s);
	ck_assert_ptr_nonnull(g);
	j.outcome.kept = true;
	snprintf(j.outcome.state, sizeof(j.outcome.state), "%s", s);
	snprintf(j.outcome.result, sizeof(j.outcome.result), "%s", s);
	snprintf(j.outcome.reason, sizeof(j.outcome.reason), "%s", s);
	snprintf(j.outcome.campaign, sizeof(j.outcome.campaign), "%s", s);
	snprintf(j.outcome.image_id, sizeof(j.outcome.image_id), "%s", s);
	j.probation.phase = JOURNAL_PHASE_TESTING;
	snprintf(j.probation.group, sizeof(j.probation.group), "%s", s);
	snprintf(j.probation.campaign, sizeof(j.probation.campaign), "%s", s);
	snprintf(j.probation.image_id, sizeof(j.probation.image_id), "%s", s);
	snprintf(j.probation.sha256, sizeof(j.probation.sha256), "%s", s);
	snprintf(j.probation.version, sizeof(j.probation.version), "%s", s);
	snprintf(j.probation.slot, sizeof(j.probation.slot), "A");
	snprintf(j.probation.from_slot, sizeof(j.probation.from_slot), "B");
	snprintf(j.probation.reason, sizeof(j.probation.reason), "%s", s);
	ck_assert_int_eq(journal_save(&j, tmpdir, &err), FOTA_OK);

	tu_path(path, sizeof(path), tmpdir, "journal.json");
	buf = tu_read_file(path, &len);
	ck_assert_msg(fota__json_load(buf, len, 16384, &root, "journal: ", &err) == FOTA_OK, "%s",
		      err.msg);
	cJSON_Delete(root);
	free(buf);

	ck_assert_int_eq(journal_load(&back, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_str_eq(err.msg, "");
	assert_fits(back.installed_version, sizeof(back.installed_version), b);
	assert_fits(back.installed_sha256, sizeof(back.installed_sha256), b);
	assert_fits(back.installed_campaign, sizeof(back.installed_campaign), b);
	ck_assert_int_eq(back.n_groups, 1);
	assert_fits(back.groups[0].name, sizeof(back.groups[0].name), b);
	assert_fits(back.outcome.state, sizeof(back.outcome.state), b);
	assert_fits(back.outcome.result, sizeof(back.outcome.result), b);
	assert_fits(back.outcome.reason, sizeof(back.outcome.reason), b);
	assert_fits(back.outcome.campaign, sizeof(back.outcome.campaign), b);
	assert_fits(back.outcome.image_id, sizeof(back.outcome.image_id), b);
	assert_fits(back.probation.group, sizeof(back.probation.group), b);
	assert_fits(back.probation.campaign, sizeof(back.probation.campaign), b);
	assert_fits(back.probation.image_id, sizeof(back.probation.image_id), b);
	assert_fits(back.probation.sha256, sizeof(back.probation.sha256), b);
	assert_fits(back.probation.version, sizeof(back.probation.version), b);
	assert_fits(back.probation.reason, sizeof(back.probation.reason), b);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_missing_is_factory);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_old_format);
	tcase_add_test(tc, test_assignment_round_trip);
	tcase_add_loop_test(tc, test_broken, 0, (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(tc, test_good_probation_parses);
	tcase_add_test(tc, test_old_unreported_outcome);
	tcase_add_loop_test(tc, test_journal_hostile_strings, 0,
			    (int)(sizeof(hostile) / sizeof(hostile[0])));
	tcase_add_loop_test(tc, test_history_hostile_strings, 0,
			    (int)(sizeof(hostile) / sizeof(hostile[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(journal_suite());
}
