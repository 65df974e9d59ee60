/* SPDX-License-Identifier: Apache-2.0 */
/* The delta payload format (fota/delta_format.h): orch_delta_make and its writer
 * (orchestrator) and the delta decode stage (agent) in the chain a delta manifest gets. */
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
#include "delta_writer.h"
#include "fota/delta_format.h"
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
	ck_assert_msg(orch_delta_make(old, OLD_LEN, new_, new_len, 19, f, &err) == FOTA_OK, "%s",
		      err.msg);
	fclose(f);
	return (uint8_t *)buf;
}

/* Applies a delta payload through the chain a delta manifest gets (decode_chain_for) and
 * returns the chain's answer. */
static fota_err apply(const uint8_t *delta, size_t len, struct tu_sink *out, struct fota_error *err)
{
	struct decode_base base = {base_fd, OLD_LEN};
	struct fota_manifest m = {0};
	struct decode_chain c;
	fota_err rc;

	m.has_delta_base = true;
	m.compression = FOTA_COMPRESSION_ZSTD;
	m.decoded_size = new_len;
	fota_sha256(new_, new_len, m.decoded_sha256);
	ck_assert_int_eq(decode_chain_for(&m, &base, &c, err), FOTA_OK);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.stages[0]->name, "delta");
	out->len = 0;
	rc = decode_chain_run_mem(&c, delta, len, tu_sink_write, out, err);
	decode_chain_clear(&c);
	return rc;
}

