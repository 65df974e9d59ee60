/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: the stages a decode chain is built from (decode.h). */
#ifndef FOTA_CLIENT_DECODE_STAGES_H
#define FOTA_CLIENT_DECODE_STAGES_H

#include "decode.h"

/* Passes its input through unchanged: the chain's mechanics without a transformation. */
fota_err decode_stage_identity_new(struct decode_stage **out, struct fota_error *err);

#endif
