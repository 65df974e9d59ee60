/* SPDX-License-Identifier: Apache-2.0 */
/* State-directory lock: a second holder is refused with the first one's pid; exit releases. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fota/state_lock.h"
#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_state_lock");
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

/* A child that takes the lock, says so on the pipe and then waits to be killed. */
static pid_t holder_start(void)
{
	int p[2];
	pid_t pid;
	char c = 0;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		close(p[0]);
		if (fota_state_lock(tmpdir, &fd, NULL) != FOTA_OK)
			_exit(1);
		if (write(p[1], "y", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	close(p[0]);
	return pid;
}

START_TEST(test_second_holder_refused_with_pid)
{
	struct fota_error err = {0};
	char want[64], path[512];
	pid_t holder = holder_start();
	int fd = -1, status;
	char *text;

	ck_assert_int_eq(fota_state_lock(tmpdir, &fd, &err), FOTA_ERR_STATE);
	ck_assert_int_eq(fd, -1);
	snprintf(want, sizeof(want), "is in use by process %ld", (long)holder);
	ck_assert_msg(strstr(err.msg, want) != NULL, "'%s' lacks '%s'", err.msg, want);
	ck_assert_msg(strstr(err.msg, tmpdir) != NULL, "'%s' lacks the directory", err.msg);
	/* The refused attempt left the holder's pid in place. */
	tu_path(path, sizeof(path), tmpdir, FOTA_STATE_LOCK_NAME);
	text = tu_read_text(path, NULL);
	ck_assert_int_eq(atol(text), holder);
	free(text);

	/* The holder's death releases the lock: no stale lock after a crash. */
	kill(holder, SIGKILL);
	ck_assert_int_eq(waitpid(holder, &status, 0), holder);
	ck_assert_msg(fota_state_lock(tmpdir, &fd, &err) == FOTA_OK, "%s", err.msg);
	text = tu_read_text(path, NULL);
	ck_assert_int_eq(atol(text), getpid());
	free(text);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	fota_state_unlock(fd);
}
END_TEST

START_TEST(test_unlock_then_relock)
{
	struct fota_error err = {0};
	int fd = -1, again = -1;

	ck_assert_int_eq(fota_state_lock(tmpdir, &fd, &err), FOTA_OK);
	/* A second open file description conflicts even inside one process. */
	ck_assert_int_eq(fota_state_lock(tmpdir, &again, &err), FOTA_ERR_STATE);
	fota_state_unlock(fd);
	ck_assert_int_eq(fota_state_lock(tmpdir, &again, &err), FOTA_OK);
	fota_state_unlock(again);
	fota_state_unlock(-1);
}
END_TEST

START_TEST(test_missing_directory)
{
	struct fota_error err = {0};
	char dir[512];
	int fd = 0;

	tu_path(dir, sizeof(dir), tmpdir, "absent");
	ck_assert_int_eq(fota_state_lock(dir, &fd, &err), FOTA_ERR_IO);
	ck_assert_int_eq(fd, -1);
	ck_assert_msg(strstr(err.msg, "No such file") != NULL, "%s", err.msg);
}
END_TEST

static Suite *state_lock_suite(void)
{
	Suite *s = suite_create("state_lock");
	TCase *tc = tcase_create("lock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_second_holder_refused_with_pid);
	tcase_add_test(tc, test_unlock_then_relock);
	tcase_add_test(tc, test_missing_directory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(state_lock_suite());
}
