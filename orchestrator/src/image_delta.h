/* SPDX-License-Identifier: Apache-2.0 */
/* `image add --delta-from`: the delta payload from a stored image to the image being added. */
#ifndef FOTA_ORCH_IMAGE_DELTA_H
#define FOTA_ORCH_IMAGE_DELTA_H

#include "fota/error.h"
#include "fota/manifest.h"

#include "config.h"

/* The zstd level of every delta payload (a delta is made once and sent to many). */
#define ORCH_DELTA_ZSTD_LEVEL 19

/*
 * Writes to the new file dst (mode 0600) the delta payload that turns the image of the stored
 * image old_id into the image file new_file (delta_make.h; its three zstd streams have the
 * windows fota/delta_format.h sets, which devices accept). The stored image is decoded first if its
 * payload is compressed, and checked against its signed image digest. Fills d->from_sha256,
 * d->from_size and d->compression; size, sha256 and the chunk table are the store's to fill from
 * dst. Refuses an old_id that is itself a delta payload, and images over ORCH_DELTA_MAX_BASE.
 */
fota_err orch_delta_payload(const struct orch_config *cfg, const char *old_id, const char *new_file,
			    const char *dst, struct fota_manifest_delta *d, struct fota_error *err);

/* The same from an image file, base_file (offline signing: `image sign --delta-from`), whose
 * SHA-256 becomes d->from_sha256. */
fota_err orch_delta_payload_file(const char *base_file, const char *new_file, const char *dst,
				 struct fota_manifest_delta *d, struct fota_error *err);

#endif
