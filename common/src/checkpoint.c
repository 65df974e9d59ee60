/* SPDX-License-Identifier: Apache-2.0 */
/* Receive checkpoint: verified chunks land in the data file, and the bitmap that marks them
 * present is replaced atomically only after that data is durable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/atomic_file.h"
#include "fota/checkpoint.h"
#include "fota/limits.h"

#include "checkpoint_format.h"

/* Chunk offsets reach FOTA_MAX_IMAGE_SIZE; a 32-bit off_t would wrap them (CMakeLists.txt). */
_Static_assert(sizeof(off_t) == 8, "off_t must be 64 bits: build with _FILE_OFFSET_BITS=64");

struct fota_checkpoint {
	char *bitmap_path;
	char *data_path;
	/* data_path was given by the caller (a slot): never truncated, never deleted here. */
	bool external;
	bool dirty; /* bits differ from the bitmap file on disk */
	bool discarded;
	int fd;
	uint64_t image_size;
	uint32_t chunk_size;
	uint32_t count;
	uint32_t present;
	uint32_t recovered;
	uint8_t image_id[FOTA_IMAGE_ID_LEN];
	const struct fota_chunk_table *table;
	/* The bitmap file image kept ready to seal and write: header, bits, digest. Its size is
	 * what the checkpoint costs in memory (at most FOTA__CKPT_MAX_FILE_LEN). */
	uint8_t *file;
	size_t file_len;
	uint8_t *bits;
};

/* ---- bitmap file format ---- */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

size_t fota__checkpoint_file_len(uint32_t count)
{
	return FOTA__CKPT_HEADER_LEN + ((size_t)count + 7) / 8 + FOTA_SHA256_LEN;
}

fota_err fota__checkpoint_parse(const uint8_t *buf, size_t len, struct fota__checkpoint_file *out,
				struct fota_error *err)
{
	const size_t min_len = FOTA__CKPT_HEADER_LEN + FOTA_SHA256_LEN;
	uint8_t digest[FOTA_SHA256_LEN];
	struct fota__checkpoint_file f;
	uint32_t tail;

	if (buf == NULL || len < min_len)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "bitmap file rejected: %zu bytes, shorter than header and "
				      "digest (%zu)",
				      buf == NULL ? (size_t)0 : len, min_len);
	if (len > FOTA__CKPT_MAX_FILE_LEN)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "bitmap file rejected: %zu bytes > limit %u", len,
				      (unsigned)FOTA__CKPT_MAX_FILE_LEN);
	if (memcmp(buf, FOTA__CKPT_MAGIC, FOTA__CKPT_MAGIC_LEN) != 0)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "bitmap file rejected: bad magic, not a checkpoint");
	/* The digest goes first: a torn or bit-flipped file is told apart from a valid one
	 * before any field it carries is believed. */
	fota_sha256(buf, len - FOTA_SHA256_LEN, digest);
	if (!fota_digest_equal(digest, buf + len - FOTA_SHA256_LEN, FOTA_SHA256_LEN))
		return fota_error_set(err, FOTA_ERR_DIGEST,
				      "bitmap file rejected: trailing SHA-256 does not match "
				      "(torn or altered)");
	memset(&f, 0, sizeof(f));
	f.version = get32(buf + 8);
	memcpy(f.image_id, buf + 12, FOTA_IMAGE_ID_LEN);
	f.image_size = get64(buf + 20);
	f.chunk_size = get32(buf + 28);
	f.count = get32(buf + 32);
	f.bitmap_len = get32(buf + 36);
	f.bitmap = buf + FOTA__CKPT_HEADER_LEN;
	if (f.version != FOTA__CKPT_VERSION)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "bitmap file rejected: unsupported version %u", f.version);
	if (f.chunk_size < FOTA_MIN_CHUNK_SIZE || f.chunk_size > FOTA_MAX_CHUNK_SIZE)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "bitmap file rejected: chunk size %u outside %u..%u",
				      f.chunk_size, FOTA_MIN_CHUNK_SIZE, FOTA_MAX_CHUNK_SIZE);
	if (f.image_size == 0 || f.image_size > FOTA_MAX_IMAGE_SIZE)
		return fota_error_set(
		    err, FOTA_ERR_FIELD, "bitmap file rejected: image size %llu outside 1..%llu",
		    (unsigned long long)f.image_size, (unsigned long long)FOTA_MAX_IMAGE_SIZE);
	if (f.count == 0 || f.count > FOTA_MAX_CHUNK_COUNT ||
	    f.count != fota_chunk_count_for(f.image_size, f.chunk_size))
		return fota_error_set(
		    err, FOTA_ERR_FIELD,
		    "bitmap file rejected: chunk count %u does not fit %llu bytes "
		    "in chunks of %u",
		    f.count, (unsigned long long)f.image_size, f.chunk_size);
	if (f.bitmap_len != (f.count + 7) / 8)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "bitmap file rejected: bitmap of %u bytes for %u chunks",
				      f.bitmap_len, f.count);
	if (len != fota__checkpoint_file_len(f.count))
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "bitmap file rejected: %zu bytes, expected %zu", len,
				      fota__checkpoint_file_len(f.count));
	/* Padding bits past the last chunk stay zero, so one state has exactly one encoding. */
	tail = f.count % 8;
	if (tail != 0 && (f.bitmap[f.bitmap_len - 1] & (0xffu >> tail)) != 0)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "bitmap file rejected: padding bits after chunk %u are set",
				      f.count - 1);
	*out = f;
	return FOTA_OK;
}

