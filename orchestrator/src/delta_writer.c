/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta payload writer: control records, diff bytes and extra bytes each go to their own
 * zstd stream (the diff bytes are mostly zeros and compress far better alone than interleaved
 * with the others). A segment ends where its control or diff bytes reach their limit: all
 * three streams are flushed and the segment written, so the decoder holds at most one
 * segment's control and diff chunks.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "fota/delta_format.h"

#include "delta_writer.h"

enum { CTRL, DIFF, EXTRA, STREAMS };

/* From this level zstd parses optimally; letting it extend matches to 999 bytes (its default at
 * level 19 is 256) makes the diff stream's long runs of zeros 1.3 to 1.5 % smaller on the
 * measured pairs (docs/performance.md, section 9). */
#define OPTIMAL_LEVEL 16
#define OPTIMAL_TARGET_LENGTH 999

/* One zstd stream and the compressed bytes it has made in the current segment. */
struct stream {
	ZSTD_CCtx *c;
	uint8_t *buf;
	size_t len, cap;
	uint64_t raw; /* uncompressed bytes given in this segment */
};

struct orch_delta_writer {
	FILE *out;
	uint64_t new_size, new_pos;
	uint64_t seg_start;
	uint64_t diff_due, extra_due; /* bytes the last record still expects */
	struct stream s[STREAMS];
};

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static fota_err nomem(struct fota_error *err)
{
	return fota_error_set(err, FOTA_ERR_NOMEM, "delta: out of memory");
}

/* Compresses p[0..n) into the stream's segment buffer; with ZSTD_e_flush, all of it so far. */
static fota_err feed(struct stream *s, const void *p, size_t n, ZSTD_EndDirective mode,
		     struct fota_error *err)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t left;

	do {
		ZSTD_outBuffer o;

		if (s->cap - s->len < ZSTD_CStreamOutSize()) {
			size_t cap = s->cap * 2 + ZSTD_CStreamOutSize();
			uint8_t *b = realloc(s->buf, cap);

			if (b == NULL)
				return nomem(err);
			s->buf = b;
			s->cap = cap;
		}
		o = (ZSTD_outBuffer){s->buf + s->len, s->cap - s->len, 0};
		left = ZSTD_compressStream2(s->c, &o, &in, mode);
		if (ZSTD_isError(left))
			return fota_error_set(err, FOTA_ERR_INVAL, "delta: zstd: %s",
					      ZSTD_getErrorName(left));
		s->len += o.pos;
	} while (mode == ZSTD_e_continue ? in.pos < in.size : left != 0);
	s->raw += n;
	return FOTA_OK;
}

/* Ends the current segment: flushes the three streams and writes header and chunks. */
static fota_err cut(struct orch_delta_writer *w, struct fota_error *err)
{
	uint8_t hdr[FOTA_DELTA_SEGMENT_LEN];
	fota_err rc = FOTA_OK;

	for (int i = 0; i < STREAMS && rc == FOTA_OK; i++)
		rc = feed(&w->s[i], NULL, 0, ZSTD_e_flush, err);
	if (rc != FOTA_OK)
		return rc;
	put64(hdr, w->new_pos - w->seg_start);
	put32(hdr + 8, (uint32_t)w->s[CTRL].len);
	put32(hdr + 12, (uint32_t)w->s[DIFF].len);
	put64(hdr + 16, w->s[EXTRA].len);
	if (fwrite(hdr, 1, sizeof(hdr), w->out) != sizeof(hdr))
		return fota_error_set(err, FOTA_ERR_IO, "delta: write failed");
	for (int i = 0; i < STREAMS; i++) {
		if (w->s[i].len && fwrite(w->s[i].buf, 1, w->s[i].len, w->out) != w->s[i].len)
			return fota_error_set(err, FOTA_ERR_IO, "delta: write failed");
		w->s[i].len = 0;
		w->s[i].raw = 0;
	}
	w->seg_start = w->new_pos;
	return FOTA_OK;
}

/* The stream's level and window, its match tables sized to the window. */
static bool setup(ZSTD_CCtx *c, int level, int window)
{
	return !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, window)) &&
	       !ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, window + 1)) &&
	       (level < OPTIMAL_LEVEL || !ZSTD_isError(ZSTD_CCtx_setParameter(
					     c, ZSTD_c_targetLength, OPTIMAL_TARGET_LENGTH)));
}

fota_err orch_delta_writer_new(FILE *out, uint64_t new_size, int level,
			       struct orch_delta_writer **wp, struct fota_error *err)
{
	static const int limit[STREAMS] = {FOTA_DELTA_CTRL_WINDOW_LOG, FOTA_DELTA_DIFF_WINDOW_LOG,
					   FOTA_DELTA_EXTRA_WINDOW_LOG};
	struct orch_delta_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[FOTA_DELTA_HEADER_LEN];
	int image_log = 10; /* zstd's smallest window */

