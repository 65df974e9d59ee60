/* SPDX-License-Identifier: Apache-2.0 */
/* The "ab-slot" install backend: verify the image in the inactive slot, then arm a trial boot. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/digest.h"
#include "installer.h"

static fota_err slot_size(int fd, const char *path, uint64_t *size, struct fota_error *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return fota_error_set(err, FOTA_ERR_IO, "slot %.128s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) != 0)
			return fota_error_set(err, FOTA_ERR_IO, "slot %.128s: size: %s", path,
					      strerror(errno));
		return FOTA_OK;
	}
	if (!S_ISREG(st.st_mode))
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "slot %.128s is neither a block device nor a file", path);
	*size = (uint64_t)st.st_size;
	return FOTA_OK;
}

/* Hashes the first size bytes of the slot after making them durable. */
static fota_err hash_slot(const char *path, uint64_t size, uint8_t out[FOTA_SHA256_LEN],
			  struct fota_error *err)
{
	struct fota_sha256_ctx *ctx = NULL;
	uint8_t *buf = NULL;
	uint64_t have = 0, done = 0;
	fota_err rc = FOTA_OK;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fota_error_set(err, errno == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO,
				      "slot %.128s: %s", path, strerror(errno));
	rc = slot_size(fd, path, &have, err);
	if (rc != FOTA_OK)
		goto out;
	if (have < size) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
				    "slot %.128s holds %llu bytes, the image has %llu", path,
				    (unsigned long long)have, (unsigned long long)size);
		goto out;
	}
	/* The transfer synced as it went; this is the barrier for whatever the last sync
	 * left, and dropping the cached pages makes the hash read what the medium holds. */
	if (fsync(fd) != 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "slot %.128s: fsync: %s", path,
				    strerror(errno));
		goto out;
	}
	posix_fadvise(fd, 0, (off_t)size, POSIX_FADV_DONTNEED);
	ctx = fota_sha256_new();
	buf = malloc(1u << 16);
	if (ctx == NULL || buf == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "slot %.128s: out of memory", path);
		goto out;
	}
	while (done < size) {
		size_t want = size - done < (1u << 16) ? (size_t)(size - done) : (1u << 16);
		ssize_t r = pread(fd, buf, want, (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = fota_error_set(err, FOTA_ERR_IO, "slot %.128s: read at %llu: %s", path,
					    (unsigned long long)done,
					    r == 0 ? "unexpected end" : strerror(errno));
			goto out;
		}
		fota_sha256_update(ctx, buf, (size_t)r);
		done += (uint64_t)r;
	}
	fota_sha256_final(ctx, out);
out:
	fota_sha256_free(ctx);
	free(buf);
	close(fd);
	return rc;
}

fota_err install_slot(const struct fota_manifest *m, const char *slot_path, struct bootctl *bc,
		      enum bootctl_slot slot, struct fota_error *err)
{
	uint8_t got[FOTA_SHA256_LEN];
	char want_hex[FOTA_SHA256_HEX_LEN + 1], got_hex[FOTA_SHA256_HEX_LEN + 1];
	fota_err rc;

	rc = hash_slot(slot_path, fota_manifest_image_size(m), got, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "install ab-slot");
		return rc;
	}
	if (!fota_digest_equal(got, fota_manifest_image_sha256(m), FOTA_SHA256_LEN)) {
		fota_hex_encode(fota_manifest_image_sha256(m), 8, want_hex);
		fota_hex_encode(got, 8, got_hex);
		return fota_error_set(err, FOTA_ERR_DIGEST,
				      "install ab-slot: slot %s (%.96s) SHA-256 %s... != manifest "
				      "%s...: not switching",
				      bootctl_slot_name(slot), slot_path, got_hex, want_hex);
	}
	rc = bootctl_try_slot(bc, slot, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "install ab-slot");
		return rc;
	}
	return FOTA_OK;
}
