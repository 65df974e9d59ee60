/* SPDX-License-Identifier: Apache-2.0 */
/* Exclusive state-directory lock: flock on "<dir>/lock", which also names the holder's pid. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fota/state_lock.h"

/* Reads the holder's pid; 0 if the file holds none yet (it is between flock and write). */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return end != buf && pid > 0 ? pid : 0;
}

fota_err fota_state_lock(const char *dir, int *fd, struct fota_error *err)
{
	char path[4096], pid[32];
	int lfd, n;
	long holder;

	*fd = -1;
	if (snprintf(path, sizeof(path), "%s/%s", dir, FOTA_STATE_LOCK_NAME) >= (int)sizeof(path))
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "state directory path too long");
	/* Never truncate on open: the holder's pid must survive a loser's attempt. */
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0)
		return fota_error_set(err, FOTA_ERR_IO, "cannot open %s: %s", path,
				      strerror(errno));
	if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		holder = e == EWOULDBLOCK ? holder_pid(lfd) : 0;
		close(lfd);
		if (e != EWOULDBLOCK)
			return fota_error_set(err, FOTA_ERR_IO, "cannot lock %s: %s", path,
					      strerror(e));
		if (holder > 0)
			return fota_error_set(err, FOTA_ERR_STATE,
					      "state directory %s is in use by process %ld", dir,
					      holder);
		return fota_error_set(err, FOTA_ERR_STATE,
				      "state directory %s is in use by another process", dir);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(lfd, 0) != 0 || pwrite(lfd, pid, (size_t)n, 0) != n) {
		int e = errno;

		close(lfd);
		return fota_error_set(err, FOTA_ERR_IO, "cannot write %s: %s", path, strerror(e));
	}
	*fd = lfd;
	return FOTA_OK;
}

void fota_state_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
