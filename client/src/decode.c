/* SPDX-License-Identifier: Apache-2.0 */
/* The decode chain: payload -> stages -> image, streaming through fixed DECODE_BLOCK buffers. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "decode_stages.h"
#include "fota/digest.h"

bool decode_payload_is_image(const struct fota_manifest *m)
{
	return !fota_manifest_payload_encoded(m);
}

fota_err decode_base_open(const char *path, uint64_t size, const uint8_t sha256[FOTA_SHA256_LEN],
			  struct decode_base *out, struct fota_error *err)
{
	struct fota_sha256_ctx *sha = fota_sha256_new();
	uint8_t *buf = malloc(DECODE_BLOCK);
	uint8_t got[FOTA_SHA256_LEN];
	char want_hex[17], got_hex[17];
	uint64_t done = 0;
	fota_err rc = FOTA_OK;

	out->fd = -1;
	out->size = size;
	if (sha == NULL || buf == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "delta base: out of memory");
		goto out;
	}
	out->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (out->fd < 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "delta base %.128s: %s", path,
				    strerror(errno));
		goto out;
	}
	while (done < size) {
		size_t want = size - done < DECODE_BLOCK ? (size_t)(size - done) : DECODE_BLOCK;
		ssize_t n = pread(out->fd, buf, want, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc =
			    fota_error_set(err, FOTA_ERR_DIGEST,
					   "delta base %.128s ends at %llu of its %llu bytes", path,
					   (unsigned long long)done, (unsigned long long)size);
			goto out;
		}
		fota_sha256_update(sha, buf, (size_t)n);
		done += (uint64_t)n;
	}
	fota_sha256_final(sha, got);
	if (!fota_digest_equal(got, sha256, FOTA_SHA256_LEN)) {
		fota_hex_encode(got, 8, got_hex);
		fota_hex_encode(sha256, 8, want_hex);
		rc = fota_error_set(err, FOTA_ERR_DIGEST,
				    "delta base: the installed image holds %s..., not the delta's "
				    "base %s...",
				    got_hex, want_hex);
	}
out:
	if (rc != FOTA_OK)
		decode_base_close(out);
	free(buf);
	fota_sha256_free(sha);
	return rc;
}

void decode_base_close(struct decode_base *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

fota_err decode_chain_for(const struct fota_manifest *m, const struct decode_base *base,
			  struct decode_chain *c, struct fota_error *err)
{
	fota_err rc = FOTA_OK;

	memset(c, 0, sizeof(*c));
	c->out_size = fota_manifest_image_size(m);
	memcpy(c->out_sha256, fota_manifest_image_sha256(m), FOTA_SHA256_LEN);
	if (m->has_delta_base && base == NULL)
		return fota_error_set(err, FOTA_ERR_INCOMPATIBLE,
				      "decode: a delta payload needs its base image");
	if (m->has_delta_base) {
		/* A delta payload compresses its own streams (fota/delta_format.h): one stage. */
		if (m->compression != FOTA_COMPRESSION_ZSTD)
			return fota_error_set(err, FOTA_ERR_INCOMPATIBLE,
					      "decode: a delta payload's streams are zstd, not "
					      "'%s': not supported by this agent",
					      fota_compression_name(m->compression));
		rc = decode_stage_delta_new(base->fd, base->size, &c->stages[c->n], err);
		if (rc == FOTA_OK)
			c->n++;
		return rc;
	}
	switch (m->compression) {
	case FOTA_COMPRESSION_NONE:
		break;
	case FOTA_COMPRESSION_ZSTD:
		rc = decode_stage_zstd_new(&c->stages[c->n], err);
		if (rc == FOTA_OK)
			c->n++;
		break;
	default:
		return fota_error_set(err, FOTA_ERR_INCOMPATIBLE,
				      "decode: compression '%s' not supported by this agent",
				      fota_compression_name(m->compression));
	}
	if (rc != FOTA_OK)
		decode_chain_clear(c);
	return rc;
}

bool decode_chain_is_identity(const struct decode_chain *c)
{
	return c->n == 0;
}

void decode_chain_clear(struct decode_chain *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->stages[i])
			c->stages[i]->free(c->stages[i]);
	c->n = 0;
}

/* A window into one DECODE_BLOCK buffer: [start, end) holds bytes not yet consumed. */
struct window {
	uint8_t *p;
	size_t start, end;
};