void fota__checkpoint_seal(const struct fota__checkpoint_file *f, uint8_t *buf)
{
	size_t body = FOTA__CKPT_HEADER_LEN + ((size_t)f->count + 7) / 8;

	memcpy(buf, FOTA__CKPT_MAGIC, FOTA__CKPT_MAGIC_LEN);
	put32(buf + 8, FOTA__CKPT_VERSION);
	memcpy(buf + 12, f->image_id, FOTA_IMAGE_ID_LEN);
	put64(buf + 20, f->image_size);
	put32(buf + 28, f->chunk_size);
	put32(buf + 32, f->count);
	put32(buf + 36, (f->count + 7) / 8);
	fota_sha256(buf, body, buf + body);
}

/* ---- helpers ---- */

static bool bit_get(const uint8_t *bits, uint32_t i)
{
	return (bits[i >> 3] & (0x80u >> (i & 7))) != 0;
}

static void bit_set(uint8_t *bits, uint32_t i, bool on)
{
	if (on)
		bits[i >> 3] = (uint8_t)(bits[i >> 3] | (0x80u >> (i & 7)));
	else
		bits[i >> 3] = (uint8_t)(bits[i >> 3] & ~(0x80u >> (i & 7)));
}

static char *path_join(const char *dir, const char *name, const char *suffix)
{
	size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s/%s%s", dir, name, suffix);
	return s;
}

/* Reads up to len bytes at off, retrying short reads; returns bytes read or -1. */
static ssize_t pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int pwrite_full(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* A chunk counts only if its bytes on disk hash to the table entry. */
static bool chunk_on_disk(const struct fota_checkpoint *cp, uint32_t index, uint8_t *buf)
{
	uint32_t len = fota_chunk_len(cp->image_size, cp->chunk_size, index);
	ssize_t n = pread_full(cp->fd, buf, len, (uint64_t)index * cp->chunk_size);

	return n == (ssize_t)len && fota_chunk_table_check(cp->table, index, buf, len);
}

/* Temp files of a bitmap write interrupted by a crash carry a pid that will not come back. */
static void remove_stale_temps(const char *dir, const char *name)
{
	char prefix[FOTA_MAX_NAME_LEN * 2 + 32];
	struct dirent *e;
	size_t plen;
	DIR *d;
	int dfd;

	if (snprintf(prefix, sizeof(prefix), "%s.bitmap.tmp.", name) >= (int)sizeof(prefix))
		return;
	plen = strlen(prefix);
	d = opendir(dir);
	if (d == NULL)
		return;
	dfd = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, plen) == 0)
			(void)unlinkat(dfd, e->d_name, 0);
	}
	closedir(d);
}

