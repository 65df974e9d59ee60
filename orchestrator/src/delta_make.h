/* SPDX-License-Identifier: Apache-2.0 */
/* A delta stream from one image to the next (the format decode_delta.c applies). */
#ifndef FOTA_ORCH_DELTA_MAKE_H
#define FOTA_ORCH_DELTA_MAKE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fota/error.h"

/* Images up to this size are diffed (the suffix array holds 32-bit offsets). */
#define ORCH_DELTA_MAX_BASE ((uint64_t)INT32_MAX)

/* Writes the delta payload (fota/delta_format.h) that turns old[0..old_len) into
 * new[0..new_len) to out, its streams compressed with zstd at level, bsdiff's way: a suffix
 * array of old (libdivsufsort), approximate matches extended forwards and backwards,
 * differences in diff bytes, the rest in extra bytes. Memory: the two images, 4 bytes per base
 * byte and the writer's (delta_writer.h). */
fota_err orch_delta_make(const uint8_t *old, size_t old_len, const uint8_t *new_, size_t new_len,
			 int level, FILE *out, struct fota_error *err);

#endif
