/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key document: the orchestrator's signed delivery of one image's content key, wrapped to one
 * device (fota/jwe.h), retained on the device's own key topic. Same envelope and trust rules as
 * a directive (orchestrator role).
 */
#ifndef FOTA_KEY_DOC_H
#define FOTA_KEY_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

#define FOTA_KEY_DOC_TYPE "fota-key/1"

struct fota_trust;

struct fota_key_doc {
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1]; /* the image whose payloads the key opens */
	uint64_t seq;			  /* 1.., rises with every key document of the device */
	char jwe[FOTA_MAX_JWE_BYTES + 1]; /* compact JWE, wrapped to the device's key */
};

/* Strict parse of {"type":"fota-key/1","device":..,"image_id":..,"seq":..,"jwe":..} (at most
 * FOTA_MAX_KEY_DOC_BYTES); every error names the field and why. The JWE is only checked to be
 * 1..FOTA_MAX_JWE_BYTES printable ASCII here; fota_jwe_unwrap_key judges the rest. */
fota_err fota_key_doc_parse(const uint8_t *json, size_t len, struct fota_key_doc *out,
			    struct fota_error *err);

/* The document for k, validated by the same rules; *out is malloc'd (caller frees). */
fota_err fota_key_doc_to_json(const struct fota_key_doc *k, char **out, struct fota_error *err);

/*
 * A device's decision on an envelope that came on its key topic: FOTA_OK when it is to be
 * used (*out filled), otherwise an error whose message says why it is ignored:
 * FOTA_ERR_SIGNATURE (does not verify with orchestrator-role keys), a parse error,
 * FOTA_ERR_FIELD (names another device), FOTA_ERR_ROLLBACK (seq below last_seq, the one in
 * use: a replayed older delivery; the same seq again is the same document, delivered again).
 */
fota_err fota_key_doc_accept(const struct fota_trust *trust, const uint8_t *jws, size_t len,
			     const char *device, uint64_t last_seq, struct fota_key_doc *out,
			     struct fota_error *err);

#endif