static fota_err open_data(struct fota_checkpoint *cp, struct fota_error *err)
{
	bool created = false;
	struct stat st;
	off_t size;

	cp->fd = open(cp->data_path, O_RDWR | O_CLOEXEC);
	if (cp->fd < 0 && errno == ENOENT) {
		cp->fd = open(cp->data_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		created = cp->fd >= 0;
	}
	if (cp->fd < 0 || fstat(cp->fd, &st) != 0)
		return fota_error_set(err, FOTA_ERR_IO, "cannot open data file %s: %s",
				      cp->data_path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		size = lseek(cp->fd, 0, SEEK_END);
		if (size < 0)
			return fota_error_set(err, FOTA_ERR_IO, "cannot size %s: %s", cp->data_path,
					      strerror(errno));
		if ((uint64_t)size < cp->image_size)
			return fota_error_set(
			    err, FOTA_ERR_TOO_BIG, "slot %s holds %lld bytes, image needs %llu",
			    cp->data_path, (long long)size, (unsigned long long)cp->image_size);
		return FOTA_OK;
	}
	if (!S_ISREG(st.st_mode))
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "data file %s is neither a regular file nor a block device",
				      cp->data_path);
	/* Our own staging file has exactly the image size; a caller's slot file is only ever
	 * grown, so whatever lies past the image in it survives. */
	if ((uint64_t)st.st_size != cp->image_size &&
	    (!cp->external || (uint64_t)st.st_size < cp->image_size)) {
		if (ftruncate(cp->fd, (off_t)cp->image_size) != 0)
			return fota_error_set(err, FOTA_ERR_IO, "cannot size %s to %llu bytes: %s",
					      cp->data_path, (unsigned long long)cp->image_size,
					      strerror(errno));
	}
	if (created)
		return fota_fsync_parent(cp->data_path, err);
	return FOTA_OK;
}

static fota_err check_params(const struct fota_checkpoint_params *p, struct fota_error *err)
{
	uint32_t count;

	if (p == NULL || p->dir == NULL || p->name == NULL || p->image_id == NULL ||
	    p->table == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "checkpoint: dir, name, image id and table are required");
	/* The name usually comes from an image id on the wire: keep it one plain file name. */
	if (p->name[0] == '\0' || strchr(p->name, '/') != NULL || strcmp(p->name, ".") == 0 ||
	    strcmp(p->name, "..") == 0 || strlen(p->name) > FOTA_MAX_NAME_LEN)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "checkpoint: name \"%.64s\" is not a plain file name",
				      p->name);
	if (p->chunk_size < FOTA_MIN_CHUNK_SIZE || p->chunk_size > FOTA_MAX_CHUNK_SIZE)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "checkpoint: chunk size %u outside %u..%u", p->chunk_size,
				      FOTA_MIN_CHUNK_SIZE, FOTA_MAX_CHUNK_SIZE);
	if (p->image_size == 0 || p->image_size > FOTA_MAX_IMAGE_SIZE)
		return fota_error_set(
		    err, FOTA_ERR_FIELD, "checkpoint: image size %llu outside 1..%llu",
		    (unsigned long long)p->image_size, (unsigned long long)FOTA_MAX_IMAGE_SIZE);
	count = fota_chunk_count_for(p->image_size, p->chunk_size);
	if (count > FOTA_MAX_CHUNK_COUNT)
		return fota_error_set(
		    err, FOTA_ERR_TOO_BIG, "checkpoint: %llu bytes need %u chunks of %u, limit %u",
		    (unsigned long long)p->image_size, count, p->chunk_size, FOTA_MAX_CHUNK_COUNT);
	if (p->table->count != count || p->table->hashes == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "checkpoint: chunk table has %u entries, image needs %u",
				      p->table->count, count);
	return FOTA_OK;
}

enum load_mode { LOAD_FRESH, LOAD_VERIFY_MARKED, LOAD_SCAN_ALL };

/* Decides what the bitmap on disk is worth: nothing (absent or another image), a claim to
 * re-verify, or damage to move aside and rebuild from the data file. */
static fota_err load_bitmap(struct fota_checkpoint *cp, enum load_mode *mode,
			    struct fota_error *err)
{
	struct fota__checkpoint_file f;
	uint8_t *buf = NULL;
	size_t len = 0;
	fota_err rc;

	rc = fota_read_file(cp->bitmap_path, FOTA__CKPT_MAX_FILE_LEN, &buf, &len, err);
	if (rc == FOTA_ERR_NOT_FOUND) {
		*mode = LOAD_FRESH;
		rc = FOTA_OK;
		goto out;
	}
	if (rc == FOTA_ERR_NOMEM)
		goto out;
	if (rc == FOTA_OK)
		rc = fota__checkpoint_parse(buf, len, &f, err);
	if (rc != FOTA_OK) {
		*mode = LOAD_SCAN_ALL;
		rc = fota_move_aside(cp->bitmap_path, err);
		goto out;
	}
	if (!fota_digest_equal(f.image_id, cp->image_id, FOTA_IMAGE_ID_LEN) ||
	    f.image_size != cp->image_size || f.chunk_size != cp->chunk_size) {
		/* A sound file about another image: its bits mean nothing here. */
		*mode = LOAD_FRESH;
		goto out;
	}
	memcpy(cp->bits, f.bitmap, f.bitmap_len);
	*mode = LOAD_VERIFY_MARKED;
out:
	free(buf);
	return rc;
}