static void compact(struct window *w)
{
	if (w->start == w->end) {
		w->start = w->end = 0;
	} else if (w->start > 0 && w->end == DECODE_BLOCK) {
		memmove(w->p, w->p + w->start, w->end - w->start);
		w->end -= w->start;
		w->start = 0;
	}
}

typedef fota_err (*read_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *got,
			    struct fota_error *err);

/* The end of the chain: bounds the output by the image's size and hashes it on the way. */
struct sink {
	const struct decode_chain *c;
	struct fota_sha256_ctx *sha;
	uint64_t written;
	decode_write_fn write;
	void *ctx;
};

static fota_err sink_put(struct sink *s, const uint8_t *p, size_t len, struct fota_error *err)
{
	if (len > s->c->out_size - s->written)
		return fota_error_set(err, FOTA_ERR_DIGEST,
				      "decode: output grows past the image's %llu bytes: refused",
				      (unsigned long long)s->c->out_size);
	fota_sha256_update(s->sha, p, len);
	s->written += len;
	return s->write(s->ctx, p, len, err);
}

static fota_err sink_end(struct sink *s, struct fota_error *err)
{
	uint8_t got[FOTA_SHA256_LEN];
	char want_hex[17], got_hex[17];

	fota_sha256_final(s->sha, got);
	if (s->written != s->c->out_size)
		return fota_error_set(
		    err, FOTA_ERR_DIGEST, "decode: output has %llu bytes, the image %llu: refused",
		    (unsigned long long)s->written, (unsigned long long)s->c->out_size);
	if (!fota_digest_equal(got, s->c->out_sha256, FOTA_SHA256_LEN)) {
		fota_hex_encode(got, 8, got_hex);
		fota_hex_encode(s->c->out_sha256, 8, want_hex);
		return fota_error_set(err, FOTA_ERR_DIGEST,
				      "decode: output SHA-256 %s... != image %s...: refused",
				      got_hex, want_hex);
	}
	return FOTA_OK;
}

/* Pushes the source through every stage into the sink until the source ends and every stage
 * is drained. Memory: one DECODE_BLOCK per stage plus one for the source, whatever the size. */
static fota_err run(struct decode_chain *c, read_fn read, void *rctx, struct sink *sink,
		    struct fota_error *err)
{
	struct window w[DECODE_MAX_STAGES + 1];
	bool drained[DECODE_MAX_STAGES] = {false};
	bool eof = false;
	fota_err rc = FOTA_OK;

	memset(w, 0, sizeof(w));
	for (int i = 0; i <= c->n; i++) {
		w[i].p = malloc(DECODE_BLOCK);
		if (w[i].p == NULL) {
			rc = fota_error_set(err, FOTA_ERR_NOMEM, "decode: out of memory");
			goto out;
		}
	}
	for (;;) {
		bool moved = false;
		struct window *last = &w[c->n];

		if (!eof && w[0].end < DECODE_BLOCK) {
			size_t got = 0;

			compact(&w[0]);
			rc = read(rctx, w[0].p + w[0].end, DECODE_BLOCK - w[0].end, &got, err);
			if (rc != FOTA_OK)
				goto out;
			eof = got == 0;
			w[0].end += got;
			moved = got > 0;
		}
		for (int i = 0; i < c->n; i++) {
			struct window *in = &w[i], *o = &w[i + 1];
			bool flush = (i == 0 ? eof : drained[i - 1]) && in->start == in->end;
			size_t used = 0, made = 0;

			compact(o);
			if (o->end == DECODE_BLOCK || (in->start == in->end && !flush))
				continue;
			rc = c->stages[i]->step(c->stages[i], in->p + in->start,
						in->end - in->start, &used, o->p + o->end,
						DECODE_BLOCK - o->end, &made, err);
			if (rc != FOTA_OK) {
				fota_error_prefix(err, c->stages[i]->name);
				goto out;
			}
			in->start += used;
			o->end += made;
			compact(in);
			moved = moved || used > 0 || made > 0;
			drained[i] = flush && used == 0 && made == 0;
		}
		if (last->end > last->start) {
			rc = sink_put(sink, last->p + last->start, last->end - last->start, err);
			if (rc != FOTA_OK)
				goto out;
			last->start = last->end = 0;
			moved = true;
		}
		if (moved)
			continue;
		for (int i = 0; i <= c->n; i++)
			if (w[i].end > w[i].start) {
				rc = fota_error_set(err, FOTA_ERR_PARSE,
						    "decode: stage %s stopped with input left",
						    i < c->n ? c->stages[i]->name : "output");
				goto out;
			}
		if (eof && (c->n == 0 || drained[c->n - 1]))
			break;
	}
	for (int i = 0; i < c->n; i++) {
		rc = c->stages[i]->end(c->stages[i], err);
		if (rc != FOTA_OK) {
			fota_error_prefix(err, c->stages[i]->name);
			goto out;
		}
	}
	rc = sink_end(sink, err);
out:
	for (int i = 0; i <= c->n; i++)
		free(w[i].p);
	return rc;
}

