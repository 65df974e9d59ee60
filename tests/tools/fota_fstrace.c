/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LD_PRELOAD shim that records every file-system call which changes what a power cut could
 * leave on disk: creations, writes, truncations, fsync/fdatasync, renames, links, unlinks,
 * directory changes, sync. Only paths under FOTA_FSTRACE_ROOT are recorded; records go to
 * FOTA_FSTRACE_LOG (crash_trace.h). fota_crashsim replays the log into the file states a real
 * power loss could produce, which kill -9 never does (the page cache survives a killed process).
 *
 * Calls made inside libc (fopen/fwrite) do not pass through the PLT and are not seen; the agent
 * and fw_setenv write state with plain open/write/pwrite, which are.
 */
/* The shim defines open and open64 (pwrite and pwrite64, ...) itself: the headers must not
 * rename the plain names onto the 64-bit ones, as the project-wide _FILE_OFFSET_BITS=64 does. */
#undef _FILE_OFFSET_BITS
#undef _TIME_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crash_trace.h"

#define TRACE_MAX_FD 4096

static char trace_root[PATH_MAX];
static size_t trace_root_len;
static int trace_log = -1;
static char *fd_path[TRACE_MAX_FD]; /* relative path of each traced open fd */

#define REAL(ret, name, ...)                                                                       \
	static ret (*real_##name)(__VA_ARGS__);                                                    \
	if (!real_##name)                                                                          \
	*(void **)&real_##name = dlsym(RTLD_NEXT, #name)

/* abs_path: path made absolute against dirfd (AT_FDCWD or a traced directory fd). */
static bool abs_path(int dirfd, const char *path, char *out, size_t cap)
{
	char base[PATH_MAX], link[64];
	ssize_t n;

	if (!path)
		return false;
	if (path[0] == '/')
		return (size_t)snprintf(out, cap, "%s", path) < cap;
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			return false;
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = readlink(link, base, sizeof(base) - 1);
		if (n < 0)
			return false;
		base[n] = '\0';
	}
	return (size_t)snprintf(out, cap, "%s/%s", base, path) < cap;
}

/* rel_path: the path relative to the traced root, or NULL when outside it. */
static const char *rel_path(int dirfd, const char *path, char *buf, size_t cap)
{
	char abs[PATH_MAX];

	if (trace_log < 0 || !abs_path(dirfd, path, abs, sizeof(abs)))
		return NULL;
	if (strncmp(abs, trace_root, trace_root_len) != 0)
		return NULL;
	if (abs[trace_root_len] == '\0')
		return ".";
	if (abs[trace_root_len] != '/')
		return NULL;
	snprintf(buf, cap, "%s", abs + trace_root_len + 1);
	return buf;
}

__attribute__((constructor)) static void trace_init(void)
{
	const char *root = getenv("FOTA_FSTRACE_ROOT"), *log = getenv("FOTA_FSTRACE_LOG");
	char *r;

	if (!root || !log)
		return;
	r = realpath(root, NULL);
	if (!r)
		return;
	snprintf(trace_root, sizeof(trace_root), "%s", r);
	free(r);
	trace_root_len = strlen(trace_root);
	REAL(int, open, const char *, int, ...);
	trace_log = real_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* emit: one record with its paths and data in a single append. */
static void emit(enum crash_op op, const char *p1, const char *p2, uint32_t mode, uint64_t off,
		 const void *data, uint64_t len)
{
	struct crash_rec h = {.magic = CRASH_TRACE_MAGIC,
			      .op = (uint16_t)op,
			      .mode = mode,
			      .off = off,
			      .len = data ? len : 0,
			      .pid = (int32_t)getpid()};
	size_t l1 = p1 ? strlen(p1) : 0, l2 = p2 ? strlen(p2) : 0, total;
	struct iovec iov[4];
	int saved = errno;

	h.path_len = (uint16_t)l1;
	h.path2_len = (uint16_t)l2;
	total = sizeof(h) + l1 + l2 + h.len;
	iov[0] = (struct iovec){&h, sizeof(h)};
	iov[1] = (struct iovec){(void *)p1, l1};
	iov[2] = (struct iovec){(void *)p2, l2};
	iov[3] = (struct iovec){(void *)data, h.len};
	REAL(ssize_t, writev, int, const struct iovec *, int);
	if (real_writev(trace_log, iov, 4) != (ssize_t)total) {
		fprintf(stderr, "fota_fstrace: trace record lost: %s\n", strerror(errno));
		abort(); /* a hole in the trace would make every later crash state a lie */
	}
	errno = saved;
}

static void remember_fd(int fd, const char *rel)
{
	if (fd < 0 || fd >= TRACE_MAX_FD)
		return;
	free(fd_path[fd]);
	fd_path[fd] = rel ? strdup(rel) : NULL;
}

static const char *traced_fd(int fd)
{
	return (trace_log >= 0 && fd >= 0 && fd < TRACE_MAX_FD) ? fd_path[fd] : NULL;
}

static int traced_open(int dirfd, const char *path, int flags, mode_t mode, int fd_real_result,
		       bool existed)
{
	char buf[PATH_MAX];
	const char *rel;

	if (fd_real_result < 0)
		return fd_real_result;
	rel = rel_path(dirfd, path, buf, sizeof(buf));
	remember_fd(fd_real_result, rel);
	if (!rel)
		return fd_real_result;
	if ((flags & O_CREAT) && !existed)
		emit(CRASH_OP_CREATE, rel, NULL, mode & 07777, 0, NULL, 0);
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
		emit(CRASH_OP_TRUNCATE, rel, NULL, 0, 0, NULL, 0);
	return fd_real_result;
}

static bool exists_at(int dirfd, const char *path)
{
	struct stat st;

	return fstatat(dirfd, path, &st, 0) == 0;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	bool existed = exists_at(AT_FDCWD, path);

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	REAL(int, open, const char *, int, ...);
	return traced_open(AT_FDCWD, path, flags, mode, real_open(path, flags, mode), existed);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	bool existed = exists_at(AT_FDCWD, path);

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	REAL(int, open64, const char *, int, ...);
	return traced_open(AT_FDCWD, path, flags, mode, real_open64(path, flags, mode), existed);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	bool existed = exists_at(dirfd, path);

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	REAL(int, openat, int, const char *, int, ...);
	return traced_open(dirfd, path, flags, mode, real_openat(dirfd, path, flags, mode),
			   existed);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	bool existed = exists_at(dirfd, path);

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	REAL(int, openat64, int, const char *, int, ...);
	return traced_open(dirfd, path, flags, mode, real_openat64(dirfd, path, flags, mode),
			   existed);
}

int creat(const char *path, mode_t mode)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int close(int fd)
{
	REAL(int, close, int);
	if (fd >= 0 && fd < TRACE_MAX_FD) {
		free(fd_path[fd]);
		fd_path[fd] = NULL;
	}
	return real_close(fd);
}

static void traced_write(int fd, off_t off, const void *buf, ssize_t n)
{
	const char *rel = traced_fd(fd);

	if (rel && n > 0)
		emit(CRASH_OP_WRITE, rel, NULL, 0, (uint64_t)off, buf, (uint64_t)n);
}

ssize_t write(int fd, const void *buf, size_t count)
{
	ssize_t n;

	REAL(ssize_t, write, int, const void *, size_t);
	n = real_write(fd, buf, count);
	/* The offset after the call minus what was written also covers O_APPEND. */
	if (n > 0 && traced_fd(fd))
		traced_write(fd, lseek(fd, 0, SEEK_CUR) - n, buf, n);
	return n;
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
	ssize_t n;

	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
	n = real_pwrite(fd, buf, count, off);
	traced_write(fd, off, buf, n);
	return n;
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off)
{
	ssize_t n;

	REAL(ssize_t, pwrite64, int, const void *, size_t, off_t);
	n = real_pwrite64(fd, buf, count, off);
	traced_write(fd, off, buf, n);
	return n;
}

int ftruncate(int fd, off_t len)
{
	int r;

	REAL(int, ftruncate, int, off_t);
	r = real_ftruncate(fd, len);
	if (r == 0 && traced_fd(fd))
		emit(CRASH_OP_TRUNCATE, traced_fd(fd), NULL, 0, (uint64_t)len, NULL, 0);
	return r;
}

int ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

int fsync(int fd)
{
	int r;

	REAL(int, fsync, int);
	r = real_fsync(fd);
	if (r == 0 && traced_fd(fd))
		emit(CRASH_OP_FSYNC, traced_fd(fd), NULL, 0, 0, NULL, 0);
	return r;
}

int fdatasync(int fd)
{
	int r;

	REAL(int, fdatasync, int);
	r = real_fdatasync(fd);
	if (r == 0 && traced_fd(fd))
		emit(CRASH_OP_FSYNC, traced_fd(fd), NULL, 0, 0, NULL, 0);
	return r;
}

void sync(void)
{
	REAL(void, sync, void);
	real_sync();
	if (trace_log >= 0)
		emit(CRASH_OP_SYNC, NULL, NULL, 0, 0, NULL, 0);
}

int syncfs(int fd)
{
	int r;

	REAL(int, syncfs, int);
	r = real_syncfs(fd);
	if (r == 0 && trace_log >= 0)
		emit(CRASH_OP_SYNC, NULL, NULL, 0, 0, NULL, 0);
	return r;
}

static void traced_pair(enum crash_op op, int r, int d1, const char *p1, int d2, const char *p2)
{
	char b1[PATH_MAX], b2[PATH_MAX];
	const char *r1, *r2;

	if (r != 0)
		return;
	r1 = rel_path(d1, p1, b1, sizeof(b1));
	r2 = rel_path(d2, p2, b2, sizeof(b2));
	if (r1 && r2)
		emit(op, r1, r2, 0, 0, NULL, 0);
	else if (r2 && op == CRASH_OP_RENAME)
		/* Moved in from outside the traced tree: not modelled, say so loudly. */
		fprintf(stderr, "fota_fstrace: rename into the traced tree from outside: %s\n", p1);
	else if (r1 && op == CRASH_OP_RENAME)
		emit(CRASH_OP_UNLINK, r1, NULL, 0, 0, NULL, 0);
}

int rename(const char *from, const char *to)
{
	REAL(int, rename, const char *, const char *);
	int r = real_rename(from, to);

	traced_pair(CRASH_OP_RENAME, r, AT_FDCWD, from, AT_FDCWD, to);
	return r;
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
	REAL(int, renameat, int, const char *, int, const char *);
	int r = real_renameat(fd1, from, fd2, to);

	traced_pair(CRASH_OP_RENAME, r, fd1, from, fd2, to);
	return r;
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned int flags)
{
	REAL(int, renameat2, int, const char *, int, const char *, unsigned int);
	int r = real_renameat2(fd1, from, fd2, to, flags);

	traced_pair(CRASH_OP_RENAME, r, fd1, from, fd2, to);
	return r;
}

int link(const char *from, const char *to)
{
	REAL(int, link, const char *, const char *);
	int r = real_link(from, to);

	traced_pair(CRASH_OP_LINK, r, AT_FDCWD, from, AT_FDCWD, to);
	return r;
}

int linkat(int fd1, const char *from, int fd2, const char *to, int flags)
{
	REAL(int, linkat, int, const char *, int, const char *, int);
	int r = real_linkat(fd1, from, fd2, to, flags);

	traced_pair(CRASH_OP_LINK, r, fd1, from, fd2, to);
	return r;
}

static void traced_single(enum crash_op op, int r, int dirfd, const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	const char *rel;

	if (r != 0)
		return;
	rel = rel_path(dirfd, path, buf, sizeof(buf));
	if (rel)
		emit(op, rel, NULL, mode & 07777, 0, NULL, 0);
}

int unlink(const char *path)
{
	REAL(int, unlink, const char *);
	int r = real_unlink(path);

	traced_single(CRASH_OP_UNLINK, r, AT_FDCWD, path, 0);
	return r;
}

int unlinkat(int dirfd, const char *path, int flags)
{
	REAL(int, unlinkat, int, const char *, int);
	int r = real_unlinkat(dirfd, path, flags);

	traced_single((flags & AT_REMOVEDIR) ? CRASH_OP_RMDIR : CRASH_OP_UNLINK, r, dirfd, path, 0);
	return r;
}

int mkdir(const char *path, mode_t mode)
{
	REAL(int, mkdir, const char *, mode_t);
	int r = real_mkdir(path, mode);

	traced_single(CRASH_OP_MKDIR, r, AT_FDCWD, path, mode);
	return r;
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	REAL(int, mkdirat, int, const char *, mode_t);
	int r = real_mkdirat(dirfd, path, mode);

	traced_single(CRASH_OP_MKDIR, r, dirfd, path, mode);
	return r;
}

int rmdir(const char *path)
{
	REAL(int, rmdir, const char *);
	int r = real_rmdir(path);

	traced_single(CRASH_OP_RMDIR, r, AT_FDCWD, path, 0);
	return r;
}

/* A duplicated descriptor refers to the same file: keep following it. */
int dup(int fd)
{
	REAL(int, dup, int);
	int r = real_dup(fd);

	if (r >= 0)
		remember_fd(r, traced_fd(fd));
	return r;
}

int dup2(int fd, int fd2)
{
	REAL(int, dup2, int, int);
	int r = real_dup2(fd, fd2);

	if (r >= 0 && r != fd)
		remember_fd(r, traced_fd(fd));
	return r;
}