/* ---- public API ---- */

fota_err fota_checkpoint_open(const struct fota_checkpoint_params *p, struct fota_checkpoint **out,
			      struct fota_error *err)
{
	struct fota_checkpoint *cp = NULL;
	enum load_mode mode = LOAD_FRESH;
	uint8_t *chunk = NULL;
	fota_err rc;

	rc = check_params(p, err);
	if (rc != FOTA_OK)
		return rc;
	cp = calloc(1, sizeof(*cp));
	if (cp == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for a checkpoint");
	cp->fd = -1;
	cp->image_size = p->image_size;
	cp->chunk_size = p->chunk_size;
	cp->count = p->table->count;
	cp->table = p->table;
	memcpy(cp->image_id, p->image_id, FOTA_IMAGE_ID_LEN);
	cp->external = p->data_path != NULL;
	cp->bitmap_path = path_join(p->dir, p->name, ".bitmap");
	cp->data_path = cp->external ? strdup(p->data_path) : path_join(p->dir, p->name, ".part");
	cp->file_len = fota__checkpoint_file_len(cp->count);
	cp->file = calloc(1, cp->file_len);
	if (cp->bitmap_path == NULL || cp->data_path == NULL || cp->file == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory for a checkpoint");
		goto out;
	}
	cp->bits = cp->file + FOTA__CKPT_HEADER_LEN;

	rc = fota_mkdirs(p->dir, 0700, err);
	if (rc != FOTA_OK)
		goto out;
	remove_stale_temps(p->dir, p->name);
	rc = open_data(cp, err);
	if (rc != FOTA_OK)
		goto out;
	rc = load_bitmap(cp, &mode, err);
	if (rc != FOTA_OK)
		goto out;

	if (mode != LOAD_FRESH) {
		chunk = malloc(cp->chunk_size);
		if (chunk == NULL) {
			rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory to verify chunks");
			goto out;
		}
	}
	/* Hashing what is on disk is cheap next to downloading it again, and it means the
	 * bitmap is a hint we check, never a claim we trust. */
	for (uint32_t i = 0; mode != LOAD_FRESH && i < cp->count; i++) {
		bool marked = bit_get(cp->bits, i);
		bool ok;

		if (mode == LOAD_VERIFY_MARKED && !marked)
			continue;
		ok = chunk_on_disk(cp, i, chunk);
		bit_set(cp->bits, i, ok);
		cp->present += ok;
		if (ok != marked)
			cp->dirty = true;
	}
	cp->recovered = cp->present;
	/* A new, rebuilt or corrected bitmap goes to disk now (after an fdatasync, so chunks
	 * found by scanning are as durable as the mark that now claims them). */
	if (mode != LOAD_VERIFY_MARKED)
		cp->dirty = true;
	rc = fota_checkpoint_sync(cp, err);
	if (rc != FOTA_OK)
		goto out;
	*out = cp;
	cp = NULL;
out:
	free(chunk);
	fota_checkpoint_free(cp);
	return rc;
}

void fota_checkpoint_free(struct fota_checkpoint *cp)
{
	if (cp == NULL)
		return;
	if (cp->fd >= 0)
		close(cp->fd);
	free(cp->bitmap_path);
	free(cp->data_path);
	free(cp->file);
	free(cp);
}

fota_err fota_checkpoint_put(struct fota_checkpoint *cp, uint32_t index, const uint8_t *data,
			     size_t len, struct fota_error *err)
{
	uint32_t want;

	if (cp->discarded)
		return fota_error_set(err, FOTA_ERR_STATE, "checkpoint was discarded");
	if (index >= cp->count)
		return fota_error_set(err, FOTA_ERR_INVAL, "chunk index %u >= count %u", index,
				      cp->count);
	want = fota_chunk_len(cp->image_size, cp->chunk_size, index);
	if (len != want || data == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "chunk %u is %zu bytes, expected %u",
				      index, data == NULL ? (size_t)0 : len, want);
	if (bit_get(cp->bits, index))
		return FOTA_OK;
	if (!fota_chunk_table_check(cp->table, index, data, len))
		return fota_error_set(err, FOTA_ERR_DIGEST,
				      "chunk %u does not match the chunk table; not written",
				      index);
	if (pwrite_full(cp->fd, data, len, (uint64_t)index * cp->chunk_size) != 0)
		return fota_error_set(err, FOTA_ERR_IO, "cannot write chunk %u to %s: %s", index,
				      cp->data_path, strerror(errno));
	bit_set(cp->bits, index, true);
	cp->present++;
	cp->dirty = true;
	return FOTA_OK;
}

/* Seals the bitmap file image in cp->file (header and digest over the current bits). */
static void seal_file(struct fota_checkpoint *cp)
{
	struct fota__checkpoint_file f;

	memset(&f, 0, sizeof(f));
	memcpy(f.image_id, cp->image_id, FOTA_IMAGE_ID_LEN);
	f.image_size = cp->image_size;
	f.chunk_size = cp->chunk_size;
	f.count = cp->count;
	fota__checkpoint_seal(&f, cp->file);
}

/* Reads only what never changes after open (fd, paths), so that it may run on another
 * thread than the one that puts. */
static fota_err commit_file(const struct fota_checkpoint *cp, const uint8_t *file, size_t len,
			    struct fota_error *err)
{
	int r;

