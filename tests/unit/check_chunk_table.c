/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk hash table: counts and lengths, one-pass build from a file, checked intake from bytes. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/chunk_table.h"
#include "fota/limits.h"
#include "testutil.h"

static char tmpdir[256];

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_chunk_table");
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

/* Deterministic bytes, so a failure reproduces. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

struct len_case {
	uint64_t size;
	uint32_t chunk, count, index, len;
};

static const struct len_case len_cases[] = {
    {0, 1024, 0, 0, 0},	       {1, 1024, 1, 0, 1},
    {1024, 1024, 1, 0, 1024},  {1025, 1024, 2, 1, 1},
    {1025, 1024, 2, 2, 0},     {10000, 4096, 3, 2, 1808},
    {10000, 4096, 3, 1, 4096}, {16ull * 1024 * 1024 * 1024, 1024 * 1024, 16384, 16383, 1024 * 1024},
    {100, 0, 0, 0, 0},	       {UINT64_MAX, 1, UINT32_MAX, 0, 1},
};

START_TEST(test_count_and_len)
{
	const struct len_case *c = &len_cases[_i];

	ck_assert_uint_eq(fota_chunk_count_for(c->size, c->chunk), c->count);
	ck_assert_uint_eq(fota_chunk_len(c->size, c->chunk, c->index), c->len);
}
END_TEST

/* Image sizes around chunk boundaries: build_file must agree with hashing by hand. */
static const size_t build_sizes[] = {1, 1023, 1024, 1025, 3 * 1024, 5000};

START_TEST(test_build_file)
{
	size_t n = build_sizes[_i];
	uint8_t *img = malloc(n);
	uint8_t whole[32], want[32];
	struct fota_chunk_table t = {0};
	struct fota_error err = {0};
	uint64_t size = 0;
	char path[512];
	uint32_t count;

	fill(img, n, (uint32_t)n);
	snprintf(path, sizeof(path), "%s/image.bin", tmpdir);
	tu_write_file(path, img, n, 0600);
	ck_assert_int_eq(fota_chunk_table_build_file(path, 1024, &t, whole, &size, &err), FOTA_OK);
	count = fota_chunk_count_for(n, 1024);
	ck_assert_uint_eq(size, n);
	ck_assert_uint_eq(t.count, count);
	fota_sha256(img, n, want);
	ck_assert_mem_eq(whole, want, 32);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t len = fota_chunk_len(n, 1024, i);

		fota_sha256(img + (size_t)i * 1024, len, want);
		ck_assert_mem_eq(t.hashes[i], want, 32);
		ck_assert(fota_chunk_table_check(&t, i, img + (size_t)i * 1024, len));
	}
	fota_chunk_table_clear(&t);
	ck_assert_ptr_null(t.hashes);
	ck_assert_uint_eq(t.count, 0);
	free(img);
}
END_TEST

START_TEST(test_build_file_errors)
{
	struct fota_chunk_table t = {0};
	struct fota_error err = {0};
	uint8_t whole[32];
	uint64_t size = 0;
	char path[512];

	snprintf(path, sizeof(path), "%s/missing.bin", tmpdir);
	ck_assert_int_eq(fota_chunk_table_build_file(path, 1024, &t, whole, &size, &err),
			 FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing.bin"));

	snprintf(path, sizeof(path), "%s/empty.bin", tmpdir);
	tu_write_file(path, (const uint8_t *)"", 0, 0600);
	ck_assert_int_eq(fota_chunk_table_build_file(path, 1024, &t, whole, &size, &err),
			 FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "is empty"));

	ck_assert_int_eq(fota_chunk_table_build_file(path, 512, &t, whole, &size, &err),
			 FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "chunk size 512 outside"));
	ck_assert_int_eq(
	    fota_chunk_table_build_file(path, FOTA_MAX_CHUNK_SIZE + 1, &t, whole, &size, &err),
	    FOTA_ERR_INVAL);
	ck_assert_ptr_null(t.hashes);
}
END_TEST

START_TEST(test_build_file_too_many_chunks)
{
	/* A sparse file one byte over FOTA_MAX_CHUNK_COUNT chunks of the minimum size. */
	struct fota_chunk_table t = {0};
	struct fota_error err = {0};
	uint8_t whole[32];
	uint64_t size = 0;
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/huge.bin", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)FOTA_MAX_CHUNK_COUNT * FOTA_MIN_CHUNK_SIZE + 1), 0);
	close(fd);
	ck_assert_int_eq(
	    fota_chunk_table_build_file(path, FOTA_MIN_CHUNK_SIZE, &t, whole, &size, &err),
	    FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "exceeds 32768 chunks"));
	ck_assert_ptr_null(t.hashes);
}
END_TEST

