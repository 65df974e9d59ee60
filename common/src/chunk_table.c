/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk hash table: built from an image in one streaming pass, or taken from the wire. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/chunk_table.h"
#include "fota/limits.h"

uint32_t fota_chunk_count_for(uint64_t image_size, uint32_t chunk_size)
{
	uint64_t n;

	if (chunk_size == 0)
		return 0;
	n = image_size / chunk_size + (image_size % chunk_size != 0);
	/* Saturate: callers compare against FOTA_MAX_CHUNK_COUNT, which refuses this. */
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

uint32_t fota_chunk_len(uint64_t image_size, uint32_t chunk_size, uint32_t index)
{
	uint64_t off, left;

	if (index >= fota_chunk_count_for(image_size, chunk_size))
		return 0;
	off = (uint64_t)index * chunk_size;
	left = image_size - off;
	return left < chunk_size ? (uint32_t)left : chunk_size;
}

/* Fills buf with up to want bytes, retrying short reads; returns bytes read or -1. */
static ssize_t read_full(int fd, uint8_t *buf, size_t want)
{
	size_t got = 0;

	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);

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

fota_err fota_chunk_table_build_file(const char *path, uint32_t chunk_size,
				     struct fota_chunk_table *out, uint8_t image_sha256[32],
				     uint64_t *image_size, struct fota_error *err)
{
	struct fota_sha256_ctx *whole = NULL;
	uint8_t(*hashes)[FOTA_SHA256_LEN] = NULL;
	uint8_t *buf = NULL;
	uint32_t count = 0, cap = 0;
	uint64_t size = 0;
	int fd = -1;
	fota_err rc;

	if (chunk_size < FOTA_MIN_CHUNK_SIZE || chunk_size > FOTA_MAX_CHUNK_SIZE) {
		rc = fota_error_set(err, FOTA_ERR_INVAL, "chunk size %u outside %u..%u", chunk_size,
				    FOTA_MIN_CHUNK_SIZE, FOTA_MAX_CHUNK_SIZE);
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = fota_error_set(err, errno == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO,
				    "cannot open image %s: %s", path, strerror(errno));
		goto out;
	}
	buf = malloc(chunk_size);
	whole = fota_sha256_new();
	if (buf == NULL || whole == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory to hash %s", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read_full(fd, buf, chunk_size);

		if (n < 0) {
			rc = fota_error_set(err, FOTA_ERR_IO, "cannot read image %s: %s", path,
					    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (count == FOTA_MAX_CHUNK_COUNT || size + (uint64_t)n > FOTA_MAX_IMAGE_SIZE) {
			rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
					    "image %s exceeds %u chunks of %u bytes or %llu bytes",
					    path, FOTA_MAX_CHUNK_COUNT, chunk_size,
					    (unsigned long long)FOTA_MAX_IMAGE_SIZE);
			goto out;
		}
		if (count == cap) {
			uint32_t ncap = cap ? cap * 2 : 64;
			void *p;

			if (ncap > FOTA_MAX_CHUNK_COUNT)
				ncap = FOTA_MAX_CHUNK_COUNT;
			p = realloc(hashes, (size_t)ncap * FOTA_SHA256_LEN);
			if (p == NULL) {
				rc = fota_error_set(err, FOTA_ERR_NOMEM,
						    "no memory for chunk table");
				goto out;
			}
			hashes = p;
			cap = ncap;
		}
		fota_sha256(buf, (size_t)n, hashes[count]);
		fota_sha256_update(whole, buf, (size_t)n);
		count++;
		size += (uint64_t)n;
		if ((size_t)n < chunk_size)
			break; /* only the last chunk may be short */
	}
	if (count == 0) {
		rc = fota_error_set(err, FOTA_ERR_INVAL, "image %s is empty", path);
		goto out;
	}
	fota_sha256_final(whole, image_sha256);
	/* out may be uninitialised, so it is overwritten, never freed here. */
	out->count = count;
	out->hashes = hashes;
	hashes = NULL;
	*image_size = size;
	rc = FOTA_OK;
out:
	if (fd >= 0)
		close(fd);
	free(hashes);
	free(buf);
	fota_sha256_free(whole);
	return rc;
}

fota_err fota_chunk_table_from_bytes(const uint8_t *buf, size_t len, uint32_t expected_count,
				     const uint8_t expected_digest[32],
				     struct fota_chunk_table *out, struct fota_error *err)
{
	uint8_t digest[FOTA_SHA256_LEN];
	void *copy;

	if (expected_count == 0 || expected_count > FOTA_MAX_CHUNK_COUNT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "chunk table rejected: count %u outside 1..%u",
				      expected_count, FOTA_MAX_CHUNK_COUNT);
	if (buf == NULL || len != (size_t)expected_count * FOTA_SHA256_LEN)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "chunk table rejected: %zu bytes, expected %u * 32 = %zu",
				      buf == NULL ? (size_t)0 : len, expected_count,
				      (size_t)expected_count * FOTA_SHA256_LEN);
	fota_sha256(buf, len, digest);
	if (!fota_digest_equal(digest, expected_digest, FOTA_SHA256_LEN))
		return fota_error_set(err, FOTA_ERR_DIGEST,
				      "chunk table rejected: its SHA-256 does not match the signed "
				      "table digest");
	copy = malloc(len);
	if (copy == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for a %zu-byte chunk table",
				      len);
	memcpy(copy, buf, len);
	out->count = expected_count;
	out->hashes = copy;
	return FOTA_OK;
}

void fota_chunk_table_digest(const struct fota_chunk_table *t, uint8_t out[32])
{
	fota_sha256(t->count ? (const void *)t->hashes : "", (size_t)t->count * FOTA_SHA256_LEN,
		    out);
}

bool fota_chunk_table_check(const struct fota_chunk_table *t, uint32_t index, const uint8_t *data,
			    size_t len)
{
	uint8_t digest[FOTA_SHA256_LEN];

	if (t == NULL || t->hashes == NULL || index >= t->count || (data == NULL && len != 0))
		return false;
	fota_sha256(len ? (const void *)data : "", len, digest);
	return fota_digest_equal(digest, t->hashes[index], FOTA_SHA256_LEN);
}

void fota_chunk_table_clear(struct fota_chunk_table *t)
{
	if (t == NULL)
		return;
	free(t->hashes);
	t->hashes = NULL;
	t->count = 0;
}
