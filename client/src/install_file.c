/* SPDX-License-Identifier: Apache-2.0 */
/* The "file" install backend: atomic replacement of one file, previous version kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* The new file takes the target's owner and mode: the download is private (0600) while the
 * file it replaces may be an executable or read by another user. chown before chmod, since
 * chown clears set-id bits. */
static fota_err take_attributes(const char *tmp, const char *target, struct fota_error *err)
{
	struct stat want, have;

	if (stat(target, &want) != 0) {
		if (errno == ENOENT)
			return FOTA_OK; /* first install: the download's own mode */
		return fota_error_set(err, FOTA_ERR_IO, "install: cannot stat %s: %s", target,
				      strerror(errno));
	}
	if (stat(tmp, &have) != 0)
		return fota_error_set(err, FOTA_ERR_IO, "install: cannot stat %s: %s", tmp,
				      strerror(errno));
	if ((have.st_uid != want.st_uid || have.st_gid != want.st_gid) &&
	    chown(tmp, want.st_uid, want.st_gid) != 0)
		return fota_error_set(err, FOTA_ERR_IO,
				      "install: cannot give %s the owner %lu:%lu of %s: %s", tmp,
				      (unsigned long)want.st_uid, (unsigned long)want.st_gid,
				      target, strerror(errno));
	if (chmod(tmp, want.st_mode & 07777) != 0)
		return fota_error_set(err, FOTA_ERR_IO,
				      "install: cannot give %s the mode %04o of %s: %s", tmp,
				      (unsigned)(want.st_mode & 07777), target, strerror(errno));
	return FOTA_OK;
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
	rc = take_attributes(tmp, target, err);
	/* fsync(tmp), rename over target, fsync the directory: old or new, never a mix. */
	if (rc == FOTA_OK)
		rc = fota_atomic_commit(tmp, target, err);
	if (rc != FOTA_OK)
		unlink(tmp);
	return rc;
}
