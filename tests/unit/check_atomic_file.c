/* SPDX-License-Identifier: Apache-2.0 */
/* Durable file helpers: atomic replace leaves no temp behind, bounded reads, move aside, mkdirs. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/atomic_file.h"
#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_atomic_file");
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

START_TEST(test_write_replace)
{
	struct fota_error err = {0};
	char path[512];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;

	tu_path(path, sizeof(path), tmpdir, "state.json");
	ck_assert_int_eq(fota_atomic_write(path, "first version", 13, 0600, &err), FOTA_OK);
	ck_assert_int_eq(fota_read_file(path, 100, &buf, &len, &err), FOTA_OK);
	ck_assert_uint_eq(len, 13);
	ck_assert_str_eq((char *)buf, "first version"); /* trailing NUL added */
	free(buf);

	ck_assert_int_eq(fota_atomic_write(path, "v2", 2, 0640, &err), FOTA_OK);
	ck_assert_int_eq(fota_read_file(path, 100, &buf, &len, &err), FOTA_OK);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(buf, "v2", 2);
	free(buf);
	/* The new file carries the mode of its temp, and no temp is left next to it. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0077 & ~(mode_t)0640, 0);
	ck_assert_int_eq(tu_count_entries(tmpdir), 1);

	ck_assert_int_eq(fota_atomic_write(path, NULL, 0, 0600, &err), FOTA_OK);
	ck_assert_int_eq(fota_read_file(path, 100, &buf, &len, &err), FOTA_OK);
	ck_assert_uint_eq(len, 0);
	free(buf);
}
END_TEST

START_TEST(test_write_errors)
{
	struct fota_error err = {0};
	char path[512];

	tu_path(path, sizeof(path), tmpdir, "no/such/dir/state");
	ck_assert_int_eq(fota_atomic_write(path, "x", 1, 0600, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot create"));
	ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));

	/* The target is a non-empty directory: rename fails and the temp is cleaned up. */
	tu_path(path, sizeof(path), tmpdir, "d");
	ck_assert_int_eq(fota_mkdirs(path, 0700, &err), FOTA_OK);
	tu_path(path, sizeof(path), tmpdir, "d/inner");
	ck_assert_int_eq(fota_mkdirs(path, 0700, &err), FOTA_OK);
	tu_path(path, sizeof(path), tmpdir, "d");
	ck_assert_int_eq(fota_atomic_write(path, "x", 1, 0600, &err), FOTA_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot rename"));
	ck_assert_int_eq(tu_count_entries(tmpdir), 1);
	ck_assert_int_eq(fota_atomic_write(NULL, "x", 1, 0600, &err), FOTA_ERR_INVAL);
}
END_TEST

START_TEST(test_commit)
{
	struct fota_error err = {0};
	char tmp[512], final[512];
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f;

	tu_path(tmp, sizeof(tmp), tmpdir, "x.tmp");
	tu_path(final, sizeof(final), tmpdir, "x");
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs("committed", f);
	fclose(f);
	ck_assert_int_eq(fota_atomic_commit(tmp, final, &err), FOTA_OK);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ck_assert_int_eq(fota_read_file(final, 64, &buf, &len, &err), FOTA_OK);
	ck_assert_str_eq((char *)buf, "committed");
	free(buf);
	ck_assert_int_eq(fota_atomic_commit(tmp, final, &err), FOTA_ERR_NOT_FOUND);

	ck_assert_int_eq(fota_fsync_parent(final, &err), FOTA_OK);
	ck_assert_int_eq(fota_fsync_parent("relative-name", &err), FOTA_OK);
	ck_assert_int_eq(fota_fsync_parent("/top", &err), FOTA_OK);
	tu_path(final, sizeof(final), tmpdir, "gone/x");
	ck_assert_int_eq(fota_fsync_parent(final, &err), FOTA_ERR_NOT_FOUND);
}
END_TEST

struct read_case {
	size_t file_len, max;
	fota_err code;
};

static const struct read_case read_cases[] = {
    {0, 0, FOTA_OK},
    {10, 10, FOTA_OK},
    {11, 10, FOTA_ERR_TOO_BIG},
    {5000, 4096, FOTA_ERR_TOO_BIG},
    {100000, 100000, FOTA_OK},
    {100000, 1 << 20, FOTA_OK},
};

