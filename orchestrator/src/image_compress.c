/* SPDX-License-Identifier: Apache-2.0 */
/* zstd payloads for `image add --compress`, streaming, with the device's window limit. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "fota/limits.h"
#include "image_compress.h"

#define BLOCK (1u << 20)

fota_err orch_compress_parse(const char *arg, int *level, struct fota_error *err)
{
	char *end = NULL;
	long v;

	if (strcmp(arg, "zstd") == 0) {
		*level = ORCH_ZSTD_DEFAULT_LEVEL;
		return FOTA_OK;
	}
	if (strncmp(arg, "zstd:", 5) != 0)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "--compress '%s' is not zstd or zstd:LEVEL", arg);
	errno = 0;
	v = strtol(arg + 5, &end, 10);
	if (arg[5] < '0' || arg[5] > '9' || errno != 0 || *end != '\0' || v < 1 ||
	    v > ZSTD_maxCLevel())
		return fota_error_set(err, FOTA_ERR_FIELD, "--compress '%s': level is not 1..%d",
				      arg, ZSTD_maxCLevel());
	*level = (int)v;
	return FOTA_OK;
}

static fota_err write_all(int fd, const void *p, size_t len, const char *path,
			  struct fota_error *err)
{
	const uint8_t *b = p;

	while (len > 0) {
		ssize_t w = write(fd, b, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fota_error_set(err, FOTA_ERR_IO, "compress: write %s: %s", path,
					      w < 0 ? strerror(errno) : "no progress");
		b += w;
		len -= (size_t)w;
	}
	return FOTA_OK;
}

/* The compression parameters: level, the content size in the frame header, no zstd checksum
 * (the manifest signs SHA-256 digests), and the window capped at the device's limit. Levels up
 * to 19 use at most 2^23 by zstd's own tables; the "ultra" levels 20..22 would use up to 2^27,
 * so their window is set to the limit. */
static fota_err setup(ZSTD_CCtx *cctx, int level, uint64_t size, struct fota_error *err)
{
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
	    (level > 19 && ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog,
							       FOTA_ZSTD_MAX_WINDOW_LOG))) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0)) ||
	    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, size)))
		return fota_error_set(err, FOTA_ERR_INVAL, "compress: zstd level %d refused",
				      level);
	return FOTA_OK;
}

fota_err orch_compress_zstd(const char *src, const char *dst, int level, uint64_t *size,
			    uint8_t sha256[FOTA_SHA256_LEN], struct fota_error *err)
{
	struct fota_sha256_ctx *sha = fota_sha256_new();
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	uint8_t *in = malloc(BLOCK), *out = malloc(BLOCK);
	int ifd = -1, ofd = -1;
	uint64_t done = 0;
	struct stat st;
	fota_err rc = FOTA_OK;

	if (sha == NULL || cctx == NULL || in == NULL || out == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "compress: out of memory");
		goto out;
	}
	ifd = open(src, O_RDONLY | O_CLOEXEC);
	if (ifd < 0 || fstat(ifd, &st) != 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "compress: %s: %s", src, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > FOTA_MAX_IMAGE_SIZE) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "compress: %s is not a regular file of 1..%llu bytes", src,
				    FOTA_MAX_IMAGE_SIZE);
		goto out;
	}
	rc = setup(cctx, level, (uint64_t)st.st_size, err);
	if (rc != FOTA_OK)
		goto out;
	ofd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (ofd < 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "compress: %s: %s", dst, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(ifd, in, BLOCK);
		ZSTD_EndDirective mode;
		ZSTD_inBuffer ib;
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fota_error_set(err, FOTA_ERR_IO, "compress: read %s: %s", src,
					    strerror(errno));
			goto out;
		}
		fota_sha256_update(sha, in, (size_t)n);
		done += (uint64_t)n;
		mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
		ib = (ZSTD_inBuffer){in, (size_t)n, 0};
		do {
			ZSTD_outBuffer ob = {out, BLOCK, 0};

			left = ZSTD_compressStream2(cctx, &ob, &ib, mode);
			if (ZSTD_isError(left)) {
				rc = fota_error_set(err, FOTA_ERR_IO, "compress: zstd: %s",
						    ZSTD_getErrorName(left));
				goto out;
			}
			rc = write_all(ofd, out, ob.pos, dst, err);
			if (rc != FOTA_OK)
				goto out;
		} while (mode == ZSTD_e_end ? left != 0 : ib.pos < ib.size);
		if (n == 0)
			break;
	}
	if (done != (uint64_t)st.st_size) {
		rc =
		    fota_error_set(err, FOTA_ERR_IO, "compress: %s changed while it was read", src);
		goto out;
	}
	if (fsync(ofd) != 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "compress: fsync %s: %s", dst,
				    strerror(errno));
		goto out;
	}
	*size = done;
	fota_sha256_final(sha, sha256);
out:
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0)
		close(ofd);
	if (rc != FOTA_OK && ofd >= 0)
		unlink(dst);
	free(in);
	free(out);
	ZSTD_freeCCtx(cctx);
	fota_sha256_free(sha);
	return rc;
}
