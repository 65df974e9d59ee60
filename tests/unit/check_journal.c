/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent journal: round trip with probation, old formats, torn files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/atomic_file.h"
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
	j.probation.deadline = 1900000000;
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
	ck_assert_int_eq(back.probation.deadline, 1900000000);
	ck_assert_uint_eq(back.probation.boot_attempts, 2);
	ck_assert_str_eq(back.probation.reason, "health check 'x' failed");

	/* An unpublished outcome survives a restart. */
	back.outcome.pending = true;
	snprintf(back.outcome.state, sizeof(back.outcome.state), "rolled_back");
	snprintf(back.outcome.result, sizeof(back.outcome.result), "health_check_failed");
	snprintf(back.outcome.reason, sizeof(back.outcome.reason), "bootloader fell back");
	snprintf(back.outcome.campaign, sizeof(back.outcome.campaign), "c-2");
	ck_assert_int_eq(journal_save(&back, tmpdir, &err), FOTA_OK);
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert(j.outcome.pending);
	ck_assert_str_eq(j.outcome.state, "rolled_back");
	ck_assert_str_eq(j.outcome.reason, "bootloader fell back");
	ck_assert_str_eq(j.outcome.campaign, "c-2");
	memset(&back.outcome, 0, sizeof(back.outcome));

	/* Committing clears the probation record from the file. */
	memset(&back.probation, 0, sizeof(back.probation));
	ck_assert_int_eq(journal_save(&back, tmpdir, &err), FOTA_OK);
	ck_assert_int_eq(journal_load(&j, tmpdir, "1.0.0", &err), FOTA_OK);
	ck_assert_int_eq(j.probation.phase, JOURNAL_PHASE_NONE);
	ck_assert(!j.outcome.pending);
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
};

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
}
END_TEST

START_TEST(test_history_lines)
{
	char path[300];
	char buf[256] = "";
	FILE *f;
	size_t n;

	journal_history(tmpdir, "{\"outcome\":\"confirmed\"}");
	journal_history(tmpdir, "{\"outcome\":\"rolled_back\"}");
	snprintf(path, sizeof(path), "%s/history.jsonl", tmpdir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "{\"outcome\":\"confirmed\"}\n{\"outcome\":\"rolled_back\"}\n");
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
	tcase_add_loop_test(tc, test_broken, 0, (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(tc, test_good_probation_parses);
	tcase_add_test(tc, test_history_lines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(journal_suite());
}
