/* SPDX-License-Identifier: Apache-2.0 */
/* `image add --compress`: the payload a device receives, made from the image it installs. */
#ifndef FOTA_ORCH_IMAGE_COMPRESS_H
#define FOTA_ORCH_IMAGE_COMPRESS_H

#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"

/* zstd's default level, when --compress names none. */
#define ORCH_ZSTD_DEFAULT_LEVEL 19

/* "zstd" or "zstd:LEVEL" (1..22) into *level. */
fota_err orch_compress_parse(const char *arg, int *level, struct fota_error *err);

/* Compresses the image src into a new file dst (mode 0600) as one zstd frame at level whose
 * window is at most 2^FOTA_ZSTD_MAX_WINDOW_LOG (what devices decode with); *size and sha256
 * describe src, the image the devices will install. */
fota_err orch_compress_zstd(const char *src, const char *dst, int level, uint64_t *size,
			    uint8_t sha256[FOTA_SHA256_LEN], struct fota_error *err);

#endif
