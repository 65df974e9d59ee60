/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: the stages a decode chain is built from (decode.h). */
#ifndef FOTA_CLIENT_DECODE_STAGES_H
#define FOTA_CLIENT_DECODE_STAGES_H

#include "decode.h"

/* Passes its input through unchanged: the chain's mechanics without a transformation. */
fota_err decode_stage_identity_new(struct decode_stage **out, struct fota_error *err);

/* zstd frames (one or more, concatenated), each with a window of at most
 * 2^FOTA_ZSTD_MAX_WINDOW_LOG bytes: a larger one is FOTA_ERR_TOO_BIG, saying so. */
fota_err decode_stage_zstd_new(struct decode_stage **out, struct fota_error *err);

/* A delta payload (fota/delta_format.h, decode_delta.c) applied to the first base_size bytes of
 * base_fd, read with pread; the caller owns base_fd. Lengths and seeks outside the base or the
 * new image, and the first format, are FOTA_ERR_PARSE; a chunk or zstd window over the format's
 * limits is FOTA_ERR_TOO_BIG. */
fota_err decode_stage_delta_new(int base_fd, uint64_t base_size, struct decode_stage **out,
				struct fota_error *err);

#endif
