/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta decode stage: applies a delta payload (fota/delta_format.h, docs/internals.md)
 * against a base image read with pread, producing the new image sequentially. Each segment's
 * control and diff chunks are kept (bounded by the format's limits) and decoded as records ask
 * for bytes; its extra chunk is decoded straight from the stage's input. A diff byte is added
 * (mod 256) to the base byte at the base cursor; extra bytes are copied; after a record the
 * base cursor moves by diff length + seek. Every length and cursor is checked against the
 * sizes before it is used. Memory: three zstd contexts whose windows the format bounds, one
 * segment's control and diff chunks, one base block.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "decode_stages.h"
#include "fota/delta_format.h"

#define BASE_BLOCK (64u * 1024u)
#define ZSTD_MAGIC "\x28\xb5\x2f\xfd"

enum phase { HEADER, SEGMENT, CTRL_CHUNK, DIFF_CHUNK, DATA, TAIL, DONE };

/* A kept chunk and how far its zstd stream has read it. */
struct chunk {
	ZSTD_DCtx *z;
	uint8_t *p;
	size_t len, cap, pos;
};

struct delta_stage {
	struct decode_stage base;
	int fd;
	uint64_t base_size;
	uint64_t new_size, new_pos;
	uint64_t base_pos;
	uint64_t diff_left, extra_left;
	int64_t seek;
	enum phase phase;
	bool in_record;
	uint8_t hdr[FOTA_DELTA_SEGMENT_LEN]; /* header, segment header or control record */
	size_t hdr_have;
	uint64_t seg_end;	   /* the new image's offset where this segment ends */
	uint64_t extra_chunk_left; /* bytes of this segment's extra chunk still in the input */
	struct chunk ctrl, diff;
	ZSTD_DCtx *extra;
	uint8_t block[BASE_BLOCK];
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static fota_err zstd_fail(const char *stream, size_t r, struct fota_error *err)
{
	if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "%s stream needs a zstd window larger than the format's "
				      "limit: refused",
				      stream);
	return fota_error_set(err, FOTA_ERR_PARSE, "%s stream: %s", stream, ZSTD_getErrorName(r));
}

/* Gathers need bytes of a header across calls into d->hdr; true once complete. */
static bool gather(struct delta_stage *d, size_t need, const uint8_t *in, size_t in_len,
		   size_t *used)
{
	size_t n = need - d->hdr_have < in_len ? need - d->hdr_have : in_len;

	if (n > 0)
		memcpy(d->hdr + d->hdr_have, in, n);
	d->hdr_have += n;
	*used += n;
	return d->hdr_have == need;
}

/* Copies input into a kept chunk until it holds its len bytes; true once complete. */
static bool keep(struct chunk *c, const uint8_t *in, size_t in_len, size_t *used)
{
	size_t n = c->len - c->pos < in_len ? c->len - c->pos : in_len;

	if (n > 0) /* an empty chunk has no buffer: memcpy must not see its NULL */
		memcpy(c->p + c->pos, in, n);
	c->pos += n;
	*used += n;
	if (c->pos < c->len)
		return false;
	c->pos = 0; /* now the decoder's read position */
	return true;
}

/* Decodes up to cap bytes of a kept chunk's stream into out. */
static fota_err unpack(struct chunk *c, const char *name, uint8_t *out, size_t cap, size_t *got,
		       struct fota_error *err)
{
	ZSTD_inBuffer in = {c->p, c->len, c->pos};
	ZSTD_outBuffer o = {out, cap, 0};
	size_t r = ZSTD_decompressStream(c->z, &o, &in);

	if (ZSTD_isError(r))
		return zstd_fail(name, r, err);
	if (o.pos == 0 && in.pos == c->pos && c->pos < c->len)
		return fota_error_set(err, FOTA_ERR_PARSE, "%s stream makes no progress", name);
	c->pos = in.pos;
	*got = o.pos;
	return FOTA_OK;
}

static fota_err take_header(struct delta_stage *d, struct fota_error *err)
{
	if (memcmp(d->hdr, FOTA_DELTA_MAGIC_V1, 8) == 0 || memcmp(d->hdr, ZSTD_MAGIC, 4) == 0)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "delta format 1 (" FOTA_DELTA_MAGIC_V1
				      ", one compressed stream) is no longer applied: this agent "
				      "takes " FOTA_DELTA_MAGIC " deltas; make the delta again");
	if (memcmp(d->hdr, FOTA_DELTA_MAGIC, 8) != 0)
		return fota_error_set(err, FOTA_ERR_PARSE, "not a delta payload (magic)");
	d->new_size = get64(d->hdr + 8);
	d->hdr_have = 0;
	d->phase = d->new_size == 0 ? DONE : SEGMENT;
	return FOTA_OK;
}

