/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture helpers shared by the unit suites; a failed setup step fails the calling test. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/signer.h"

void tu_tmpdir_make(char *dir, size_t n, const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, n, "%s/%s.XXXXXX", base ? base : "/tmp", name);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

void tu_tmpdir_remove(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

void tu_path(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Reads path into a buffer of its size plus extra bytes, which are left for the caller. */
static uint8_t *read_all(const char *path, size_t extra, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	/* malloc(0) may return NULL, which would read as a failure. */
	buf = malloc((size_t)n + extra > 0 ? (size_t)n + extra : 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	return read_all(path, 0, len);
}

char *tu_read_text(const char *path, size_t *len)
{
	size_t n;
	char *buf = (char *)read_all(path, 1, &n);

	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

void tu_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_msg(fd >= 0, "cannot create %s", path);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

void tu_write_text(const char *path, const char *text)
{
	tu_write_file(path, text, strlen(text), 0666);
}

struct fota_trust *tu_trust(void)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_error err = {0};

	ck_assert_ptr_nonnull(trust);
	ck_assert_msg(fota_trust_load(trust, FOTA_TEST_DATA "/trust/store", &err) == FOTA_OK, "%s",
		      err.msg);
	return trust;
}

char *tu_sign(const char *kid, const char *payload)
{
	struct fota_signer *s = NULL;
	struct fota_error err = {0};
	char path[512], *json = NULL;

	snprintf(path, sizeof(path), FOTA_TEST_DATA "/trust/private/%s.pem", kid);
	ck_assert_msg(fota_signer_load(path, NULL, &s, &err) == FOTA_OK, "%s: %s", path, err.msg);
	ck_assert_msg(fota_envelope_sign(&s, 1, (const uint8_t *)payload, strlen(payload), 0, &json,
					 &err) == FOTA_OK,
		      "%s", err.msg);
	fota_signer_free(s);
	return json;
}

void tu_assert_rejected(fota_err rc, fota_err want, const struct fota_error *err,
			const char *prefix, const char *why, const char *what)
{
	ck_assert_msg(rc == want, "%s: got %s (%s), want %s", what, fota_strerror(rc), err->msg,
		      fota_strerror(want));
	if (want == FOTA_OK)
		return;
	ck_assert_msg(strncmp(err->msg, prefix, strlen(prefix)) == 0, "%s: '%s' lacks prefix '%s'",
		      what, err->msg, prefix);
	ck_assert_msg(strstr(err->msg, why) != NULL, "%s: '%s' lacks '%s'", what, err->msg, why);
}

void tu_assert_table_covers_dir(const char *dir, const void *table, size_t n, size_t stride,
				size_t offset)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t seen = 0;

	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		bool found = false;

		if (strncmp(e->d_name, "bad-", 4) != 0)
			continue;
		for (size_t i = 0; i < n && !found; i++) {
			const char *row = (const char *)table + i * stride + offset;

			found = strcmp(*(const char *const *)(const void *)row, e->d_name) == 0;
		}
		ck_assert_msg(found, "%s has no row in the table", e->d_name);
		seen++;
	}
	closedir(d);
	ck_assert_uint_eq(seen, n);
}

int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

fota_err tu_sink_write(void *ctx, const uint8_t *data, size_t len, struct fota_error *err)
{
	struct tu_sink *c = ctx;

	(void)err;
	ck_assert_uint_le(c->len + len, c->cap);
	memcpy(c->p + c->len, data, len);
	c->len += len;
	return FOTA_OK;
}