	/* No window beyond the image (a stream's size is not known in advance, so zstd cannot
	 * size its tables): small images take small tables. */
	while (image_log < 30 && ((uint64_t)1 << image_log) < new_size)
		image_log++;

	*wp = NULL;
	if (w == NULL)
		return nomem(err);
	w->out = out;
	w->new_size = new_size;
	for (int i = 0; i < STREAMS; i++) {
		int window = limit[i] < image_log ? limit[i] : image_log;

		w->s[i].c = ZSTD_createCCtx();
		if (w->s[i].c == NULL || !setup(w->s[i].c, level, window)) {
			orch_delta_writer_free(w);
			return fota_error_set(err, FOTA_ERR_INVAL, "delta: zstd setup failed");
		}
	}
	memcpy(hdr, FOTA_DELTA_MAGIC, 8);
	put64(hdr + 8, new_size);
	if (fwrite(hdr, 1, sizeof(hdr), out) != sizeof(hdr)) {
		orch_delta_writer_free(w);
		return fota_error_set(err, FOTA_ERR_IO, "delta: write failed");
	}
	*wp = w;
	return FOTA_OK;
}

fota_err orch_delta_writer_record(struct orch_delta_writer *w, uint64_t diff, uint64_t extra,
				  int64_t seek, struct fota_error *err)
{
	uint8_t rec[FOTA_DELTA_RECORD_LEN];
	fota_err rc = FOTA_OK;

	if (w->diff_due || w->extra_due)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "delta: record before the last one's bytes");
	if (diff > w->new_size - w->new_pos || extra > w->new_size - w->new_pos - diff)
		return fota_error_set(err, FOTA_ERR_INVAL, "delta: record past the image");
	/* A full segment ends before the record, so every record's first byte, if it has one,
	 * is in the segment of its control record. */
	if (w->new_pos > w->seg_start &&
	    (w->s[DIFF].raw >= FOTA_DELTA_DIFF_RAW_MAX ||
	     w->s[CTRL].raw + FOTA_DELTA_RECORD_LEN > FOTA_DELTA_CTRL_RAW_MAX))
		rc = cut(w, err);
	put64(rec, diff);
	put64(rec + 8, extra);
	put64(rec + 16, (uint64_t)seek);
	if (rc == FOTA_OK)
		rc = feed(&w->s[CTRL], rec, sizeof(rec), ZSTD_e_continue, err);
	w->diff_due = diff;
	w->extra_due = extra;
	return rc;
}

fota_err orch_delta_writer_diff(struct orch_delta_writer *w, const uint8_t *p, size_t n,
				struct fota_error *err)
{
	if (n > w->diff_due)
		return fota_error_set(err, FOTA_ERR_INVAL, "delta: more diff bytes than due");
	while (n > 0) {
		size_t room = FOTA_DELTA_DIFF_RAW_MAX - (size_t)w->s[DIFF].raw,
		       k = n < room ? n : room;
		fota_err rc =
		    room == 0 ? cut(w, err) : feed(&w->s[DIFF], p, k, ZSTD_e_continue, err);

		if (rc != FOTA_OK)
			return rc;
		if (room == 0)
			continue;
		p += k;
		n -= k;
		w->diff_due -= k;
		w->new_pos += k;
	}
	return FOTA_OK;
}

fota_err orch_delta_writer_extra(struct orch_delta_writer *w, const uint8_t *p, size_t n,
				 struct fota_error *err)
{
	fota_err rc;

	if (w->diff_due || n > w->extra_due)
		return fota_error_set(err, FOTA_ERR_INVAL, "delta: extra bytes out of turn");
	rc = feed(&w->s[EXTRA], p, n, ZSTD_e_continue, err);
	w->extra_due -= n;
	w->new_pos += n;
	return rc;
}

fota_err orch_delta_writer_finish(struct orch_delta_writer *w, struct fota_error *err)
{
	if (w->new_pos != w->new_size || w->diff_due || w->extra_due)
		return fota_error_set(err, FOTA_ERR_INVAL, "delta: finished at %llu of %llu bytes",
				      (unsigned long long)w->new_pos,
				      (unsigned long long)w->new_size);
	return w->new_pos > w->seg_start ? cut(w, err) : FOTA_OK;
}

void orch_delta_writer_free(struct orch_delta_writer *w)
{
	if (w == NULL)
		return;
	for (int i = 0; i < STREAMS; i++) {
		ZSTD_freeCCtx(w->s[i].c);
		free(w->s[i].buf);
	}
	free(w);
}