static fota_err size_chunk(struct chunk *c, size_t len, struct fota_error *err)
{
	if (len > c->cap) {
		uint8_t *p = realloc(c->p, len);

		if (p == NULL)
			return fota_error_set(err, FOTA_ERR_NOMEM, "delta stage: out of memory");
		c->p = p;
		c->cap = len;
	}
	c->len = len;
	c->pos = 0;
	return FOTA_OK;
}

static fota_err take_segment(struct delta_stage *d, struct fota_error *err)
{
	uint64_t out = get64(d->hdr);
	uint32_t clen = get32(d->hdr + 8), dlen = get32(d->hdr + 12);
	fota_err rc;

	d->hdr_have = 0;
	if (out == 0 || out > d->new_size - d->new_pos)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "segment of %llu bytes at %llu of the image's %llu",
				      (unsigned long long)out, (unsigned long long)d->new_pos,
				      (unsigned long long)d->new_size);
	if (clen > FOTA_DELTA_CTRL_CHUNK_MAX || dlen > FOTA_DELTA_DIFF_CHUNK_MAX)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "segment chunks of %u and %u bytes: the limits are %u and %u",
				      clen, dlen, FOTA_DELTA_CTRL_CHUNK_MAX,
				      FOTA_DELTA_DIFF_CHUNK_MAX);
	d->seg_end = d->new_pos + out;
	d->extra_chunk_left = get64(d->hdr + 16);
	rc = size_chunk(&d->ctrl, clen, err);
	if (rc == FOTA_OK)
		rc = size_chunk(&d->diff, dlen, err);
	d->phase = CTRL_CHUNK;
	return rc;
}

static fota_err take_control(struct delta_stage *d, struct fota_error *err)
{
	uint64_t left = d->new_size - d->new_pos;

	d->diff_left = get64(d->hdr);
	d->extra_left = get64(d->hdr + 8);
	d->seek = (int64_t)get64(d->hdr + 16);
	d->hdr_have = 0;
	if (d->diff_left > left || d->extra_left > left - d->diff_left)
		return fota_error_set(
		    err, FOTA_ERR_PARSE, "record of %llu + %llu bytes passes the image's end",
		    (unsigned long long)d->diff_left, (unsigned long long)d->extra_left);
	if (d->diff_left > d->base_size - d->base_pos)
		return fota_error_set(
		    err, FOTA_ERR_PARSE, "record reads %llu base bytes at %llu of %llu",
		    (unsigned long long)d->diff_left, (unsigned long long)d->base_pos,
		    (unsigned long long)d->base_size);
	d->in_record = true;
	return FOTA_OK;
}

/* Ends a record: moves the base cursor by the seek, which must stay within the base. */
static fota_err end_record(struct delta_stage *d, struct fota_error *err)
{
	int64_t to;

	if (__builtin_add_overflow((int64_t)d->base_pos, d->seek, &to) || to < 0 ||
	    (uint64_t)to > d->base_size)
		return fota_error_set(err, FOTA_ERR_PARSE, "seek %lld from %llu leaves the base",
				      (long long)d->seek, (unsigned long long)d->base_pos);
	d->base_pos = (uint64_t)to;
	d->in_record = false;
	return FOTA_OK;
}

/* Decodes the next control record's bytes from the control chunk: *whole once it is
 * complete, *dry when the chunk has nothing more to give. */
static fota_err next_control(struct delta_stage *d, bool *whole, bool *dry, struct fota_error *err)
{
	size_t got = 0;
	fota_err rc = unpack(&d->ctrl, "control", d->hdr + d->hdr_have,
			     FOTA_DELTA_RECORD_LEN - d->hdr_have, &got, err);

	d->hdr_have += got;
	*whole = d->hdr_have == FOTA_DELTA_RECORD_LEN;
	*dry = got == 0 && d->ctrl.pos == d->ctrl.len;
	return rc;
}

static fota_err read_base(struct delta_stage *d, size_t n, struct fota_error *err)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = pread(d->fd, d->block + got, n - got, (off_t)(d->base_pos + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return fota_error_set(err, FOTA_ERR_IO, "base read at %llu: %s",
					      (unsigned long long)(d->base_pos + got),
					      r < 0 ? strerror(errno) : "unexpected end");
		got += (size_t)r;
	}
	return FOTA_OK;
}

static size_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return (size_t)(m < c ? m : c);
}

