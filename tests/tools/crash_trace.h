/* SPDX-License-Identifier: Apache-2.0 */
/* Record format shared by the file-system call tracer (fota_fstrace.c, an LD_PRELOAD shim) and
 * the crash-state generator (fota_crashsim.c). One record per call that changes what a power
 * cut could leave on disk, appended with one write() so that several traced processes (the
 * agent, fw_setenv, the bootloader emulator) can share one log. Paths are relative to the
 * traced root (FOTA_FSTRACE_ROOT); "." is the root itself. Native byte order: the log is
 * written and read on the same machine. */
#ifndef FOTA_CRASH_TRACE_H
#define FOTA_CRASH_TRACE_H

#include <stdint.h>

#define CRASH_TRACE_MAGIC 0x46535452u /* "FSTR" */

enum crash_op {
	CRASH_OP_CREATE = 1,   /* path, mode: a new, empty regular file */
	CRASH_OP_TRUNCATE = 2, /* path, off = new length (also open with O_TRUNC) */
	CRASH_OP_WRITE = 3,    /* path, off, len bytes of data follow the paths */
	CRASH_OP_FSYNC = 4,    /* path: file data, or a directory's entries when path is a dir */
	CRASH_OP_RENAME = 5,   /* path -> path2 */
	CRASH_OP_UNLINK = 6,   /* path */
	CRASH_OP_LINK = 7,     /* path (existing) -> path2 (new name, same file) */
	CRASH_OP_MKDIR = 8,    /* path, mode */
	CRASH_OP_RMDIR = 9,    /* path */
	CRASH_OP_SYNC = 10,    /* sync(2)/syncfs(2): everything becomes durable */
};

struct crash_rec {
	uint32_t magic;
	uint16_t op;
	uint16_t path_len;  /* bytes of path, no terminator */
	uint16_t path2_len; /* bytes of path2 (rename, link), else 0 */
	uint16_t reserved;
	int32_t pid;
	uint32_t mode;
	uint64_t off;
	uint64_t len; /* data bytes (write only) */
};

#endif