START_TEST(test_from_bytes)
{
	uint8_t raw[5 * 32], digest[32], other[32];
	struct fota_chunk_table t = {0}, u = {0};
	struct fota_error err = {0};

	fill(raw, sizeof(raw), 99);
	fota_sha256(raw, sizeof(raw), digest);
	ck_assert_int_eq(fota_chunk_table_from_bytes(raw, sizeof(raw), 5, digest, &t, &err),
			 FOTA_OK);
	ck_assert_uint_eq(t.count, 5);
	ck_assert_mem_eq(t.hashes, raw, sizeof(raw));
	ck_assert_ptr_ne(t.hashes, raw); /* copied, not borrowed */
	fota_chunk_table_digest(&t, other);
	ck_assert_mem_eq(other, digest, 32);

	/* Wrong count for the bytes. */
	ck_assert_int_eq(fota_chunk_table_from_bytes(raw, sizeof(raw), 4, digest, &u, &err),
			 FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "160 bytes, expected 4 * 32 = 128"));
	ck_assert_int_eq(fota_chunk_table_from_bytes(raw, sizeof(raw) - 1, 5, digest, &u, &err),
			 FOTA_ERR_FIELD);
	ck_assert_int_eq(fota_chunk_table_from_bytes(raw, 0, 0, digest, &u, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "count 0 outside"));
	ck_assert_int_eq(fota_chunk_table_from_bytes(raw, sizeof(raw), FOTA_MAX_CHUNK_COUNT + 1,
						     digest, &u, &err),
			 FOTA_ERR_FIELD);

	/* One flipped bit in the table: the signed digest no longer matches. */
	raw[77] ^= 0x10;
	ck_assert_int_eq(fota_chunk_table_from_bytes(raw, sizeof(raw), 5, digest, &u, &err),
			 FOTA_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err.msg, "does not match the signed table digest"));
	ck_assert_ptr_null(u.hashes);
	fota_chunk_table_clear(&t);
}
END_TEST

START_TEST(test_check)
{
	uint8_t chunk[2][1500];
	uint8_t raw[64], digest[32];
	struct fota_chunk_table t = {0};

	fill(chunk[0], sizeof(chunk[0]), 1);
	fill(chunk[1], sizeof(chunk[1]), 2);
	fota_sha256(chunk[0], sizeof(chunk[0]), raw);
	fota_sha256(chunk[1], 700, raw + 32);
	fota_sha256(raw, sizeof(raw), digest);
	ck_assert_int_eq(fota_chunk_table_from_bytes(raw, sizeof(raw), 2, digest, &t, NULL),
			 FOTA_OK);
	ck_assert(fota_chunk_table_check(&t, 0, chunk[0], sizeof(chunk[0])));
	ck_assert(fota_chunk_table_check(&t, 1, chunk[1], 700));
	ck_assert(!fota_chunk_table_check(&t, 1, chunk[1], 701));
	ck_assert(!fota_chunk_table_check(&t, 0, chunk[1], sizeof(chunk[1])));
	ck_assert(!fota_chunk_table_check(&t, 2, chunk[0], sizeof(chunk[0])));
	chunk[0][1000] ^= 1;
	ck_assert(!fota_chunk_table_check(&t, 0, chunk[0], sizeof(chunk[0])));
	fota_chunk_table_clear(&t);
	ck_assert(!fota_chunk_table_check(&t, 0, chunk[0], sizeof(chunk[0])));
	fota_chunk_table_clear(NULL);
}
END_TEST

static Suite *chunk_table_suite(void)
{
	Suite *s = suite_create("chunk_table");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_count_and_len, 0,
			    (int)(sizeof(len_cases) / sizeof(len_cases[0])));
	tcase_add_loop_test(tc, test_build_file, 0,
			    (int)(sizeof(build_sizes) / sizeof(build_sizes[0])));
	tcase_add_test(tc, test_build_file_errors);
	tcase_add_test(tc, test_build_file_too_many_chunks);
	tcase_add_test(tc, test_from_bytes);
	tcase_add_test(tc, test_check);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(chunk_table_suite());
}