/* Decodes extra bytes (or, with out NULL, checks there are none) from the stage's input,
 * which holds the rest of the segment's extra chunk. */
static fota_err unpack_extra(struct delta_stage *d, const uint8_t *in, size_t in_len, size_t *used,
			     uint8_t *out, size_t cap, size_t *got, struct fota_error *err)
{
	uint8_t scratch[1];
	size_t avail = (size_t)(in_len < d->extra_chunk_left ? in_len : d->extra_chunk_left);
	ZSTD_inBuffer ib = {in, avail, 0};
	ZSTD_outBuffer ob = {out ? out : scratch, out ? cap : sizeof(scratch), 0};
	size_t r = ZSTD_decompressStream(d->extra, &ob, &ib);

	if (ZSTD_isError(r))
		return zstd_fail("extra", r, err);
	*used += ib.pos;
	d->extra_chunk_left -= ib.pos;
	*got = ob.pos;
	if (out == NULL && ob.pos > 0)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "extra stream holds more than its segment uses");
	return FOTA_OK;
}

/* After a segment's last new byte: records without bytes, then every chunk must be used up. */
static fota_err segment_tail(struct delta_stage *d, const uint8_t *in, size_t in_len, size_t *used,
			     bool *wait, struct fota_error *err)
{
	uint8_t scratch[1];
	size_t got = 0;
	fota_err rc = FOTA_OK;

	*wait = false;
	if (d->in_record && d->diff_left == 0 && d->extra_left == 0)
		rc = end_record(d, err);
	while (rc == FOTA_OK && !d->in_record) {
		bool whole, dry;

		rc = next_control(d, &whole, &dry, err);
		if (rc != FOTA_OK || (dry && d->hdr_have == 0))
			break;
		if (dry)
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "control stream ends inside a record");
		if (!whole)
			continue;
		rc = take_control(d, err);
		if (rc == FOTA_OK && (d->diff_left || d->extra_left))
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "record at %llu starts after its segment's end",
					      (unsigned long long)d->new_pos);
		if (rc == FOTA_OK)
			rc = end_record(d, err);
	}
	if (rc == FOTA_OK)
		rc = unpack(&d->ctrl, "control", scratch, sizeof(scratch), &got, err);
	if (rc == FOTA_OK && (got > 0 || d->ctrl.pos != d->ctrl.len))
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "control stream holds more than its segment uses");
	while (rc == FOTA_OK) {
		rc = unpack(&d->diff, "diff", scratch, sizeof(scratch), &got, err);
		if (rc == FOTA_OK && got > 0)
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "diff stream holds more than its segment uses");
		if (d->diff.pos == d->diff.len)
			break;
	}
	while (rc == FOTA_OK) {
		size_t before = *used;

		if (d->extra_chunk_left > 0 && in_len == *used) {
			*wait = true;
			return FOTA_OK;
		}
		rc = unpack_extra(d, in + *used, in_len - *used, used, NULL, 0, &got, err);
		if (rc != FOTA_OK || d->extra_chunk_left == 0)
			break;
		if (*used == before)
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "extra stream makes no progress");
	}
	if (rc == FOTA_OK)
		d->phase = d->new_pos == d->new_size ? DONE : SEGMENT;
	return rc;
}

/* One step of new bytes within the segment; *stop when it must wait for input or room. */
static fota_err data_step(struct delta_stage *d, const uint8_t *in, size_t in_len, size_t *used,
			  uint8_t *out, size_t room, size_t *made, bool *stop,
			  struct fota_error *err)
{
	size_t n, got = 0;
	fota_err rc = FOTA_OK;

	*stop = false;
	if (d->new_pos == d->seg_end) {
		d->phase = TAIL;
		return FOTA_OK;
	}
	if (!d->in_record) {
		bool whole, dry;

		rc = next_control(d, &whole, &dry, err);
		if (rc == FOTA_OK && dry)
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "control stream ends at %llu, inside its segment",
					      (unsigned long long)d->new_pos);
		return rc == FOTA_OK && whole ? take_control(d, err) : rc;
	}
	if (d->diff_left > 0) {
		n = min3(room < BASE_BLOCK ? room : BASE_BLOCK, d->diff_left,
			 d->seg_end - d->new_pos);
		if (n == 0) {
			*stop = true;
			return FOTA_OK;
		}
		rc = unpack(&d->diff, "diff", out, n, &got, err);
		if (rc == FOTA_OK && got == 0 && d->diff.pos == d->diff.len)
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "diff stream ends at %llu, inside its segment",
					      (unsigned long long)d->new_pos);
		if (rc == FOTA_OK && got > 0)
			rc = read_base(d, got, err);
		for (size_t i = 0; rc == FOTA_OK && i < got; i++)
			out[i] = (uint8_t)(out[i] + d->block[i]);
		d->diff_left -= got;
		d->base_pos += got;
	} else if (d->extra_left > 0) {
		size_t before = *used;

		n = min3(room, d->extra_left, d->seg_end - d->new_pos);
		if (n == 0) {
			*stop = true;
			return FOTA_OK;
		}
		rc = unpack_extra(d, in + *used, in_len - *used, used, out, n, &got, err);
		if (rc == FOTA_OK && got == 0 && *used == before) {
			if (d->extra_chunk_left == 0)
				return fota_error_set(err, FOTA_ERR_PARSE,
						      "extra stream ends at %llu, inside its "
						      "segment",
						      (unsigned long long)d->new_pos);
			*stop = true;
		}
		d->extra_left -= got;
	} else {
		return end_record(d, err);
	}
	*made += got;
	d->new_pos += got;
	return rc;
}

