/* SPDX-License-Identifier: Apache-2.0 */
/* Orchestrator logging: levels filter lines, journald priorities only when stderr is the
 * journal's stream, and the configuration keys a SIGHUP can change. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_diff.h"
#include "log.h"
#include "testutil.h"

static char tmpdir[256];
static char logpath[512];
static int saved_stderr = -1;

static void setup(void)
{
	int fd;

	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_log");
	tu_path(logpath, sizeof(logpath), tmpdir, "stderr");
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	orch_log_set_level(ORCH_LOG_DEFAULT);
	orch_log_set_journal(false);
	unsetenv("JOURNAL_STREAM");
}

static void teardown(void)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	tu_tmpdir_remove(tmpdir);
}

/* What the code under test wrote to stderr so far (the caller frees it). */
static char *captured(void)
{
	fflush(stderr);
	return tu_read_text(logpath, NULL);
}

START_TEST(test_level_filters_lines)
{
	char *out;

	orch_log_set_level(ORCH_LOG_WARNING);
	orch_debug("debug line");
	orch_log("info line");
	orch_notice("notice line");
	orch_warn("warning line");
	orch_error("error line");
	out = captured();
	ck_assert_str_eq(out, "fota-orchestrator: warning line\n"
			      "fota-orchestrator: error line\n");
	free(out);
}
END_TEST

START_TEST(test_level_parse)
{
	static const struct {
		const char *in;
		enum orch_log_level want;
	} ok[] = {{"error", ORCH_LOG_ERROR},
		  {"warning", ORCH_LOG_WARNING},
		  {"notice", ORCH_LOG_NOTICE},
		  {"info", ORCH_LOG_INFO},
		  {"debug", ORCH_LOG_DEBUG}};
	static const char *bad[] = {"", "INFO", "warn", "7", "debug "};
	struct fota_error err = {0};
	enum orch_log_level l;

	for (int i = 0; i < TU_N(ok); i++) {
		ck_assert_int_eq(orch_log_level_parse(ok[i].in, &l, &err), FOTA_OK);
		ck_assert_int_eq(l, ok[i].want);
		ck_assert_str_eq(orch_log_level_name(l), ok[i].in);
	}
	for (int i = 0; i < TU_N(bad); i++) {
		ck_assert_int_eq(orch_log_level_parse(bad[i], &l, &err), FOTA_ERR_FIELD);
		ck_assert_msg(strstr(err.msg, "log_level") && strstr(err.msg, "notice"), "%s",
			      err.msg);
	}
}
END_TEST

/* The prefix is the syslog priority journald reads (sd-daemon(3)). */
START_TEST(test_journal_prefixes)
{
	char *out;

	orch_log_set_journal(true);
	orch_log_set_level(ORCH_LOG_DEBUG);
	orch_error("e");
	orch_warn("w");
	orch_log("i");
	orch_debug("d");
	out = captured();
	ck_assert_str_eq(out, "<3>fota-orchestrator: e\n<4>fota-orchestrator: w\n"
			      "<6>fota-orchestrator: i\n<7>fota-orchestrator: d\n");
	free(out);
}
END_TEST

START_TEST(test_journal_stream_detected)
{
	struct stat st;
	char env[64];

	ck_assert(!orch_log_stderr_is_journal());
	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	ck_assert(orch_log_stderr_is_journal());
	/* Inherited by a process whose stderr went elsewhere: not the journal. */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	ck_assert(!orch_log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "garbage", 1);
	ck_assert(!orch_log_stderr_is_journal());
}
END_TEST

START_TEST(test_config_diff)
{
	struct orch_config a, b;
	struct orch_config_change ch[8];

	orch_config_init(&a);
	b = a;
	ck_assert_uint_eq(orch_config_diff(&a, &b, ch, TU_N(ch)), 0);
	b.log_level = ORCH_LOG_DEBUG;
	b.rate_bytes_per_s = 1024;
	snprintf(b.client_id, sizeof(b.client_id), "orchestrator-99"); /* per process */
	ck_assert_uint_eq(orch_config_diff(&a, &b, ch, TU_N(ch)), 2);
	ck_assert_str_eq(ch[0].key, "rate_bytes_per_s");
	ck_assert_str_eq(ch[0].section, "orchestrator");
	ck_assert_str_eq(ch[0].from, "0"); /* the default: no cap */
	ck_assert_str_eq(ch[0].to, "1024");
	ck_assert(!ch[0].runtime);
	ck_assert_str_eq(ch[1].key, "log_level");
	ck_assert_str_eq(ch[1].from, "info");
	ck_assert_str_eq(ch[1].to, "debug");
	ck_assert(ch[1].runtime);
	/* More changes than room: all are counted, only max are written. */
	snprintf(b.uri, sizeof(b.uri), "ssl://elsewhere:8883");
	ck_assert_uint_eq(orch_config_diff(&a, &b, ch, 1), 3);
	ck_assert_str_eq(ch[0].key, "uri");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_level_filters_lines);
	tcase_add_test(tc, test_level_parse);
	tcase_add_test(tc, test_journal_prefixes);
	tcase_add_test(tc, test_journal_stream_detected);
	tcase_add_test(tc, test_config_diff);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(log_suite());
}