	/* The ordering this module exists for: data durable first, then the mark. */
	do {
		r = fdatasync(cp->fd);
	} while (r != 0 && errno == EINTR);
	if (r != 0)
		return fota_error_set(err, FOTA_ERR_IO, "cannot fdatasync %s: %s", cp->data_path,
				      strerror(errno));
	return fota_atomic_write(cp->bitmap_path, file, len, 0600, err);
}

fota_err fota_checkpoint_sync(struct fota_checkpoint *cp, struct fota_error *err)
{
	fota_err rc;

	if (cp->discarded)
		return fota_error_set(err, FOTA_ERR_STATE, "checkpoint was discarded");
	if (!cp->dirty)
		return FOTA_OK;
	seal_file(cp);
	rc = commit_file(cp, cp->file, cp->file_len, err);
	if (rc != FOTA_OK)
		return rc;
	cp->dirty = false;
	return FOTA_OK;
}

fota_err fota_checkpoint_snapshot(struct fota_checkpoint *cp, struct fota_checkpoint_snapshot *s,
				  struct fota_error *err)
{
	s->taken = false;
	if (cp->discarded)
		return fota_error_set(err, FOTA_ERR_STATE, "checkpoint was discarded");
	if (!cp->dirty)
		return FOTA_OK;
	if (s->file == NULL) {
		s->file = malloc(cp->file_len);
		if (s->file == NULL)
			return fota_error_set(err, FOTA_ERR_NOMEM, "checkpoint: out of memory");
	}
	seal_file(cp);
	memcpy(s->file, cp->file, cp->file_len);
	s->len = cp->file_len;
	s->taken = true;
	/* The snapshot now owes these bits to the disk; a failed commit is the caller's error
	 * to report, as a failed sync is. */
	cp->dirty = false;
	return FOTA_OK;
}

fota_err fota_checkpoint_commit(const struct fota_checkpoint *cp,
				const struct fota_checkpoint_snapshot *s, struct fota_error *err)
{
	if (!s->taken)
		return FOTA_OK;
	return commit_file(cp, s->file, s->len, err);
}

void fota_checkpoint_snapshot_clear(struct fota_checkpoint_snapshot *s)
{
	free(s->file);
	memset(s, 0, sizeof(*s));
}

bool fota_checkpoint_has(const struct fota_checkpoint *cp, uint32_t index)
{
	return index < cp->count && bit_get(cp->bits, index);
}

uint32_t fota_checkpoint_present(const struct fota_checkpoint *cp)
{
	return cp->present;
}

uint32_t fota_checkpoint_count(const struct fota_checkpoint *cp)
{
	return cp->count;
}

bool fota_checkpoint_complete(const struct fota_checkpoint *cp)
{
	return cp->present == cp->count;
}

uint32_t fota_checkpoint_recovered(const struct fota_checkpoint *cp)
{
	return cp->recovered;
}

size_t fota_checkpoint_missing(const struct fota_checkpoint *cp, uint32_t from,
			       struct fota_range *out, size_t max_ranges, uint32_t max_chunks)
{
	size_t n = 0;
	uint32_t total = 0;
	bool open = false;

