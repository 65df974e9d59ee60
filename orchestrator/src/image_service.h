/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the stored images as the CLI (`image list|show`) and
 * the HTTP API show them, one function each so the two cannot disagree. */
#ifndef ORCH_IMAGE_SERVICE_H
#define ORCH_IMAGE_SERVICE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "fota/error.h"
#include "fota/manifest.h"

#include "config.h"
#include "image_store.h"

/* {"image_id", "name", "version", "vendor", "model", "sequence", "size", "sha256",
 * "chunk_size", "chunk_count", "manifest_sha256", "method", "encryption" ("none" or
 * "A256GCM-chunk"), "expires", "delta"}, delta being null or {"image_id", "from_sha256",
 * "size", "chunk_count"} of the delta payload the manifest offers; the caller owns it. */
cJSON *orch_image_json(const char *id, const struct fota_manifest *m,
		       const uint8_t manifest_sha256[FOTA_SHA256_LEN]);

/* Calls fn for every stored image (sorted by id), opened; an image that does not open is
 * passed with img NULL and why, so a damaged image is reported, not hidden. A delta payload's
 * directory is no image of its own: it is left out (orch_image_json names it under its image).
 * Stops at fn's first non-zero return. */
typedef int (*orch_image_visit_fn)(void *ctx, const char *id, const struct orch_image *img,
				   const struct fota_error *why);
fota_err orch_images_each(const struct orch_config *cfg, orch_image_visit_fn fn, void *ctx,
			  struct fota_error *err);

/* Every stored image as an array of orch_image_json objects; one that does not open is
 * {"image_id", "error"}, and *damaged counts those. */
fota_err orch_images_json(const struct orch_config *cfg, cJSON **out, unsigned *damaged,
			  struct fota_error *err);

/* One image by its id (16 lower-case hex digits), as orch_image_json. FOTA_ERR_NOT_FOUND for
 * no such image, FOTA_ERR_INVAL for a malformed id. */
fota_err orch_image_show_json(const struct orch_config *cfg, const char *id, cJSON **out,
			      struct fota_error *err);

#endif
