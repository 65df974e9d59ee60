/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta decode stage: applies a bsdiff-style patch stream against a base image read with
 * pread, producing the new image sequentially. Stream (docs/internals.md):
 *   "FOTADLT1", new size (u64 LE), then records until the new size is reached:
 *   diff length, extra length (u64 LE), seek (i64 LE), diff bytes, extra bytes.
 * A diff byte is added (mod 256) to the base byte at the base cursor; extra bytes are copied;
 * after a record the base cursor moves by diff length + seek. Every length and cursor is
 * checked against the sizes before it is used. Memory: one base block.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode_stages.h"

#define MAGIC "FOTADLT1"
#define HEADER_LEN 16u
#define CTRL_LEN 24u
#define BASE_BLOCK (64u * 1024u)

struct delta_stage {
	struct decode_stage base;
	int fd;
	uint64_t base_size;
	uint64_t new_size, new_pos;
	uint64_t base_pos;
	uint64_t diff_left, extra_left;
	int64_t seek;
	uint8_t hdr[CTRL_LEN];
	size_t hdr_have;
	bool header_done, in_record;
	uint8_t block[BASE_BLOCK];
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Gathers need bytes of a header or control record across calls; true once complete. */
static bool gather(struct delta_stage *d, size_t need, const uint8_t *in, size_t in_len,
		   size_t *used)
{
	size_t n = need - d->hdr_have < in_len ? need - d->hdr_have : in_len;

	memcpy(d->hdr + d->hdr_have, in, n);
	d->hdr_have += n;
	*used += n;
	return d->hdr_have == need;
}

static fota_err take_header(struct delta_stage *d, struct fota_error *err)
{
	if (memcmp(d->hdr, MAGIC, 8) != 0)
		return fota_error_set(err, FOTA_ERR_PARSE, "not a delta stream (magic)");
	d->new_size = get64(d->hdr + 8);
	d->header_done = true;
	d->hdr_have = 0;
	return FOTA_OK;
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

static fota_err delta_step(struct decode_stage *s, const uint8_t *in, size_t in_len,
			   size_t *consumed, uint8_t *out, size_t out_cap, size_t *produced,
			   struct fota_error *err)
{
	struct delta_stage *d = (struct delta_stage *)s;
	size_t used = 0, made = 0;
	fota_err rc = FOTA_OK;

	while (rc == FOTA_OK) {
		if (!d->header_done) {
			if (!gather(d, HEADER_LEN, in + used, in_len - used, &used))
				break;
			rc = take_header(d, err);
		} else if (!d->in_record) {
			if (d->new_pos == d->new_size)
				break; /* complete: input left over is refused by the chain */
			if (!gather(d, CTRL_LEN, in + used, in_len - used, &used))
				break;
			rc = take_control(d, err);
		} else if (d->diff_left > 0) {
			size_t n = in_len - used;

			n = n < out_cap - made ? n : out_cap - made;
			n = n < BASE_BLOCK ? n : BASE_BLOCK;
			n = (uint64_t)n < d->diff_left ? n : (size_t)d->diff_left;
			if (n == 0)
				break;
			rc = read_base(d, n, err);
			for (size_t i = 0; rc == FOTA_OK && i < n; i++)
				out[made + i] = (uint8_t)(d->block[i] + in[used + i]);
			used += n;
			made += n;
			d->diff_left -= n;
			d->base_pos += n;
			d->new_pos += n;
		} else if (d->extra_left > 0) {
			size_t n = in_len - used;

			n = n < out_cap - made ? n : out_cap - made;
			n = (uint64_t)n < d->extra_left ? n : (size_t)d->extra_left;
			if (n == 0)
				break;
			memcpy(out + made, in + used, n);
			used += n;
			made += n;
			d->extra_left -= n;
			d->new_pos += n;
		} else {
			rc = end_record(d, err);
		}
	}
	*consumed = used;
	*produced = made;
	return rc;
}

static fota_err delta_end(struct decode_stage *s, struct fota_error *err)
{
	struct delta_stage *d = (struct delta_stage *)s;

	if (!d->header_done || d->in_record || d->new_pos != d->new_size)
		return fota_error_set(err, FOTA_ERR_PARSE, "stream ends at %llu of %llu bytes",
				      (unsigned long long)d->new_pos,
				      (unsigned long long)d->new_size);
	return FOTA_OK;
}

static void delta_free(struct decode_stage *s)
{
	free(s);
}

fota_err decode_stage_delta_new(int base_fd, uint64_t base_size, struct decode_stage **out,
				struct fota_error *err)
{
	struct delta_stage *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "delta stage: out of memory");
	d->fd = base_fd;
	d->base_size = base_size;
	d->base.name = "delta";
	d->base.step = delta_step;
	d->base.end = delta_end;
	d->base.free = delta_free;
	*out = &d->base;
	return FOTA_OK;
}
