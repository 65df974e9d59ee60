/* SPDX-License-Identifier: Apache-2.0 */
/* Boot control on real fw_setenv / grub-editenv environments, driven by the bootloader emulator. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootctl.h"
#include "fota/atomic_file.h"
#include "health.h"
#include "testutil.h"

static const char *const adapter_names[] = {"file", "uboot", "grub"};
#define N_ADAPTERS 3

static char tmpdir[256];

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_bootctl");
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

/* A blank flash area as U-Boot sees it, and the libubootenv config that points at it. */
static void make_uboot(char *config, size_t n, bool redundant)
{
	static uint8_t blank[0x2000];
	char bin1[512], bin2[512], text[1200];

	memset(blank, 0xff, sizeof(blank));
	tu_path(bin1, sizeof(bin1), tmpdir, "uboot1.env");
	tu_path(bin2, sizeof(bin2), tmpdir, "uboot2.env");
	tu_write_file(bin1, blank, sizeof(blank), 0666);
	if (redundant) {
		tu_write_file(bin2, blank, sizeof(blank), 0666);
		snprintf(text, sizeof(text), "%s 0x0 0x2000\n%s 0x0 0x2000\n", bin1, bin2);
	} else {
		snprintf(text, sizeof(text), "# device offset size\n%s 0x0 0x2000\n", bin1);
	}
	tu_path(config, n, tmpdir, "fw_env.config");
	tu_write_text(config, text);
}

/* Paths of the env for adapter; nothing is created but the U-Boot flash image. */
static void env_path(const char *adapter, char *env, size_t n)
{
	if (strcmp(adapter, "uboot") == 0)
		make_uboot(env, n, false);
	else if (strcmp(adapter, "grub") == 0)
		tu_path(env, n, tmpdir, "grubenv");
	else
		tu_path(env, n, tmpdir, "bootenv.txt");
}

static struct bootctl *open_bc(const char *adapter, const char *env, const char *tool_dir)
{
	struct bootctl_params p = {.adapter = adapter, .env = env, .tool_dir = tool_dir};
	struct fota_error err = {0};
	struct bootctl *bc = NULL;

	ck_assert_msg(bootctl_open(&p, &bc, &err) == FOTA_OK, "%s", err.msg);
	return bc;
}

static struct bootctl *provision(const char *adapter, char *env, size_t n, unsigned limit)
{
	struct fota_error err = {0};
	struct bootctl *bc;

	env_path(adapter, env, n);
	bc = open_bc(adapter, env, NULL);
	ck_assert_msg(bootctl_init(bc, BOOTCTL_SLOT_A, limit, &err) == FOTA_OK, "%s: %s", adapter,
		      err.msg);
	return bc;
}

