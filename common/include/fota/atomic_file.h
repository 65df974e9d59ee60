/* SPDX-License-Identifier: Apache-2.0 */
/* Durable file helpers: write temp, fsync, rename, fsync the directory; bounded reads. */
#ifndef FOTA_ATOMIC_FILE_H
#define FOTA_ATOMIC_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fota/error.h"

/* Replaces path with data atomically: after return either the old or the new content is on
 * disk, never a mix, across power loss. */
fota_err fota_atomic_write(const char *path, const void *data, size_t len, mode_t mode,
			   struct fota_error *err);

/* fsync(tmp_path), rename(tmp_path, final_path), fsync(final's directory). */
fota_err fota_atomic_commit(const char *tmp_path, const char *final_path, struct fota_error *err);

/* fsync the directory that contains path. */
fota_err fota_fsync_parent(const char *path, struct fota_error *err);

/* Reads a whole file of at most max bytes (FOTA_ERR_TOO_BIG beyond); *out malloc'd with a
 * trailing NUL (caller frees). FOTA_ERR_NOT_FOUND if it does not exist. */
fota_err fota_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
			struct fota_error *err);

/* Renames an unreadable state file to "<path>.broken" so it can be inspected later. */
fota_err fota_move_aside(const char *path, struct fota_error *err);

/* mkdir -p with mode for missing components; each directory it creates is made durable
 * (its parent is synced) before it returns. */
fota_err fota_mkdirs(const char *path, mode_t mode, struct fota_error *err);

#endif
