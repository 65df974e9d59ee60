/* SPDX-License-Identifier: Apache-2.0 */
/* The delta format: orch_delta_make (orchestrator) and the delta decode stage (agent), alone
 * and behind the zstd stage in one decode chain. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "decode.h"
#include "decode_stages.h"
#include "delta_make.h"
#include "fota/digest.h"
#include "testutil.h"

#define OLD_LEN (200u * 1024u)

static char tmpdir[256], base_path[512];
static uint8_t *old, *new_;
static size_t new_len;
static int base_fd = -1;

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_delta");
	old = malloc(OLD_LEN);
	new_ = malloc(2 * OLD_LEN);
	ck_assert(old && new_);
	fill(old, OLD_LEN, 1);
	tu_path(base_path, sizeof(base_path), tmpdir, "slot-a");
	tu_write_file(base_path, old, OLD_LEN, 0600);
	base_fd = open(base_path, O_RDONLY);
	ck_assert_int_ge(base_fd, 0);
}

static void teardown(void)
{
	close(base_fd);
	free(old);
	free(new_);
	tu_tmpdir_remove(tmpdir);
}

/* The next version: a few changed bytes, an insertion, a deletion, a new tail. */
static void next_version(void)
{
	size_t n = 0;

	memcpy(new_, old, 50000);
	n = 50000;
	for (size_t i = 0; i < 20; i++)
		new_[1000 + i * 997] ^= 0x5a;
	fill(new_ + n, 3000, 7); /* inserted */
	n += 3000;
	memcpy(new_ + n, old + 60000, OLD_LEN - 60000); /* 10000 bytes deleted */
	n += OLD_LEN - 60000;
	fill(new_ + n, 5000, 9);
	n += 5000;
	new_len = n;
}

static uint8_t *make(size_t *len)
{
	struct fota_error err = {0};
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(orch_delta_make(old, OLD_LEN, new_, new_len, f, &err) == FOTA_OK, "%s",
		      err.msg);
	fclose(f);
	return (uint8_t *)buf;
}

/* Applies a delta (zstd-compressed first with zstd) through the chain a delta manifest gets
 * (decode_chain_for) and returns the chain's answer. */
static fota_err apply(const uint8_t *delta, size_t len, bool zstd, struct tu_sink *out,
		      struct fota_error *err)
{
	struct decode_base base = {base_fd, OLD_LEN};
	struct fota_manifest m = {0};
	struct decode_chain c;
	uint8_t *z = NULL;
	fota_err rc;

	m.has_delta_base = true;
	m.decoded_size = new_len;
	fota_sha256(new_, new_len, m.decoded_sha256);
	if (zstd) {
		size_t cap = ZSTD_compressBound(len);

		z = malloc(cap);
		len = ZSTD_compress(z, cap, delta, len, 19);
		ck_assert(!ZSTD_isError(len));
		delta = z;
		m.compression = FOTA_COMPRESSION_ZSTD;
	}
	ck_assert_int_eq(decode_chain_for(&m, &base, &c, err), FOTA_OK);
	ck_assert_int_eq(c.n, zstd ? 2 : 1);
	ck_assert_str_eq(c.stages[c.n - 1]->name, "delta");
	out->len = 0;
	rc = decode_chain_run_mem(&c, delta, len, tu_sink_write, out, err);
	decode_chain_clear(&c);
	free(z);
	return rc;
}

START_TEST(test_round_trip)
{
	struct tu_sink out = {malloc(2 * OLD_LEN), 0, 2 * OLD_LEN};
	struct fota_error err = {0};
	uint8_t *delta;
	size_t len;

	if (_i < 2)
		next_version();
	else {
		new_len = OLD_LEN + 777; /* nothing in common */
		fill(new_, new_len, 3);
	}
	delta = make(&len);
	ck_assert_msg(apply(delta, len, _i % 2 == 1, &out, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_uint_eq(out.len, new_len);
	ck_assert_mem_eq(out.p, new_, new_len);
	if (_i < 2) { /* mostly zero diff bytes: compressed, a fraction of the image */
		size_t cap = ZSTD_compressBound(len), zlen;
		uint8_t *z = malloc(cap);

		zlen = ZSTD_compress(z, cap, delta, len, 19);
		ck_assert(!ZSTD_isError(zlen));
		ck_assert_uint_lt(zlen, new_len / 10);
		free(z);
	}
	free(delta);
	free(out.p);
}
END_TEST

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Hostile streams: each is refused with the reason, before a byte past the image. */
START_TEST(test_refusals)
{
	static const char *const says[] = {"magic", "passes the image's end", "base bytes",
					   "leaves the base", "stream ends"};
	struct tu_sink out = {malloc(2 * OLD_LEN), 0, 2 * OLD_LEN};
	struct fota_error err = {0};
	uint8_t s[16 + 24 + 8];
	size_t len = 16 + 24;
	fota_err rc;

	new_len = 8;
	memset(new_, 0, 8);
	memcpy(s, "FOTADLT1", 8);
	put64(s + 8, new_len);
	memset(s + 16, 0, 24);
	switch (_i) {
	case 0:
		s[0] = 'X';
		break;
	case 1:
		put64(s + 16, 9); /* diff longer than the image */
		break;
	case 2:
		new_len = 8;
		put64(s + 16, 0);
		put64(s + 24, 0);
		put64(s + 32, (uint64_t)OLD_LEN); /* seek to the end, then read past it */
		memcpy(s + 40, s + 16, 0);
		{
			uint8_t t[16 + 48 + 8];

			memcpy(t, s, 40);
			put64(t + 40, 8);
			put64(t + 48, 0);
			put64(t + 56, 0);
			memset(t + 64, 0, 8);
			rc = apply(t, sizeof(t), false, &out, &err);
			ck_assert_int_eq(rc, FOTA_ERR_PARSE);
			ck_assert_msg(strstr(err.msg, says[_i]), "%s", err.msg);
			free(out.p);
			return;
		}
	case 3:
		put64(s + 32, (uint64_t)-1); /* seek before the base's start */
		break;
	default:
		put64(s + 16, 8); /* 8 diff bytes announced, none sent */
		break;
	}
	rc = apply(s, len, false, &out, &err);
	ck_assert_msg(rc == FOTA_ERR_PARSE, "%d %s", (int)rc, err.msg);
	ck_assert_msg(strstr(err.msg, says[_i]), "%s", err.msg);
	ck_assert_uint_le(out.len, new_len);
	free(out.p);
}
END_TEST

static Suite *delta_suite(void)
{
	Suite *s = suite_create("delta");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_round_trip, 0, 4);
	tcase_add_loop_test(tc, test_refusals, 0, 5);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(delta_suite());
}