	if (cp->count == 0 || max_ranges == 0 || max_chunks == 0)
		return 0;
	if (from >= cp->count)
		from = 0;
	/* Ranges never wrap past the last chunk: the scan closes the open one at index 0. */
	for (uint32_t k = 0; k < cp->count && total < max_chunks; k++) {
		uint32_t i = from + k < cp->count ? from + k : from + k - cp->count;

		if (bit_get(cp->bits, i)) {
			if (open)
				n++;
			open = false;
			continue;
		}
		if (open && i == 0) {
			n++;
			open = false;
		}
		if (!open) {
			if (n == max_ranges)
				break;
			out[n].first = i;
			out[n].count = 0;
			open = true;
		}
		out[n].count++;
		total++;
	}
	if (open)
		n++;
	return n;
}

fota_err fota_checkpoint_verify_image(struct fota_checkpoint *cp, const uint8_t expected[32],
				      struct fota_error *err)
{
	struct fota_sha256_ctx *ctx = fota_sha256_new();
	fota_err rc;

	if (ctx == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory to verify the image");
	rc = fota_checkpoint_verify_image_from(cp, ctx, 0, expected, err);
	fota_sha256_free(ctx);
	return rc;
}

fota_err fota_checkpoint_verify_image_from(struct fota_checkpoint *cp, struct fota_sha256_ctx *ctx,
					   uint32_t first, const uint8_t expected[32],
					   struct fota_error *err)
{
	uint8_t digest[FOTA_SHA256_LEN];
	char got_hex[17], want_hex[17];
	uint8_t *buf = NULL;
	fota_err rc;

	if (cp->discarded) {
		rc = fota_error_set(err, FOTA_ERR_STATE, "checkpoint was discarded");
		goto out;
	}
	if (first > cp->count) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "verify from chunk %u of %u", first,
				    cp->count);
		goto out;
	}
	buf = malloc(cp->chunk_size);
	if (buf == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory to verify the image");
		goto out;
	}
	for (uint64_t off = (uint64_t)first * cp->chunk_size; off < cp->image_size;) {
		uint64_t left = cp->image_size - off;
		size_t want = left < cp->chunk_size ? (size_t)left : cp->chunk_size;
		ssize_t n = pread_full(cp->fd, buf, want, off);

		if (n < 0) {
			rc = fota_error_set(err, FOTA_ERR_IO, "cannot read %s: %s", cp->data_path,
					    strerror(errno));
			goto out;
		}
		if ((size_t)n < want) {
			rc = fota_error_set(err, FOTA_ERR_IO,
					    "data file %s ends at byte %llu, image is %llu bytes",
					    cp->data_path, (unsigned long long)(off + (uint64_t)n),
					    (unsigned long long)cp->image_size);
			goto out;
		}
		fota_sha256_update(ctx, buf, want);
		off += want;
	}
	fota_sha256_final(ctx, digest);
	if (!fota_digest_equal(digest, expected, FOTA_SHA256_LEN)) {
		fota_hex_encode(digest, 8, got_hex);
		fota_hex_encode(expected, 8, want_hex);
		rc = fota_error_set(err, FOTA_ERR_DIGEST,
				    "image SHA-256 mismatch: data hashes to %s..., expected %s...",
				    got_hex, want_hex);
		goto out;
	}
	rc = FOTA_OK;
out:
	if (rc != FOTA_OK)
		fota_sha256_final(ctx, digest); /* resets ctx: the caller starts over from 0 */
	free(buf);
	return rc;
}

const char *fota_checkpoint_data_path(const struct fota_checkpoint *cp)
{
	return cp->data_path;
}

fota_err fota_checkpoint_discard(struct fota_checkpoint *cp, struct fota_error *err)
{
	if (unlink(cp->bitmap_path) != 0 && errno != ENOENT)
		return fota_error_set(err, FOTA_ERR_IO, "cannot remove %s: %s", cp->bitmap_path,
				      strerror(errno));
	if (!cp->external && unlink(cp->data_path) != 0 && errno != ENOENT)
		return fota_error_set(err, FOTA_ERR_IO, "cannot remove %s: %s", cp->data_path,
				      strerror(errno));
	cp->discarded = true;
	if (cp->fd >= 0) {
		close(cp->fd);
		cp->fd = -1;
	}
	return fota_fsync_parent(cp->bitmap_path, err);
}