START_TEST(test_read_bounded)
{
	const struct read_case *c = &read_cases[_i];
	struct fota_error err = {0};
	uint8_t *data = malloc(c->file_len + 1), *buf = NULL;
	char path[512];
	size_t len = 0;

	for (size_t i = 0; i < c->file_len; i++)
		data[i] = (uint8_t)(i % 251);
	tu_path(path, sizeof(path), tmpdir, "r.bin");
	ck_assert_int_eq(fota_atomic_write(path, data, c->file_len, 0600, &err), FOTA_OK);
	ck_assert_int_eq(fota_read_file(path, c->max, &buf, &len, &err), c->code);
	if (c->code == FOTA_OK) {
		ck_assert_uint_eq(len, c->file_len);
		ck_assert_mem_eq(buf, data, len);
		ck_assert_uint_eq(buf[len], 0);
		free(buf);
	} else {
		ck_assert_ptr_nonnull(strstr(err.msg, "limit"));
	}
	free(data);
}
END_TEST

START_TEST(test_read_errors)
{
	struct fota_error err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	char path[512];

	tu_path(path, sizeof(path), tmpdir, "absent");
	ck_assert_int_eq(fota_read_file(path, 10, &buf, &len, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "absent"));
	ck_assert_int_eq(fota_read_file(tmpdir, 10, &buf, &len, &err), FOTA_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "is a directory"));
	/* A character device has no size to trust: the bound holds on what read() returns. */
	ck_assert_int_eq(fota_read_file("/dev/zero", 100, &buf, &len, &err), FOTA_ERR_TOO_BIG);
	ck_assert_int_eq(fota_read_file("/dev/null", 100, &buf, &len, &err), FOTA_OK);
	ck_assert_uint_eq(len, 0);
	free(buf);
}
END_TEST

START_TEST(test_move_aside)
{
	struct fota_error err = {0};
	char path[512], broken[600];
	uint8_t *buf = NULL;
	size_t len = 0;

	tu_path(path, sizeof(path), tmpdir, "journal");
	snprintf(broken, sizeof(broken), "%s.broken", path);
	ck_assert_int_eq(fota_atomic_write(path, "garbage", 7, 0600, &err), FOTA_OK);
	ck_assert_int_eq(fota_move_aside(path, &err), FOTA_OK);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(fota_read_file(broken, 64, &buf, &len, &err), FOTA_OK);
	ck_assert_str_eq((char *)buf, "garbage");
	free(buf);
	/* A second broken file replaces the first rather than failing the recovery. */
	ck_assert_int_eq(fota_atomic_write(path, "again", 5, 0600, &err), FOTA_OK);
	ck_assert_int_eq(fota_move_aside(path, &err), FOTA_OK);
	ck_assert_int_eq(fota_read_file(broken, 64, &buf, &len, &err), FOTA_OK);
	ck_assert_str_eq((char *)buf, "again");
	free(buf);
	ck_assert_int_eq(fota_move_aside(path, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot move"));
}
END_TEST

START_TEST(test_mkdirs)
{
	struct fota_error err = {0};
	char path[512];
	struct stat st;

	tu_path(path, sizeof(path), tmpdir, "a/b/c/d");
	ck_assert_int_eq(fota_mkdirs(path, 0700, &err), FOTA_OK);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	/* Existing directories, and a trailing slash, are fine. */
	ck_assert_int_eq(fota_mkdirs(path, 0700, &err), FOTA_OK);
	tu_path(path, sizeof(path), tmpdir, "a/b/");
	ck_assert_int_eq(fota_mkdirs(path, 0700, &err), FOTA_OK);
	/* A file in the way is an error naming it. */
	tu_path(path, sizeof(path), tmpdir, "a/file");
	ck_assert_int_eq(fota_atomic_write(path, "x", 1, 0600, &err), FOTA_OK);
	tu_path(path, sizeof(path), tmpdir, "a/file/sub");
	ck_assert_int_eq(fota_mkdirs(path, 0700, &err), FOTA_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "a/file"));
	ck_assert_int_eq(fota_mkdirs("", 0700, &err), FOTA_ERR_INVAL);
}
END_TEST

static Suite *atomic_file_suite(void)
{
	Suite *s = suite_create("atomic_file");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_replace);
	tcase_add_test(tc, test_write_errors);
	tcase_add_test(tc, test_commit);
	tcase_add_loop_test(tc, test_read_bounded, 0,
			    (int)(sizeof(read_cases) / sizeof(read_cases[0])));
	tcase_add_test(tc, test_read_errors);
	tcase_add_test(tc, test_move_aside);
	tcase_add_test(tc, test_mkdirs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(atomic_file_suite());
}