static fota_err delta_step(struct decode_stage *s, const uint8_t *in, size_t in_len,
			   size_t *consumed, uint8_t *out, size_t out_cap, size_t *produced,
			   struct fota_error *err)
{
	struct delta_stage *d = (struct delta_stage *)s;
	size_t used = 0, made = 0;
	bool stop = false;
	fota_err rc = FOTA_OK;

	while (rc == FOTA_OK && !stop) {
		switch (d->phase) {
		case HEADER:
			if (!gather(d, FOTA_DELTA_HEADER_LEN, in + used, in_len - used, &used))
				stop = true;
			else
				rc = take_header(d, err);
			break;
		case SEGMENT:
			if (!gather(d, FOTA_DELTA_SEGMENT_LEN, in + used, in_len - used, &used))
				stop = true;
			else
				rc = take_segment(d, err);
			break;
		case CTRL_CHUNK:
			if (!keep(&d->ctrl, in + used, in_len - used, &used))
				stop = true;
			else
				d->phase = DIFF_CHUNK;
			break;
		case DIFF_CHUNK:
			if (!keep(&d->diff, in + used, in_len - used, &used))
				stop = true;
			else
				d->phase = DATA;
			break;
		case DATA:
			rc = data_step(d, in, in_len, &used, out + made, out_cap - made, &made,
				       &stop, err);
			break;
		case TAIL:
			rc = segment_tail(d, in, in_len, &used, &stop, err);
			break;
		case DONE:
			stop = true; /* input left over is refused by the chain */
			break;
		}
	}
	*consumed = used;
	*produced = made;
	return rc;
}

static fota_err delta_end(struct decode_stage *s, struct fota_error *err)
{
	struct delta_stage *d = (struct delta_stage *)s;

	if (d->phase != DONE)
		return fota_error_set(err, FOTA_ERR_PARSE, "payload ends at %llu of %llu bytes",
				      (unsigned long long)d->new_pos,
				      (unsigned long long)d->new_size);
	return FOTA_OK;
}

static void delta_free(struct decode_stage *s)
{
	struct delta_stage *d = (struct delta_stage *)s;

	ZSTD_freeDCtx(d->ctrl.z);
	ZSTD_freeDCtx(d->diff.z);
	ZSTD_freeDCtx(d->extra);
	free(d->ctrl.p);
	free(d->diff.p);
	free(d);
}

static ZSTD_DCtx *bounded_dctx(int window_log)
{
	ZSTD_DCtx *z = ZSTD_createDCtx();

	if (z && ZSTD_isError(ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, window_log))) {
		ZSTD_freeDCtx(z);
		z = NULL;
	}
	return z;
}

fota_err decode_stage_delta_new(int base_fd, uint64_t base_size, struct decode_stage **out,
				struct fota_error *err)
{
	struct delta_stage *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "delta stage: out of memory");
	d->ctrl.z = bounded_dctx(FOTA_DELTA_CTRL_WINDOW_LOG);
	d->diff.z = bounded_dctx(FOTA_DELTA_DIFF_WINDOW_LOG);
	d->extra = bounded_dctx(FOTA_DELTA_EXTRA_WINDOW_LOG);
	d->base.free = delta_free;
	if (!d->ctrl.z || !d->diff.z || !d->extra) {
		delta_free(&d->base);
		return fota_error_set(err, FOTA_ERR_NOMEM, "delta stage: out of memory");
	}
	d->fd = base_fd;
	d->base_size = base_size;
	d->base.name = "delta";
	d->base.step = delta_step;
	d->base.end = delta_end;
	*out = &d->base;
	return FOTA_OK;
}
