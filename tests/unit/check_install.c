/* SPDX-License-Identifier: Apache-2.0 */
/* Install backends (ab-slot verify-in-place, vendor script) and the health check runner. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootctl.h"
#include "fota/atomic_file.h"
#include "fota/digest.h"
#include "fota/timeutil.h"
#include "health.h"
#include "installer.h"
#include "testutil.h"

#define IMAGE_SIZE (200 * 1024 + 17)

static char tmpdir[256];

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_install");
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

static void script(char *path, size_t n, const char *name, const char *body)
{
	char text[2048];

	tu_path(path, n, tmpdir, name);
	snprintf(text, sizeof(text), "#!/bin/sh\n%s", body);
	tu_write_file(path, text, strlen(text), 0755);
}

/* A manifest for IMAGE_SIZE deterministic bytes, written into a slot that is larger than the
 * image (as a partition is) and holds stale data past it. */
static void make_slot(struct fota_manifest *m, char *slot, size_t n, size_t slot_size)
{
	size_t n_buf = slot_size > IMAGE_SIZE ? slot_size : IMAGE_SIZE;
	uint8_t *buf = malloc(n_buf);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n_buf; i++)
		buf[i] = (uint8_t)(i * 131u + (i >> 9));
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "gateway-rootfs");
	snprintf(m->version, sizeof(m->version), "2.4.1");
	m->size = IMAGE_SIZE;
	m->install_method = FOTA_INSTALL_AB_SLOT;
	fota_sha256(buf, IMAGE_SIZE, m->sha256);
	tu_path(slot, n, tmpdir, "slot-b.img");
	tu_write_file(slot, buf, slot_size, 0600);
	free(buf);
}

static struct bootctl *file_bootctl(char *env, size_t n)
{
	struct bootctl_params p = {.adapter = "file"};
	struct fota_error err = {0};
	struct bootctl *bc = NULL;

	tu_path(env, n, tmpdir, "bootenv.txt");
	p.env = env;
	ck_assert_int_eq(bootctl_open(&p, &bc, &err), FOTA_OK);
	ck_assert_msg(bootctl_init(bc, BOOTCTL_SLOT_A, 3, &err) == FOTA_OK, "%s", err.msg);
	return bc;
}

