/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture helpers shared by the unit suites: scratch directories, data files, runners. */
#ifndef FOTA_TESTUTIL_H
#define FOTA_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fota/error.h"
#include "fota/trust.h"

#define TU_N(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Creates "$TMPDIR/<name>.XXXXXX" (or under /tmp) into dir; removes it and all it holds. */
void tu_tmpdir_make(char *dir, size_t n, const char *name);
void tu_tmpdir_remove(const char *dir);

/* Writes "dir/name" into out. */
void tu_path(char *out, size_t n, const char *dir, const char *name);

/* Counts the entries of dir whose names do not start with a dot. */
int tu_count_entries(const char *dir);

/* Reads a whole file into an exactly sized allocation with no terminator, so that an
 * over-read trips ASan; the caller frees it. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Reads a whole file as a NUL-terminated string; len may be NULL. The caller frees it. */
char *tu_read_text(const char *path, size_t *len);

/* Creates or truncates path with the given mode (before umask) and writes all of data. */
void tu_write_file(const char *path, const void *data, size_t len, mode_t mode);

/* tu_write_file for a string, with the mode fopen would use. */
void tu_write_text(const char *path, const char *text);

/* The trust store of the test data (tests/data/trust/store): orch-1 signs for the
 * orchestrator, rel-2 for releases. The caller frees it with fota_trust_free. */
struct fota_trust *tu_trust(void);

/* payload in a general-serialization envelope signed by the test key named kid
 * (tests/data/trust/private/<kid>.pem). The caller frees it. */
char *tu_sign(const char *kid, const char *payload);

/* Asserts rc == want and, for a refusal, that the message starts with prefix and names why;
 * what labels the case in failure messages. */
void tu_assert_rejected(fota_err rc, fota_err want, const struct fota_error *err,
			const char *prefix, const char *why, const char *what);

/* Asserts that every "bad-*" file in dir has a row in a table of n rows of size stride, whose
 * file name sits at offset (offsetof), and that no row lacks its file. */
void tu_assert_table_covers_dir(const char *dir, const void *table, size_t n, size_t stride,
				size_t offset);

/* An in-memory sink for streaming stages (the decode chain's output callback): appends to p,
 * asserting the output stays within cap. */
struct tu_sink {
	uint8_t *p;
	size_t len, cap;
};
fota_err tu_sink_write(void *ctx, const uint8_t *data, size_t len, struct fota_error *err);

/* Runs a suite and turns the result into the process exit status. */
int tu_run(Suite *s);

#endif
