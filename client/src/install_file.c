/* SPDX-License-Identifier: Apache-2.0 */
/* The "file" install backend: atomic replacement of one file, previous version kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/atomic_file.h"
#include "installer.h"

static fota_err copy_file(const char *from, const char *to, struct fota_error *err)
{
	char buf[64 * 1024];
	int in = -1, out = -1;
	fota_err rc = FOTA_OK;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "install: cannot open %s: %s",
				    in < 0 ? from : to, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = fota_error_set(err, FOTA_ERR_IO, "install: read %s: %s", from,
					    strerror(errno));
			goto out;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc =
				    fota_error_set(err, errno == ENOSPC ? FOTA_ERR_IO : FOTA_ERR_IO,
						   "install: write %s: %s", to, strerror(errno));
				goto out;
			}
			off += w;
		}
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

fota_err install_file(const char *staged, const char *target, struct fota_error *err)
{
	char prev[4096], tmp[4096];
	fota_err rc;

	if (snprintf(prev, sizeof(prev), "%s.prev", target) >= (int)sizeof(prev) ||
	    snprintf(tmp, sizeof(tmp), "%s.new", target) >= (int)sizeof(tmp))
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "install: target path too long");
	/* Keep the running version for rollback: a hard link costs no copy. */
	unlink(prev);
	if (link(target, prev) != 0 && errno != ENOENT)
		return fota_error_set(err, FOTA_ERR_IO, "install: cannot keep %s as %s: %s", target,
				      prev, strerror(errno));
	if (rename(staged, tmp) != 0) {
		if (errno != EXDEV)
			return fota_error_set(err, FOTA_ERR_IO, "install: cannot move %s: %s",
					      staged, strerror(errno));
		rc = copy_file(staged, tmp, err);
		if (rc != FOTA_OK) {
			unlink(tmp);
			return rc;
		}
		unlink(staged);
	}
	/* fsync(tmp), rename over target, fsync the directory: old or new, never a mix. */
	rc = fota_atomic_commit(tmp, target, err);
	if (rc != FOTA_OK)
		unlink(tmp);
	return rc;
}