static void expect_state(struct bootctl *bc, enum bootctl_slot slot, bool upgrade)
{
	struct bootctl_state st;
	struct fota_error err = {0};

	ck_assert_msg(bootctl_read(bc, &st, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(st.primary, slot);
	ck_assert_int_eq(st.upgrade_available, upgrade);
	ck_assert_uint_eq(st.bootcount, 0);
}

START_TEST(test_slot_good)
{
	struct fota_manifest m;
	struct fota_error err = {0};
	struct bootctl *bc;
	char slot[512], env[512];

	make_slot(&m, slot, sizeof(slot), IMAGE_SIZE + 4096);
	bc = file_bootctl(env, sizeof(env));
	ck_assert_msg(install_slot(&m, slot, bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	expect_state(bc, BOOTCTL_SLOT_B, true);
	bootctl_free(bc);
}
END_TEST

/* Every way the slot can disagree with the manifest; none of them may touch the boot env. */
static const struct {
	const char *what;
	long flip;	/* offset of a flipped byte, -1 none */
	long slot_size; /* bytes in the slot file, -1: no slot at all */
	int target;	/* slot to arm */
	fota_err code;
	const char *why;
} slot_bad[] = {
    {"flipped first byte", 0, IMAGE_SIZE + 4096, BOOTCTL_SLOT_B, FOTA_ERR_DIGEST, "not switching"},
    {"flipped last byte", IMAGE_SIZE - 1, IMAGE_SIZE, BOOTCTL_SLOT_B, FOTA_ERR_DIGEST,
     "!= manifest"},
    {"slot too small", -1, IMAGE_SIZE - 1, BOOTCTL_SLOT_B, FOTA_ERR_TOO_BIG, "the image has"},
    {"no slot", -1, -1, BOOTCTL_SLOT_B, FOTA_ERR_NOT_FOUND, "slot-b.img"},
    {"running slot", -1, IMAGE_SIZE, BOOTCTL_SLOT_A, FOTA_ERR_STATE, "confirmed primary"},
};

START_TEST(test_slot_bad)
{
	struct fota_manifest m;
	struct fota_error err = {0};
	struct bootctl *bc;
	char slot[512], env[512];
	uint8_t *before = NULL, *after = NULL;
	size_t blen = 0, alen = 0;

	make_slot(&m, slot, sizeof(slot),
		  slot_bad[_i].slot_size > 0 ? (size_t)slot_bad[_i].slot_size : IMAGE_SIZE);
	if (slot_bad[_i].slot_size < 0)
		ck_assert_int_eq(unlink(slot), 0);
	if (slot_bad[_i].flip >= 0) {
		int fd = open(slot, O_RDWR);
		uint8_t b;

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pread(fd, &b, 1, slot_bad[_i].flip), 1);
		b ^= 0x01;
		ck_assert_int_eq(pwrite(fd, &b, 1, slot_bad[_i].flip), 1);
		close(fd);
	}
	bc = file_bootctl(env, sizeof(env));
	ck_assert_int_eq(fota_read_file(env, 4096, &before, &blen, &err), FOTA_OK);
	ck_assert_int_eq(install_slot(&m, slot, bc, (enum bootctl_slot)slot_bad[_i].target, &err),
			 slot_bad[_i].code);
	ck_assert_msg(strstr(err.msg, slot_bad[_i].why), "%s: %s", slot_bad[_i].what, err.msg);
	ck_assert_ptr_nonnull(strstr(err.msg, "install ab-slot"));
	/* try_slot was not called: the env is byte for byte what provisioning wrote. */
	ck_assert_int_eq(fota_read_file(env, 4096, &after, &alen, &err), FOTA_OK);
	ck_assert_uint_eq(alen, blen);
	ck_assert_mem_eq(after, before, blen);
	expect_state(bc, BOOTCTL_SLOT_A, false);
	free(before);
	free(after);
	bootctl_free(bc);
}
END_TEST

static struct fota_manifest script_manifest(void)
{
	struct fota_manifest m;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "modem-fw");
	snprintf(m.version, sizeof(m.version), "7.1.0-rc2");
	m.size = 12345;
	for (int i = 0; i < FOTA_SHA256_LEN; i++)
		m.sha256[i] = (uint8_t)(0xa0 + i);
	m.install_method = FOTA_INSTALL_SCRIPT;
	snprintf(m.install_params[0].key, sizeof(m.install_params[0].key), "target-dir");
	snprintf(m.install_params[0].value, sizeof(m.install_params[0].value), "/opt/modem x");
	snprintf(m.install_params[1].key, sizeof(m.install_params[1].key), "Reset.Mode");
	snprintf(m.install_params[1].value, sizeof(m.install_params[1].value), "cold");
	m.n_install_params = 2;
	return m;
}

START_TEST(test_script_success)
{
	struct fota_manifest m = script_manifest();
	struct fota_error err = {0};
	char hook[512], out[512], body[1024], expect[1024];
	uint8_t *got = NULL;
	size_t len = 0;

	tu_path(out, sizeof(out), tmpdir, "hook.out");
	snprintf(body, sizeof(body),
		 "printf '%%s|%%s|%%s|%%s|%%s|%%s|%%s|%%s\\n' \"$1\" \"$FOTA_IMAGE_NAME\" "
		 "\"$FOTA_IMAGE_VERSION\" \"$FOTA_IMAGE_SHA256\" \"$FOTA_IMAGE_SIZE\" "
		 "\"$FOTA_INSTALL_PARAM_TARGET_DIR\" \"$FOTA_INSTALL_PARAM_RESET_MODE\" "
		 "\"$#\" > '%s'\n"
		 "echo 'chatty hook' >&2\n",
		 out);
	script(hook, sizeof(hook), "install.sh", body);
	ck_assert_msg(install_script(hook, "/data/staged image.bin", &m, 5000, &err) == FOTA_OK,
		      "%s", err.msg);
	ck_assert_int_eq(fota_read_file(out, 4096, &got, &len, &err), FOTA_OK);
	snprintf(expect, sizeof(expect),
		 "/data/staged image.bin|modem-fw|7.1.0-rc2|"
		 "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf|12345|"
		 "/opt/modem x|cold|1\n");
	ck_assert_str_eq((char *)got, expect);
	free(got);
}
END_TEST

static const struct {
	const char *body;
	unsigned timeout_ms;
	fota_err code;
	const char *why[3]; /* each must appear in the reason */
	const char *not_why;
} script_bad[] = {
    {"echo 'checking battery' >&2\necho 'flash write failed: no space on /dev/mtd3' >&2\n"
     "exit 3\n",
     5000,
     FOTA_ERR_STATE,
     {"'install.sh' exited with code 3", ": flash write failed: no space on /dev/mtd3"},
     "checking battery"},
    {"exit 1\n", 5000, FOTA_ERR_STATE, {"exited with code 1"}, ": "},
    {"echo 'segfault coming' >&2\nkill -SEGV $$\n",
     5000,
     FOTA_ERR_STATE,
     {"killed by signal 11", "segfault coming"},
     NULL},
    {"sleep 60\n", 1000, FOTA_ERR_TIMEOUT, {"timed out after", "limit 1000 ms", "killed"}, NULL},
};

START_TEST(test_script_failure)
{
	struct fota_manifest m = script_manifest();
	struct fota_error err = {0};
	char hook[512];
	int64_t t0;

	script(hook, sizeof(hook), "install.sh", script_bad[_i].body);
	t0 = fota_time_mono_ms();
	ck_assert_int_eq(install_script(hook, "/img", &m, script_bad[_i].timeout_ms, &err),
			 script_bad[_i].code);
	ck_assert_int_lt(fota_time_mono_ms() - t0, 5000);
	for (int k = 0; k < 3 && script_bad[_i].why[k]; k++)
		ck_assert_msg(strstr(err.msg, script_bad[_i].why[k]), "%s", err.msg);
	if (script_bad[_i].not_why)
		ck_assert_msg(!strstr(err.msg, script_bad[_i].not_why), "%s", err.msg);
}
END_TEST

static bool process_gone(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;

	if (kill(pid, 0) != 0)
		return errno == ESRCH;
	/* Killed but not yet reaped by init counts as gone. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	fclose(f);
	return state == 'Z' || state == 'X';
}

/* The whole process group goes, not just the hook: a sleep it started in the background is
 * killed as well. */
START_TEST(test_script_timeout_kills_group)
{
	struct fota_manifest m = script_manifest();
	struct fota_error err = {0};
	char hook[512], pidfile[512], body[1024];
	uint8_t *txt = NULL;
	size_t len = 0;
	pid_t child;
	int64_t t0;
	bool gone = false;

	tu_path(pidfile, sizeof(pidfile), tmpdir, "sleep.pid");
	snprintf(body, sizeof(body), "sleep 60 &\necho $! > '%s'\nwait\n", pidfile);
	script(hook, sizeof(hook), "install.sh", body);
	t0 = fota_time_mono_ms();
	ck_assert_int_eq(install_script(hook, "/img", &m, 1000, &err), FOTA_ERR_TIMEOUT);
	ck_assert_int_lt(fota_time_mono_ms() - t0, 3000);
	ck_assert_int_ge(fota_time_mono_ms() - t0, 1000);
	ck_assert_int_eq(fota_read_file(pidfile, 64, &txt, &len, &err), FOTA_OK);
	child = (pid_t)atoi((char *)txt);
	free(txt);
	ck_assert_int_gt(child, 1);
	for (int i = 0; i < 100 && !gone; i++) {
		gone = process_gone(child);
		if (!gone)
			usleep(20000);
	}
	ck_assert_msg(gone, "background sleep %d survived the timeout", (int)child);
}
END_TEST

START_TEST(test_script_cannot_start)
{
	struct fota_manifest m = script_manifest();
	struct fota_error err = {0};
	char hook[512];

	tu_path(hook, sizeof(hook), tmpdir, "missing.sh");
	ck_assert_int_eq(install_script(hook, "/img", &m, 1000, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "install hook could not start"));
	ck_assert_ptr_nonnull(strstr(err.msg, "missing.sh"));
	tu_path(hook, sizeof(hook), tmpdir, "not-exec.sh");
	tu_write_file(hook, "#!/bin/sh\n", 10, 0644);
	ck_assert_int_eq(install_script(hook, "/img", &m, 1000, &err), FOTA_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "Permission denied"));
	ck_assert_int_eq(install_script("", "/img", &m, 1000, &err), FOTA_ERR_INVAL);
	/* Two keys that become the same environment name. */
	script(hook, sizeof(hook), "ok.sh", "exit 0\n");
	snprintf(m.install_params[1].key, sizeof(m.install_params[1].key), "target.dir");
	ck_assert_int_eq(install_script(hook, "/img", &m, 1000, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "FOTA_INSTALL_PARAM_TARGET_DIR"));
}
END_TEST

static const struct {
	const char *body; /* NULL: cmdline used as is */
	const char *cmdline;
	unsigned timeout_ms;
	enum health_status status;
	fota_err code;
	int exit_code, sig;
	const char *why;
} health_cases[] = {
    {"exit 0\n", "", 2000, HEALTH_PASSED, FOTA_OK, 0, 0, NULL},
    {"echo 'mqtt: no route to host' >&2\nexit 2\n", "", 2000, HEALTH_FAILED, FOTA_ERR_STATE, 2, 0,
     "'check.sh' failed: exited with code 2: mqtt: no route to host"},
    {"kill -TERM $$\n", "", 2000, HEALTH_FAILED, FOTA_ERR_STATE, -1, SIGTERM,
     "killed by signal 15"},
    {"sleep 60\n", "", 1000, HEALTH_TIMED_OUT, FOTA_ERR_TIMEOUT, -1, SIGKILL, "timed out after"},
    {"test \"$1\" = --quick && test \"$2\" = now\n", " --quick   now ", 2000, HEALTH_PASSED,
     FOTA_OK, 0, 0, NULL},
    {"exit 0\n", " 'quoted arg'", 2000, HEALTH_NOT_STARTED, FOTA_ERR_INVAL, -1, 0,
     "no shell runs it"},
    {NULL, "/nonexistent/health-check --x", 2000, HEALTH_NOT_STARTED, FOTA_ERR_NOT_FOUND, -1, 0,
     "could not start"},
    {NULL, "no-such-health-tool-xyz", 2000, HEALTH_NOT_STARTED, FOTA_ERR_NOT_FOUND, -1, 0,
     "not found on PATH"},
    {NULL, "   ", 2000, HEALTH_NOT_STARTED, FOTA_ERR_INVAL, -1, 0, "empty"},
};

START_TEST(test_health)
{
	struct fota_error err = {0};
	struct health_report rep;
	char cmd[1024], path[512];
	int64_t t0;

	if (health_cases[_i].body) {
		script(path, sizeof(path), "check.sh", health_cases[_i].body);
		snprintf(cmd, sizeof(cmd), "%s%s", path, health_cases[_i].cmdline);
	} else {
		snprintf(cmd, sizeof(cmd), "%s", health_cases[_i].cmdline);
	}
	t0 = fota_time_mono_ms();
	ck_assert_int_eq(health_check(cmd, health_cases[_i].timeout_ms, &rep, &err),
			 health_cases[_i].status);
	ck_assert_int_lt(fota_time_mono_ms() - t0, 3000);
	ck_assert_int_eq(rep.status, health_cases[_i].status);
	ck_assert_int_eq(rep.exit_code, health_cases[_i].exit_code);
	ck_assert_int_eq(rep.signal, health_cases[_i].sig);
	if (health_cases[_i].status != HEALTH_PASSED) {
		ck_assert_int_eq(err.code, health_cases[_i].code);
		ck_assert_msg(strstr(err.msg, health_cases[_i].why), "%s", err.msg);
	}
	ck_assert_ptr_nonnull(health_status_name(rep.status));
}
END_TEST

/* Large stdout is captured up to the limit, stdin is fed, and a command that stops reading
 * its stdin early does not take the caller down with SIGPIPE. */
START_TEST(test_run_pipes)
{
	static char input[300 * 1024];
	const char *cat[] = {"cat", NULL}, *head[] = {"head", "-c", "10", NULL};
	struct run_spec spec = {.argv = cat, .capture_stdout = true, .timeout_ms = 5000};
	struct fota_error err = {0};
	struct run_result res;

	memset(input, 'x', sizeof(input));
	spec.input = input;
	spec.input_len = sizeof(input);
	ck_assert_int_eq(health_run(&spec, &res, &err), FOTA_OK);
	ck_assert_int_eq(res.end, RUN_EXITED);
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.out_len, HEALTH_MAX_STDOUT);
	run_result_clear(&res);
	spec.argv = head;
	ck_assert_int_eq(health_run(&spec, &res, &err), FOTA_OK);
	ck_assert_uint_eq(res.out_len, 10);
	run_result_clear(&res);
}
END_TEST

/* The command sees stdin, stdout, stderr and nothing of ours (ls's own directory handle is
 * the fourth); nothing leaks on our side either, whatever the outcome. */
START_TEST(test_run_descriptors)
{
	const char *ls[] = {"ls", "/proc/self/fd", NULL}, *nope[] = {"/nonexistent/x", NULL};
	const char *sleeper[] = {"sleep", "5", NULL};
	struct run_spec spec = {.argv = ls, .capture_stdout = true, .timeout_ms = 5000};
	struct fota_error err = {0};
	struct run_result res;
	int before, leak = open("/dev/null", O_RDONLY);

	ck_assert_int_ge(leak, 3);
	before = tu_count_entries("/proc/self/fd");
	ck_assert_int_eq(health_run(&spec, &res, &err), FOTA_OK);
	ck_assert_str_eq(res.out, "0\n1\n2\n3\n");
	run_result_clear(&res);
	spec.argv = nope;
	ck_assert_int_eq(health_run(&spec, &res, &err), FOTA_ERR_NOT_FOUND);
	run_result_clear(&res);
	spec.argv = sleeper;
	spec.timeout_ms = 100;
	ck_assert_int_eq(health_run(&spec, &res, &err), FOTA_ERR_TIMEOUT);
	ck_assert_int_eq(res.end, RUN_TIMED_OUT);
	run_result_clear(&res);
	ck_assert_int_eq(tu_count_entries("/proc/self/fd"), before);
	close(leak);
}
END_TEST

/* The file backend replaces the target's bytes, not its permissions: an executable stays
 * executable and keeps its owner, whatever mode the staged download had. */
START_TEST(test_file_keeps_mode_and_owner)
{
	char staged[512], target[512], prev[512];
	struct fota_error err = {0};
	struct stat st;
	char *text;

	tu_path(staged, sizeof(staged), tmpdir, "staged.bin");
	tu_path(target, sizeof(target), tmpdir, "firmware.bin");
	tu_path(prev, sizeof(prev), tmpdir, "firmware.bin.prev");
	tu_write_file(target, "old", 3, 0755);
	ck_assert_int_eq(chmod(target, 0755), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(target, 65534, 65534), 0);
	tu_write_file(staged, "new", 3, 0600);
	ck_assert_msg(install_file(staged, target, &err) == FOTA_OK, "%s", err.msg);
	text = tu_read_text(target, NULL);
	ck_assert_str_eq(text, "new");
	free(text);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	if (geteuid() == 0) {
		ck_assert_uint_eq(st.st_uid, 65534);
		ck_assert_uint_eq(st.st_gid, 65534);
	}
	text = tu_read_text(prev, NULL);
	ck_assert_str_eq(text, "old");
	free(text);
}
END_TEST

/* On the state directory's filesystem the verified download is renamed into place, no copy
 * (docs/performance.md counts no install copy); from another filesystem it is copied. */
START_TEST(test_file_moves_or_copies)
{
	char staged[512], target[512], shm[64];
	struct fota_error err = {0};
	struct stat before, after, here, there;
	char *text;

	tu_path(staged, sizeof(staged), tmpdir, "staged.bin");
	tu_path(target, sizeof(target), tmpdir, "firmware.bin");
	tu_write_file(target, "old", 3, 0644);
	tu_write_file(staged, "new", 3, 0600);
	ck_assert_int_eq(stat(staged, &before), 0);
	ck_assert_msg(install_file(staged, target, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(stat(target, &after), 0);
	ck_assert_msg(after.st_ino == before.st_ino, "same filesystem: the download was copied");
	ck_assert_int_eq(access(staged, F_OK), -1);

	/* /dev/shm is another filesystem than the test directory on most machines. */
	snprintf(shm, sizeof(shm), "/dev/shm/fota-install-%ld", (long)getpid());
	if (stat("/dev/shm", &there) != 0 || stat(tmpdir, &here) != 0 ||
	    here.st_dev == there.st_dev)
		return;
	tu_write_file(shm, "newer", 5, 0600);
	ck_assert_int_eq(stat(shm, &before), 0);
	ck_assert_msg(install_file(shm, target, &err) == FOTA_OK, "%s", err.msg);
	text = tu_read_text(target, NULL);
	ck_assert_str_eq(text, "newer");
	free(text);
	ck_assert_int_eq(access(shm, F_OK), -1);
}
END_TEST

static Suite *install_suite(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("backends");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_file_keeps_mode_and_owner);
	tcase_add_test(tc, test_file_moves_or_copies);
	tcase_add_test(tc, test_slot_good);
	tcase_add_loop_test(tc, test_slot_bad, 0, (int)(sizeof(slot_bad) / sizeof(slot_bad[0])));
	tcase_add_test(tc, test_script_success);
	tcase_add_loop_test(tc, test_script_failure, 0,
			    (int)(sizeof(script_bad) / sizeof(script_bad[0])));
	tcase_add_test(tc, test_script_timeout_kills_group);
	tcase_add_test(tc, test_script_cannot_start);
	tcase_add_loop_test(tc, test_health, 0,
			    (int)(sizeof(health_cases) / sizeof(health_cases[0])));
	tcase_add_test(tc, test_run_pipes);
	tcase_add_test(tc, test_run_descriptors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(install_suite());
}
