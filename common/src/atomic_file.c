/* SPDX-License-Identifier: Apache-2.0 */
/* Durable file replacement and bounded reads for the small state files both sides keep. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/atomic_file.h"

/* Temp names must be unique across threads and processes sharing a directory. */
static atomic_ulong tmp_counter;

static fota_err io_error(struct fota_error *err, const char *what, const char *path)
{
	int e = errno;

	return fota_error_set(err, e == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO, "%s %s: %s",
			      what, path, strerror(e));
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_retry(int fd)
{
	int r;

	do {
		r = fsync(fd);
	} while (r != 0 && errno == EINTR);
	return r;
}

fota_err fota_fsync_parent(const char *path, struct fota_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	fota_err rc = FOTA_OK;
	int fd = -1;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the directory of %s",
				      path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = io_error(err, "cannot open directory", dir);
		goto out;
	}
	/* Some file systems cannot sync a directory; they say EINVAL, and there is nothing to do.
	 */
	if (fsync_retry(fd) != 0 && errno != EINVAL)
		rc = io_error(err, "cannot fsync directory", dir);
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

fota_err fota_atomic_commit(const char *tmp_path, const char *final_path, struct fota_error *err)
{
	int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return io_error(err, "cannot open", tmp_path);
	if (fsync_retry(fd) != 0) {
		fota_err rc = io_error(err, "cannot fsync", tmp_path);

		close(fd);
		return rc;
	}
	close(fd);
	if (rename(tmp_path, final_path) != 0) {
		int e = errno;

		return fota_error_set(err, FOTA_ERR_IO, "cannot rename %s to %s: %s", tmp_path,
				      final_path, strerror(e));
	}
	return fota_fsync_parent(final_path, err);
}

fota_err fota_atomic_write(const char *path, const void *data, size_t len, mode_t mode,
			   struct fota_error *err)
{
	char *tmp = NULL;
	size_t tmp_size;
	fota_err rc;
	int fd = -1;

	if (path == NULL || (data == NULL && len != 0))
		return fota_error_set(err, FOTA_ERR_INVAL, "atomic write: no path or data");
	tmp_size = strlen(path) + 64;
	tmp = malloc(tmp_size);
	if (tmp == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for a temp name of %s", path);
	/* O_EXCL refuses a stale temp left by a crashed writer; try a few fresh names. */
	for (int attempt = 0; attempt < 16; attempt++) {
		snprintf(tmp, tmp_size, "%s.tmp.%ld.%lu", path, (long)getpid(),
			 (unsigned long)atomic_fetch_add(&tmp_counter, 1));
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = io_error(err, "cannot create", tmp);
		goto out;
	}
	if (write_all(fd, data, len) != 0) {
		rc = io_error(err, "cannot write", tmp);
		goto out_unlink;
	}
	if (fsync_retry(fd) != 0) {
		rc = io_error(err, "cannot fsync", tmp);
		goto out_unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = io_error(err, "cannot close", tmp);
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		int e = errno;

		rc = fota_error_set(err, FOTA_ERR_IO, "cannot rename %s to %s: %s", tmp, path,
				    strerror(e));
		goto out_unlink;
	}
	rc = fota_fsync_parent(path, err);
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rc;
}

fota_err fota_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
			struct fota_error *err)
{
	uint8_t *buf = NULL;
	size_t cap, got = 0;
	struct stat st;
	fota_err rc;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_error(err, "cannot open", path);
	if (fstat(fd, &st) != 0) {
		rc = io_error(err, "cannot stat", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = fota_error_set(err, FOTA_ERR_IO, "cannot read %s: is a directory", path);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "%s is %lld bytes, limit %zu", path,
				    (long long)st.st_size, max);
		goto out;
	}
	/* Size the buffer from stat, but trust only what read() returns: the file may change. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size : 4096;
	if (cap > max)
		cap = max;
	cap += 1;
	buf = malloc(cap + 1);
	if (buf == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory to read %s", path);
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (got == cap) {
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			uint8_t *p;

			if (ncap == cap) {
				rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
						    "%s is longer than the limit of %zu bytes",
						    path, max);
				goto out;
			}
			p = realloc(buf, ncap + 1);
			if (p == NULL) {
				rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory to read %s",
						    path);
				goto out;
			}
			buf = p;
			cap = ncap;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = io_error(err, "cannot read", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
				    "%s is longer than the limit of %zu bytes", path, max);
		goto out;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = FOTA_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

fota_err fota_move_aside(const char *path, struct fota_error *err)
{
	size_t n = strlen(path) + sizeof(".broken");
	char *broken = malloc(n);
	fota_err rc;

	if (broken == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory to move %s aside", path);
	snprintf(broken, n, "%s.broken", path);
	if (rename(path, broken) != 0) {
		int e = errno;

		rc = fota_error_set(err, e == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO,
				    "cannot move %s aside to %s: %s", path, broken, strerror(e));
		goto out;
	}
	rc = fota_fsync_parent(path, err);
out:
	free(broken);
	return rc;
}

fota_err fota_mkdirs(const char *path, mode_t mode, struct fota_error *err)
{
	struct stat st;
	char *copy;
	fota_err rc = FOTA_OK;

	if (path == NULL || path[0] == '\0')
		return fota_error_set(err, FOTA_ERR_INVAL, "mkdirs: empty path");
	copy = strdup(path);
	if (copy == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for %s", path);
	/* Walk each prefix ending before a '/', then the whole path. */
	for (char *p = copy + 1;; p++) {
		char saved = *p;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) == 0) {
			/* A new directory's entry lives in its parent: sync the parent, or a power
			 * cut can lose the directory with every file synced into it later. */
			rc = fota_fsync_parent(copy, err);
			if (rc != FOTA_OK)
				goto out;
		} else {
			int e = errno;

			if (e != EEXIST) {
				rc = fota_error_set(err, FOTA_ERR_IO,
						    "cannot create directory %s: %s", copy,
						    strerror(e));
				goto out;
			}
			if (stat(copy, &st) != 0 || !S_ISDIR(st.st_mode)) {
				rc = fota_error_set(err, FOTA_ERR_IO,
						    "cannot create directory %s: exists and is not "
						    "a directory",
						    copy);
				goto out;
			}
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
out:
	free(copy);
	return rc;
}
