/* SPDX-License-Identifier: Apache-2.0 */
/* Writes a delta payload (fota/delta_format.h) from its records, cutting it into segments. */
#ifndef FOTA_ORCH_DELTA_WRITER_H
#define FOTA_ORCH_DELTA_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fota/error.h"

struct orch_delta_writer;

/* A writer of the delta payload for a new image of new_size bytes into out, its three zstd
 * streams compressed at level (1..22). Memory: three zstd contexts and one segment's
 * compressed chunks. */
fota_err orch_delta_writer_new(FILE *out, uint64_t new_size, int level,
			       struct orch_delta_writer **w, struct fota_error *err);

/* A record: diff bytes (added to the base from its cursor), then extra bytes, then the base
 * cursor moves by seek. The caller then gives exactly diff bytes with orch_delta_writer_diff
 * and extra bytes with orch_delta_writer_extra, in pieces of any size. */
fota_err orch_delta_writer_record(struct orch_delta_writer *w, uint64_t diff, uint64_t extra,
				  int64_t seek, struct fota_error *err);
fota_err orch_delta_writer_diff(struct orch_delta_writer *w, const uint8_t *p, size_t n,
				struct fota_error *err);
fota_err orch_delta_writer_extra(struct orch_delta_writer *w, const uint8_t *p, size_t n,
				 struct fota_error *err);

/* Writes the last segment: FOTA_ERR_INVAL unless new_size bytes were given. */
fota_err orch_delta_writer_finish(struct orch_delta_writer *w, struct fota_error *err);
void orch_delta_writer_free(struct orch_delta_writer *w);

#endif