START_TEST(test_round_trip)
{
	struct tu_sink out = {malloc(2 * OLD_LEN), 0, 2 * OLD_LEN};
	struct fota_error err = {0};
	uint8_t *delta;
	size_t len;

	if (_i == 0)
		next_version();
	else {
		new_len = OLD_LEN + 777; /* nothing in common */
		fill(new_, new_len, 3);
	}
	delta = make(&len);
	ck_assert_msg(apply(delta, len, &out, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_uint_eq(out.len, new_len);
	ck_assert_mem_eq(out.p, new_, new_len);
	if (_i == 0) /* mostly zero diff bytes: a fraction of the image */
		ck_assert_uint_lt(len, new_len / 20);
	free(delta);
	free(out.p);
}
END_TEST

/* A delta without compression is no payload this agent takes. */
START_TEST(test_needs_zstd)
{
	struct decode_base base = {base_fd, OLD_LEN};
	struct fota_manifest m = {0};
	struct decode_chain c;
	struct fota_error err = {0};

	m.has_delta_base = true;
	m.compression = FOTA_COMPRESSION_NONE;
	ck_assert_int_eq(decode_chain_for(&m, &base, &c, &err), FOTA_ERR_INCOMPATIBLE);
	ck_assert_msg(strstr(err.msg, "streams are zstd"), "%s", err.msg);
}
END_TEST

/*
 * Many segments, cut both where the diff bytes and where the control records reach their
 * limits, with records that have no bytes (only a seek) among them and at segments' ends:
 * given to the writer directly, applied in one piece and fed one byte at a time.
 */
START_TEST(test_segments)
{
	enum { RECORDS = 10000, LONG = 3000, DIFF = 1000, EXTRA = 10 };
	struct fota_error err = {0};
	struct orch_delta_writer *w = NULL;
	struct tu_sink out = {NULL, 0, 0};
	uint8_t d[DIFF], e[EXTRA];
	uint64_t cursor = 0;
	size_t len = 0, n = 0, segments = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	new_len = 0;
	for (int i = 0; i < RECORDS; i++)
		new_len += i % 7 == 3 ? 0 : (i < LONG ? DIFF : DIFF / 10) + EXTRA;
	free(new_);
	new_ = malloc(new_len);
	out.p = malloc(new_len);
	out.cap = new_len;
	ck_assert_int_eq(orch_delta_writer_new(f, new_len, 1, &w, &err), FOTA_OK);
	for (int i = 0; i < RECORDS; i++) {
		/* long diffs first (cut by the diff limit), then short ones (by the control's) */
		size_t dn = i % 7 == 3 ? 0 : i < LONG ? DIFF : DIFF / 10;
		uint64_t next = (uint64_t)i * 1013u % (OLD_LEN - DIFF);

		ck_assert_int_eq(
		    orch_delta_writer_record(w, dn, dn ? EXTRA : 0,
					     (int64_t)next - (int64_t)cursor - (int64_t)dn, &err),
		    FOTA_OK);
		if (dn) {
			memset(d, 0, sizeof(d));
			d[i % dn] = (uint8_t)i;
			fill(e, EXTRA, (uint32_t)i);
			for (size_t k = 0; k < dn; k++)
				new_[n + k] = (uint8_t)(old[cursor + k] + d[k]);
			memcpy(new_ + n + dn, e, EXTRA);
			n += dn + EXTRA;
			ck_assert_int_eq(orch_delta_writer_diff(w, d, dn, &err), FOTA_OK);
			ck_assert_int_eq(orch_delta_writer_extra(w, e, EXTRA, &err), FOTA_OK);
		}
		cursor = next;
	}
	ck_assert_int_eq(orch_delta_writer_finish(w, &err), FOTA_OK);
	orch_delta_writer_free(w);
	fclose(f);
	/* walk the segment headers: 2.6 MB of diff bytes in the long records make one cut, the
	 * 168 KB of control records of the short ones two more */
	for (size_t at = FOTA_DELTA_HEADER_LEN; at < len; segments++) {
		const uint8_t *h = (const uint8_t *)buf + at;
		uint64_t x = 0;

		for (int k = 7; k >= 0; k--)
			x = x << 8 | h[16 + k];
		at += FOTA_DELTA_SEGMENT_LEN + (h[8] | h[9] << 8 | h[10] << 16) +
		      (h[12] | h[13] << 8 | h[14] << 16) + x;
	}
	ck_assert_uint_ge(segments, 4);
	ck_assert_msg(apply((uint8_t *)buf, len, &out, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_mem_eq(out.p, new_, new_len);
	{
		struct decode_base base = {base_fd, OLD_LEN};
		struct decode_stage *s;
		uint8_t *o = malloc(new_len + 1);
		size_t used = 0, made = 0;

		ck_assert_int_eq(decode_stage_delta_new(base.fd, base.size, &s, &err), FOTA_OK);
		for (size_t i = 0; i <= len; i++) {
			size_t u = 0, p = 0;

			do {
				ck_assert_int_eq(s->step(s, (uint8_t *)buf + i, i < len ? 1 : 0, &u,
							 o + made, 4093, &p, &err),
						 FOTA_OK);
				made += p;
				used += u;
			} while (p > 0 && u == 0);
		}
		ck_assert_uint_eq(used, len);
		ck_assert_uint_eq(made, new_len);
		ck_assert_int_eq(s->end(s, &err), FOTA_OK);
		ck_assert_mem_eq(o, new_, new_len);
		s->free(s);
		free(o);
	}
	free(buf);
	free(out.p);
}
END_TEST

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A one-segment payload from raw streams, each compressed as one zstd frame. */
static size_t one_segment(uint8_t *p, uint64_t size, uint64_t seg, const void *ctrl, size_t clen,
			  const void *diff, size_t dlen, const void *extra, size_t elen)
{
	const void *raw[3] = {ctrl, diff, extra};
	size_t rlen[3] = {clen, dlen, elen}, at = FOTA_DELTA_HEADER_LEN + FOTA_DELTA_SEGMENT_LEN;
	uint64_t z[3];

	memcpy(p, FOTA_DELTA_MAGIC, 8);
	put64(p + 8, size);
	for (int i = 0; i < 3; i++) {
		z[i] = ZSTD_compress(p + at, ZSTD_compressBound(rlen[i]), raw[i], rlen[i], 3);
		ck_assert(!ZSTD_isError(z[i]));
		at += z[i];
	}
	put64(p + 16, seg);
	put64(p + 24, z[0] | z[1] << 32);
	put64(p + 32, z[2]);
	return at;
}

/* Hostile payloads: each is refused with the reason, before a byte past the image. */
START_TEST(test_refusals)
{
	static const char *const says[] = {"magic",
					   "delta format 1",
					   "delta format 1",
					   "passes the image's end",
					   "leaves the base",
					   "base bytes",
					   "diff stream ends",
					   "limits are",
					   "segment of 0 bytes",
					   "extra stream holds more",
					   "payload ends",
					   "window",
					   "starts after its segment's end"};
	struct tu_sink out = {malloc(2 * OLD_LEN), 0, 2 * OLD_LEN};
	struct fota_error err = {0};
	size_t cap = 6u << 20;
	uint8_t *s = calloc(1, cap), rec[48] = {0}, *big = NULL, x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	size_t len;
	fota_err rc, want = FOTA_ERR_PARSE;

	new_len = 8;
	memcpy(new_, x, 8);
	put64(rec + 8, 8); /* one record: 8 extra bytes */
	len = one_segment(s, 8, 8, rec, 24, NULL, 0, x, 8);
	switch (_i) {
	case 0:
		s[0] = 'X';
		break;
	case 1:
		memcpy(s, FOTA_DELTA_MAGIC_V1, 8);
		break;
	case 2:
		len = ZSTD_compress(s, cap, "FOTADLT1", 8, 3); /* a format 1 payload */
		break;
	case 3:
		put64(rec, 9); /* diff longer than the image */
		len = one_segment(s, 8, 8, rec, 24, NULL, 0, x, 8);
		break;
	case 4:
		put64(rec + 16, (uint64_t)-1); /* seek before the base's start */
		len = one_segment(s, 8, 8, rec, 48, NULL, 0, x, 8);
		break;
	case 5: /* a record without bytes seeks to the base's end, the next reads past it */
		memset(rec, 0, sizeof(rec));
		put64(rec + 16, OLD_LEN);
		put64(rec + 24, 8);
		len = one_segment(s, 8, 8, rec, 48, NULL, 0, NULL, 0);
		break;
	case 6:
		memset(rec, 0, sizeof(rec));
		put64(rec, 8); /* 8 diff bytes announced, none sent */
		len = one_segment(s, 8, 8, rec, 24, NULL, 0, NULL, 0);
		break;
	case 7:
		put64(s + 24, FOTA_DELTA_CTRL_CHUNK_MAX + 1u);
		want = FOTA_ERR_TOO_BIG;
		break;
	case 8:
		put64(s + 16, 0);
		break;
	case 9:
		len = one_segment(s, 8, 8, rec, 24, NULL, 0, "123456789", 9);
		break;
	case 10:
		len -= 3;
		break;
	case 11: /* an extra stream whose window is over the format's limit */
		new_len = 5u << 20;
		put64(rec + 8, new_len);
		big = calloc(1, new_len);
		free(new_);
		new_ = calloc(1, new_len);
		{
			ZSTD_CCtx *z = ZSTD_createCCtx();
			size_t h = FOTA_DELTA_HEADER_LEN + FOTA_DELTA_SEGMENT_LEN, c, e;

			len = one_segment(s, new_len, new_len, rec, 24, NULL, 0, NULL, 0);
			c = (size_t)s[24] + s[28];
			ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, 23);
			ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, 0);
			e = ZSTD_compress2(z, s + h + c, cap - h - c, big, new_len);
			ck_assert(!ZSTD_isError(e));
			ZSTD_freeCCtx(z);
			put64(s + 32, e);
			len = h + c + e;
		}
		want = FOTA_ERR_TOO_BIG;
		break;
	default: /* a record with bytes after its segment's last byte */
		put64(rec + 32, 1);
		len = one_segment(s, 9, 8, rec, 48, NULL, 0, x, 8);
		new_len = 9;
		break;
	}
	rc = apply(s, len, &out, &err);
	ck_assert_msg(rc == want, "%d %s", (int)rc, err.msg);
	ck_assert_msg(strstr(err.msg, says[_i]), "%s", err.msg);
	ck_assert_uint_le(out.len, new_len);
	free(big);
	free(s);
	free(out.p);
}
END_TEST

static Suite *delta_suite(void)
{
	Suite *s = suite_create("delta");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60); /* under a second of CPU each; the machine may be shared */
	tcase_add_loop_test(tc, test_round_trip, 0, 2);
	tcase_add_test(tc, test_needs_zstd);
	tcase_add_test(tc, test_segments);
	tcase_add_loop_test(tc, test_refusals, 0, 13);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(delta_suite());
}