static void expect_state(struct bootctl *bc, const char *slot, bool upgrade, unsigned count,
			 unsigned limit)
{
	struct bootctl_state st;
	struct fota_error err = {0};

	ck_assert_msg(bootctl_read(bc, &st, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_str_eq(bootctl_slot_name(st.primary), slot);
	ck_assert_int_eq(st.upgrade_available, upgrade);
	ck_assert_uint_eq(st.bootcount, count);
	ck_assert_uint_eq(st.bootlimit, limit);
}

/* Powers the device on: runs fota_bootsim and returns the slot it started. */
static char sim_boot(const char *adapter, const char *env)
{
	char booted[512];
	const char *argv[] = {FOTA_BOOTSIM, "--adapter", adapter, "--env", env,
			      "--booted",   booted,	 "boot",  NULL};
	struct run_spec spec = {.argv = argv, .capture_stdout = true, .timeout_ms = 20000};
	struct run_result res;
	struct fota_error err = {0};
	enum bootctl_slot slot;
	char got;

	tu_path(booted, sizeof(booted), tmpdir, "booted");
	ck_assert_msg(health_run(&spec, &res, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_msg(res.end == RUN_EXITED && res.status == 0, "bootsim: %s", res.err_all);
	ck_assert_uint_eq(res.out_len, 2);
	got = res.out[0];
	run_result_clear(&res);
	/* What the agent sees on the next start. */
	ck_assert_msg(bootctl_booted_slot(booted, &slot, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(bootctl_slot_name(slot)[0], got);
	return got;
}

START_TEST(test_cycle)
{
	const char *adapter = adapter_names[_i];
	struct fota_error err = {0};
	struct bootctl *bc;
	char env[512];

	bc = provision(adapter, env, sizeof(env), 3);
	ck_assert_str_eq(bootctl_adapter_name(bc), adapter);
	expect_state(bc, "A", false, 0, 3);
	ck_assert_int_eq(sim_boot(adapter, env), 'A');
	expect_state(bc, "A", false, 0, 3); /* a confirmed slot's boots are not counted */

	/* Update into B: one trial boot, then confirmed. */
	ck_assert_msg(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	expect_state(bc, "B", true, 0, 3);
	ck_assert_int_eq(sim_boot(adapter, env), 'B');
	expect_state(bc, "B", true, 1, 3);
	ck_assert_msg(bootctl_mark_good(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	expect_state(bc, "B", false, 0, 3);
	ck_assert_msg(bootctl_mark_good(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(sim_boot(adapter, env), 'B');
	ck_assert_int_eq(sim_boot(adapter, env), 'B');
	expect_state(bc, "B", false, 0, 3);

	/* Update into A that never starts the agent: 3 boots allowed, the 4th falls back. */
	ck_assert_msg(bootctl_try_slot(bc, BOOTCTL_SLOT_A, &err) == FOTA_OK, "%s", err.msg);
	for (unsigned i = 1; i <= 3; i++) {
		ck_assert_int_eq(sim_boot(adapter, env), 'A');
		expect_state(bc, "A", true, i, 3);
	}
	ck_assert_int_eq(sim_boot(adapter, env), 'B');
	expect_state(bc, "B", false, 4, 3);
	ck_assert_int_eq(sim_boot(adapter, env), 'B');
	expect_state(bc, "B", false, 4, 3);
	/* The agent, back on B, must not confirm A. */
	ck_assert_int_eq(bootctl_mark_good(bc, BOOTCTL_SLOT_A, &err), FOTA_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err.msg, "boots slot B"));
	expect_state(bc, "B", false, 4, 3);

	/* Update into A that boots but fails its health check: the agent rolls back. */
	ck_assert_msg(bootctl_try_slot(bc, BOOTCTL_SLOT_A, &err) == FOTA_OK, "%s", err.msg);
	expect_state(bc, "A", true, 0, 3);
	ck_assert_int_eq(sim_boot(adapter, env), 'A');
	ck_assert_msg(bootctl_rollback(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	expect_state(bc, "B", false, 0, 3);
	ck_assert_int_eq(sim_boot(adapter, env), 'B');
	expect_state(bc, "B", false, 0, 3);
	bootctl_free(bc);
}
END_TEST

START_TEST(test_try_refused)
{
	const char *adapter = adapter_names[_i];
	struct fota_error err = {0};
	struct bootctl *bc;
	char env[512];

	bc = provision(adapter, env, sizeof(env), 3);
	/* The running, confirmed slot never goes on probation. */
	ck_assert_int_eq(bootctl_try_slot(bc, BOOTCTL_SLOT_A, &err), FOTA_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err.msg, "confirmed primary"));
	expect_state(bc, "A", false, 0, 3);
	/* Arming again while on probation restarts the count. */
	ck_assert_msg(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(sim_boot(adapter, env), 'B');
	ck_assert_msg(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	expect_state(bc, "B", true, 0, 3);
	bootctl_free(bc);

	/* Without a bootlimit nothing would ever bring a bad slot back. */
	bc = open_bc(adapter, env, NULL);
	ck_assert_msg(bootctl_init(bc, BOOTCTL_SLOT_A, 0, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err), FOTA_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err.msg, "bootlimit is 0"));
	expect_state(bc, "A", false, 0, 0);
	bootctl_free(bc);
}
END_TEST

/* A missing env is reported, never mistaken for an empty one (grub-editenv would create it). */
START_TEST(test_missing_env)
{
	const char *adapter = adapter_names[_i];
	struct bootctl_state st;
	struct fota_error err = {0};
	struct bootctl *bc;
	char env[512];
	struct stat sb;

	tu_path(env, sizeof(env), tmpdir, "no-such-env");
	bc = open_bc(adapter, env, NULL);
	ck_assert_int_eq(bootctl_read(bc, &st, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no-such-env"));
	ck_assert_int_eq(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_int_ne(stat(env, &sb), 0);
	bootctl_free(bc);
}
END_TEST

START_TEST(test_missing_tool)
{
	static const struct {
		const char *adapter, *tool;
	} cases[] = {{"uboot", "fw_printenv"}, {"grub", "grub-editenv"}};
	struct bootctl_state st;
	struct fota_error err = {0};
	struct bootctl *bc;
	char env[512], empty[512], *old_path;

	env_path(cases[_i].adapter, env, sizeof(env));
	if (strcmp(cases[_i].adapter, "grub") == 0)
		tu_write_text(env, "");
	tu_path(empty, sizeof(empty), tmpdir, "no-tools");
	ck_assert_int_eq(mkdir(empty, 0755), 0);

	/* An explicit tool directory without the tool. */
	bc = open_bc(cases[_i].adapter, env, empty);
	ck_assert_int_eq(bootctl_read(bc, &st, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "boot control tool missing"));
	ck_assert_ptr_nonnull(strstr(err.msg, cases[_i].tool));
	ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
	bootctl_free(bc);

	/* Not on PATH. */
	old_path = strdup(getenv("PATH"));
	ck_assert_int_eq(setenv("PATH", empty, 1), 0);
	bc = open_bc(cases[_i].adapter, env, NULL);
	ck_assert_int_eq(bootctl_read(bc, &st, &err), FOTA_ERR_NOT_FOUND);
	setenv("PATH", old_path, 1);
	free(old_path);
	ck_assert_ptr_nonnull(strstr(err.msg, cases[_i].tool));
	ck_assert_ptr_nonnull(strstr(err.msg, "not found on PATH"));
	bootctl_free(bc);
}
END_TEST

/* A damaged env gives a precise error and a write does not paper over it. */
START_TEST(test_corrupt_env)
{
	static const struct {
		const char *adapter;
		fota_err code;
		const char *why;
	} cases[] = {
	    {"file", FOTA_ERR_PARSE, "line 2: not name=value"},
	    {"uboot", FOTA_ERR_IO, "CRC mismatch"},
	    {"grub", FOTA_ERR_IO, "invalid environment block"},
	};
	struct bootctl_state st;
	struct fota_error err = {0};
	struct bootctl *bc;
	char env[512], bin[512];
	uint8_t *before = NULL, *after = NULL;
	size_t blen = 0, alen = 0;

	bc = provision(cases[_i].adapter, env, sizeof(env), 3);
	if (strcmp(cases[_i].adapter, "uboot") == 0) {
		int fd;

		/* One flipped bit in the data: the CRC no longer matches. */
		tu_path(bin, sizeof(bin), tmpdir, "uboot1.env");
		fd = open(bin, O_RDWR);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pwrite(fd, "c", 1, 6), 1);
		close(fd);
	} else if (strcmp(cases[_i].adapter, "grub") == 0) {
		snprintf(bin, sizeof(bin), "%s", env);
		tu_write_text(env, "boot_slot=B\n");
	} else {
		snprintf(bin, sizeof(bin), "%s", env);
		tu_write_text(env, "boot_slot=B\nthis is not an assignment\n");
	}
	ck_assert_int_eq(fota_read_file(bin, 1 << 20, &before, &blen, &err), FOTA_OK);
	ck_assert_int_eq(bootctl_read(bc, &st, &err), cases[_i].code);
	ck_assert_msg(strstr(err.msg, cases[_i].why), "%s", err.msg);
	ck_assert_int_eq(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err), cases[_i].code);
	ck_assert_int_eq(bootctl_rollback(bc, BOOTCTL_SLOT_A, &err), cases[_i].code);
	ck_assert_int_eq(fota_read_file(bin, 1 << 20, &after, &alen, &err), FOTA_OK);
	ck_assert_uint_eq(alen, blen);
	ck_assert_mem_eq(after, before, blen);
	free(before);
	free(after);
	bootctl_free(bc);
}
END_TEST

static const struct {
	const char *text;
	fota_err code;
	const char *why;
} bad_values[] = {
    {"upgrade_available=0\n", FOTA_ERR_FIELD, "boot_slot is not set"},
    {"boot_slot=C\n", FOTA_ERR_FIELD, "boot_slot='C'"},
    {"boot_slot=A\nupgrade_available=2\n", FOTA_ERR_FIELD, "upgrade_available='2'"},
    {"boot_slot=A\nbootcount=x1\n", FOTA_ERR_FIELD, "bootcount='x1'"},
    {"boot_slot=A\nbootlimit=99999999999\n", FOTA_ERR_FIELD, "bootlimit='99999999999'"},
    {"boot_slot=A\nbootcount=12345678901234567890123456789012\n", FOTA_ERR_FIELD, "longer than"},
    {"# comment\n\nboot_slot=B\nbootlimit=5\nother=x\n", FOTA_OK, NULL},
    {"=A\n", FOTA_ERR_PARSE, "line 1"},
};

START_TEST(test_bad_values)
{
	struct bootctl_state st;
	struct fota_error err = {0};
	struct bootctl *bc;
	char env[512];

	tu_path(env, sizeof(env), tmpdir, "bootenv.txt");
	tu_write_text(env, bad_values[_i].text);
	bc = open_bc("file", env, NULL);
	ck_assert_int_eq(bootctl_read(bc, &st, &err), bad_values[_i].code);
	if (bad_values[_i].why)
		ck_assert_msg(strstr(err.msg, bad_values[_i].why), "%s", err.msg);
	else
		ck_assert(st.primary == BOOTCTL_SLOT_B && st.bootlimit == 5 && st.bootcount == 0);
	bootctl_free(bc);
}
END_TEST

/* Variables other than ours survive a write untouched, in the file and in U-Boot. */
START_TEST(test_set_get_raw)
{
	struct bootctl_var v[2] = {{.name = "other"}, {.name = "boot_slot"}};
	struct bootctl_var bad = {.name = "boot_slot", .value = "A\nboot_slot=B"};
	struct fota_error err = {0};
	struct bootctl *bc;
	char env[512];

	bc = provision(adapter_names[_i], env, sizeof(env), 3);
	snprintf(v[0].value, sizeof(v[0].value), "keep_me");
	ck_assert_msg(bootctl_set(bc, v, 1, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_msg(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_msg(bootctl_get(bc, v, 2, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_str_eq(v[0].value, "keep_me");
	ck_assert_str_eq(v[1].value, "B");
	/* Unset. */
	v[0].value[0] = '\0';
	ck_assert_msg(bootctl_set(bc, v, 1, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_msg(bootctl_get(bc, v, 1, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_str_eq(v[0].value, "");
	/* Nothing but tokens reaches a tool. */
	ck_assert_int_eq(bootctl_set(bc, &bad, 1, &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not allowed"));
	expect_state(bc, "B", true, 0, 3);
	bootctl_free(bc);
}
END_TEST

/*
 * Power cut during a write of a redundant U-Boot env: libubootenv writes the copy that is
 * not current and bumps its flag, so a torn write leaves the other copy, i.e. the state
 * before the write. Simulated by corrupting the copy that was written last.
 */
START_TEST(test_uboot_redundant_torn_write)
{
	struct fota_error err = {0};
	struct bootctl *bc;
	char config[512], bin[2][512];
	uint8_t flag[2];
	int newer, fd;

	make_uboot(config, sizeof(config), true);
	tu_path(bin[0], sizeof(bin[0]), tmpdir, "uboot1.env");
	tu_path(bin[1], sizeof(bin[1]), tmpdir, "uboot2.env");
	bc = open_bc("uboot", config, NULL);
	ck_assert_msg(bootctl_init(bc, BOOTCTL_SLOT_A, 3, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_msg(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	expect_state(bc, "B", true, 0, 3);
	for (int i = 0; i < 2; i++) {
		fd = open(bin[i], O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pread(fd, &flag[i], 1, 4), 1);
		close(fd);
	}
	ck_assert_int_ne(flag[0], flag[1]);
	newer = (uint8_t)(flag[0] - flag[1]) == 1 ? 0 : 1;
	fd = open(bin[newer], O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "\x00\x00\x00", 3, 20), 3);
	close(fd);
	/* The try_slot write is lost as a whole; the previous state is intact. */
	expect_state(bc, "A", false, 0, 3);
	ck_assert_int_eq(sim_boot("uboot", config), 'A');
	bootctl_free(bc);
}
END_TEST

/* grub-editenv rewrites in place; the adapter edits a copy and renames it, so a power cut
 * at any point leaves either the old block or the new one. */
START_TEST(test_grub_replace)
{
	struct fota_error err = {0};
	struct bootctl *bc;
	char env[512], tmp[600];
	struct stat before, after;

	bc = provision("grub", env, sizeof(env), 3);
	ck_assert_int_eq(stat(env, &before), 0);
	ck_assert_uint_eq(before.st_size, 1024);
	/* Debris of a write cut short must not matter. */
	snprintf(tmp, sizeof(tmp), "%s.fota-new", env);
	tu_write_text(tmp, "half a block");
	expect_state(bc, "A", false, 0, 3);
	ck_assert_msg(bootctl_try_slot(bc, BOOTCTL_SLOT_B, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(stat(env, &after), 0);
	ck_assert_uint_ne(after.st_ino, before.st_ino);
	ck_assert_uint_eq(after.st_size, 1024);
	ck_assert_int_ne(stat(tmp, &before), 0);
	expect_state(bc, "B", true, 0, 3);
	bootctl_free(bc);
}
END_TEST

static const struct {
	const char *text; /* NULL: no file */
	fota_err code;
	char slot;
} booted_cases[] = {
    {"A\n", FOTA_OK, 'A'},
    {"B", FOTA_OK, 'B'},
    {"  B \n", FOTA_OK, 'B'},
    {"root=/dev/mmcblk0p3 fota.slot=B rootwait\n", FOTA_OK, 'B'},
    {"fota.slot=A", FOTA_OK, 'A'},
    {"xfota.slot=B quiet\n", FOTA_ERR_FIELD, 0},
    {"fota.slot=BB\n", FOTA_ERR_FIELD, 0},
    {"C\n", FOTA_ERR_FIELD, 0},
    {"", FOTA_ERR_FIELD, 0},
    {NULL, FOTA_ERR_NOT_FOUND, 0},
};

START_TEST(test_booted_slot)
{
	struct fota_error err = {0};
	enum bootctl_slot slot;
	char path[512];

	tu_path(path, sizeof(path), tmpdir, "cmdline");
	if (booted_cases[_i].text)
		tu_write_text(path, booted_cases[_i].text);
	ck_assert_int_eq(bootctl_booted_slot(path, &slot, &err), booted_cases[_i].code);
	if (booted_cases[_i].code == FOTA_OK)
		ck_assert_int_eq(bootctl_slot_name(slot)[0], booted_cases[_i].slot);
	else
		ck_assert_ptr_nonnull(strstr(err.msg, "booted slot"));
}
END_TEST

START_TEST(test_open_errors)
{
	struct bootctl_params p = {.adapter = "lilo", .env = "/x"};
	struct fota_error err = {0};
	struct bootctl *bc = NULL;
	enum bootctl_slot s;

	ck_assert_int_eq(bootctl_open(&p, &bc, &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "'lilo' unknown"));
	ck_assert_ptr_null(bc);
	p.adapter = "uboot";
	p.env = NULL;
	ck_assert_int_eq(bootctl_open(&p, &bc, &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "needs an environment path"));
	ck_assert_int_eq(bootctl_slot_parse("a", &s, &err), FOTA_ERR_FIELD);
	ck_assert_int_eq(bootctl_slot_parse("B", &s, &err), FOTA_OK);
	ck_assert_int_eq(bootctl_other(s), BOOTCTL_SLOT_A);
	bootctl_free(NULL);
}
END_TEST

static Suite *bootctl_suite(void)
{
	Suite *s = suite_create("bootctl");
	TCase *tc = tcase_create("adapters");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cycle, 0, N_ADAPTERS);
	tcase_add_loop_test(tc, test_try_refused, 0, N_ADAPTERS);
	tcase_add_loop_test(tc, test_missing_env, 0, N_ADAPTERS);
	tcase_add_loop_test(tc, test_missing_tool, 0, 2);
	tcase_add_loop_test(tc, test_corrupt_env, 0, N_ADAPTERS);
	tcase_add_loop_test(tc, test_bad_values, 0,
			    (int)(sizeof(bad_values) / sizeof(bad_values[0])));
	tcase_add_loop_test(tc, test_set_get_raw, 0, N_ADAPTERS);
	tcase_add_test(tc, test_uboot_redundant_torn_write);
	tcase_add_test(tc, test_grub_replace);
	tcase_add_loop_test(tc, test_booted_slot, 0,
			    (int)(sizeof(booted_cases) / sizeof(booted_cases[0])));
	tcase_add_test(tc, test_open_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(bootctl_suite());
}
