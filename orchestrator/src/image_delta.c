/* SPDX-License-Identifier: Apache-2.0 */
/* `image add --delta-from`: base image from the store, delta payload (zstd streams inside). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "fota/atomic_file.h"
#include "fota/digest.h"

#include "delta_make.h"
#include "image_delta.h"
#include "image_store.h"

/* The image a stored image's payload decodes to, checked against its signed digest. */
static fota_err load_base(const struct orch_image *img, uint8_t **out, size_t *len,
			  struct fota_error *err)
{
	const struct fota_manifest *m = &img->manifest;
	uint64_t size = fota_manifest_image_size(m);
	uint8_t got[FOTA_SHA256_LEN];
	char path[PATH_MAX + 16];
	uint8_t *payload = NULL, *image = NULL;
	size_t plen = 0;
	fota_err rc;

	*out = NULL;
	if (m->has_delta_base)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "--delta-from %s: that is a delta payload, not an image",
				      img->id);
	if (m->encryption != FOTA_ENCRYPTION_NONE)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "--delta-from %s: that image is stored encrypted, and the "
				      "store keeps no plaintext to make a delta from",
				      img->id);
	if (size > ORCH_DELTA_MAX_BASE)
		return fota_error_set(
		    err, FOTA_ERR_TOO_BIG,
		    "--delta-from %s: image of %llu bytes, deltas take up to %llu", img->id,
		    (unsigned long long)size, (unsigned long long)ORCH_DELTA_MAX_BASE);
	snprintf(path, sizeof(path), "%s/image.bin", img->dir);
	rc = fota_read_file(path, (size_t)m->size, &payload, &plen, err);
	if (rc != FOTA_OK)
		return rc;
	if (m->compression == FOTA_COMPRESSION_ZSTD) {
		size_t n;

		image = malloc(size ? (size_t)size : 1);
		if (image == NULL) {
			free(payload);
			return fota_error_set(err, FOTA_ERR_NOMEM, "--delta-from: out of memory");
		}
		n = ZSTD_decompress(image, (size_t)size, payload, plen);
		free(payload);
		if (ZSTD_isError(n) || n != size) {
			free(image);
			return fota_error_set(err, FOTA_ERR_DIGEST,
					      "--delta-from %s: its payload does not decode to its "
					      "image",
					      img->id);
		}
	} else {
		image = payload;
	}
	fota_sha256(image, (size_t)size, got);
	if (!fota_digest_equal(got, fota_manifest_image_sha256(m), FOTA_SHA256_LEN)) {
		free(image);
		return fota_error_set(err, FOTA_ERR_DIGEST,
				      "--delta-from %s: the stored image does not match its digest",
				      img->id);
	}
	*out = image;
	*len = (size_t)size;
	return FOTA_OK;
}

/* The delta payload from old to new_file into dst (a new file, mode 0600); fills d but for
 * size, sha256 and table. */
static fota_err make_payload(const uint8_t *old, size_t old_len, const char *new_file,
			     const char *dst, struct fota_manifest_delta *d, struct fota_error *err)
{
	uint8_t *new_ = NULL;
	size_t new_len = 0;
	FILE *f;
	int fd;
	fota_err rc = fota_read_file(new_file, (size_t)ORCH_DELTA_MAX_BASE, &new_, &new_len, err);

	if (rc != FOTA_OK)
		return rc;
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "we") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		free(new_);
		return fota_error_set(err, FOTA_ERR_IO, "--delta-from: cannot create %s", dst);
	}
	rc = orch_delta_make(old, old_len, new_, new_len, ORCH_DELTA_ZSTD_LEVEL, f, err);
	if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && rc == FOTA_OK)
		rc = fota_error_set(err, FOTA_ERR_IO, "--delta-from: cannot write %s", dst);
	if (fclose(f) != 0 && rc == FOTA_OK)
		rc = fota_error_set(err, FOTA_ERR_IO, "--delta-from: cannot write %s", dst);
	if (rc != FOTA_OK)
		unlink(dst);
	free(new_);
	if (rc != FOTA_OK)
		return rc;
	d->from_size = old_len;
	d->compression = FOTA_COMPRESSION_ZSTD;
	return FOTA_OK;
}

fota_err orch_delta_payload(const struct orch_config *cfg, const char *old_id, const char *new_file,
			    const char *dst, struct fota_manifest_delta *d, struct fota_error *err)
{
	struct orch_image *img = NULL;
	uint8_t *old = NULL;
	size_t old_len = 0;
	fota_err rc;

	rc = orch_image_open(cfg, old_id, &img, err);
	if (rc == FOTA_OK)
		rc = load_base(img, &old, &old_len, err);
	if (rc == FOTA_OK)
		rc = make_payload(old, old_len, new_file, dst, d, err);
	if (rc == FOTA_OK)
		memcpy(d->from_sha256, fota_manifest_image_sha256(&img->manifest), FOTA_SHA256_LEN);
	else
		fota_error_prefix(err, "delta");
	free(old);
	orch_image_free(img);
	return rc;
}

fota_err orch_delta_payload_file(const char *base_file, const char *new_file, const char *dst,
				 struct fota_manifest_delta *d, struct fota_error *err)
{
	uint8_t *old = NULL;
	size_t old_len = 0;
	fota_err rc = fota_read_file(base_file, (size_t)ORCH_DELTA_MAX_BASE, &old, &old_len, err);

	if (rc == FOTA_OK && old_len == 0)
		rc = fota_error_set(err, FOTA_ERR_FIELD, "--delta-from %s is empty", base_file);
	if (rc == FOTA_OK)
		rc = make_payload(old, old_len, new_file, dst, d, err);
	if (rc == FOTA_OK)
		fota_sha256(old, old_len, d->from_sha256);
	else
		fota_error_prefix(err, "delta");
	free(old);
	return rc;
}