struct fd_io {
	int fd;
	const char *path;
	decode_progress_fn progress;
	void *progress_ctx;
	uint64_t written;
};

static fota_err fd_read(void *ctx, uint8_t *buf, size_t cap, size_t *got, struct fota_error *err)
{
	struct fd_io *io = ctx;
	ssize_t n;

	do
		n = read(io->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fota_error_set(err, FOTA_ERR_IO, "decode: read %.128s: %s", io->path,
				      strerror(errno));
	*got = (size_t)n;
	return FOTA_OK;
}

static fota_err fd_write(void *ctx, const uint8_t *p, size_t len, struct fota_error *err)
{
	struct fd_io *io = ctx;

	for (size_t off = 0; off < len;) {
		ssize_t w = write(io->fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fota_error_set(err, FOTA_ERR_IO, "decode: write %.128s: %s",
					      io->path, w < 0 ? strerror(errno) : "no progress");
		off += (size_t)w;
	}
	io->written += len;
	if (io->progress)
		io->progress(io->progress_ctx, io->written);
	return FOTA_OK;
}

fota_err decode_chain_run(struct decode_chain *c, const char *payload_path, const char *out_path,
			  bool in_place, decode_progress_fn progress, void *progress_ctx,
			  struct fota_error *err)
{
	struct fd_io in = {.fd = -1, .path = payload_path};
	struct fd_io out = {.fd = -1, .path = out_path};
	struct sink sink = {.c = c, .write = fd_write, .ctx = &out};
	fota_err rc;

	out.progress = progress;
	out.progress_ctx = progress_ctx;
	in.fd = open(payload_path, O_RDONLY | O_CLOEXEC);
	if (in.fd < 0)
		return fota_error_set(err, FOTA_ERR_IO, "decode: open %.128s: %s", payload_path,
				      strerror(errno));
	out.fd = in_place ? open(out_path, O_WRONLY | O_CLOEXEC)
			  : open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	sink.sha = fota_sha256_new();
	if (out.fd < 0 || sink.sha == NULL) {
		rc = out.fd < 0 ? fota_error_set(err, FOTA_ERR_IO, "decode: open %.128s: %s",
						 out_path, strerror(errno))
				: fota_error_set(err, FOTA_ERR_NOMEM, "decode: out of memory");
		goto out;
	}
	rc = run(c, fd_read, &in, &sink, err);
	if (rc == FOTA_OK && fsync(out.fd) != 0)
		rc = fota_error_set(err, FOTA_ERR_IO, "decode: fsync %.128s: %s", out_path,
				    strerror(errno));
out:
	fota_sha256_free(sink.sha);
	close(in.fd);
	if (out.fd >= 0)
		close(out.fd);
	return rc;
}

struct mem_src {
	const uint8_t *p;
	size_t len, pos;
};

static fota_err mem_read(void *ctx, uint8_t *buf, size_t cap, size_t *got, struct fota_error *err)
{
	struct mem_src *m = ctx;
	size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;

	(void)err;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	*got = n;
	return FOTA_OK;
}

fota_err decode_chain_run_mem(struct decode_chain *c, const uint8_t *payload, size_t len,
			      decode_write_fn write, void *write_ctx, struct fota_error *err)
{
	struct mem_src src = {payload, len, 0};
	struct sink sink = {.c = c, .write = write, .ctx = write_ctx};
	fota_err rc;

	sink.sha = fota_sha256_new();
	if (sink.sha == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "decode: out of memory");
	rc = run(c, mem_read, &src, &sink, err);
	fota_sha256_free(sink.sha);
	return rc;
}
