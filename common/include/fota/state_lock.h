/* SPDX-License-Identifier: Apache-2.0 */
/* One writer per state directory: an exclusive lock a daemon holds for its whole life. */
#ifndef FOTA_STATE_LOCK_H
#define FOTA_STATE_LOCK_H

#include "fota/error.h"

/* The file in the state directory that carries the lock and the holder's pid. */
#define FOTA_STATE_LOCK_NAME "lock"

/*
 * Takes an exclusive flock(2) on "<dir>/lock" without waiting and writes our pid into it.
 * On success *fd holds the lock until fota_state_unlock or process exit (the descriptor is
 * close-on-exec, so hooks and children never inherit it). When another process holds it:
 * FOTA_ERR_STATE, "state directory DIR is in use by process PID", the pid read from the file.
 * Other failures are FOTA_ERR_IO with errno's text.
 */
fota_err fota_state_lock(const char *dir, int *fd, struct fota_error *err);

/* Releases a lock taken by fota_state_lock; a negative fd is a no-op. */
void fota_state_unlock(int fd);

#endif
