/* SPDX-License-Identifier: Apache-2.0 */
/* Binary chunk frame codec (docs/protocol.md has the byte layout). */
#ifndef FOTA_CHUNK_H
#define FOTA_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

/*
 * Frame header, network byte order, 32 bytes in version 1:
 *   0  4  magic "FOTA" (0x46 0x4F 0x54 0x41)
 *   4  1  frame version (1)
 *   5  1  type (1 data, 2 table)
 *   6  2  header length (>= 32; longer headers from later versions are skipped)
 *   8  8  image id (first 8 bytes of the image SHA-256)
 *  16  4  chunk index (table: 0)
 *  20  4  chunk count of the image
 *  24  4  payload length
 *  28  4  reserved, zero
 *  32  .  payload
 */
#define FOTA_FRAME_MAGIC 0x464F5441u
#define FOTA_FRAME_VERSION 1u

enum fota_frame_type { FOTA_FRAME_DATA = 1, FOTA_FRAME_TABLE = 2 };

struct fota_frame {
	uint8_t type;
	uint8_t image_id[FOTA_IMAGE_ID_LEN];
	uint32_t index;
	uint32_t count;
	uint32_t payload_len;
	const uint8_t *payload; /* points into the decoded buffer, not owned */
};

/* Total: any byte string gives a frame or a precise error (bad magic, version, type, header
 * length, index >= count, count 0 or > FOTA_MAX_CHUNK_COUNT, payload length != bytes left,
 * over FOTA_MAX_FRAME_BYTES, non-zero reserved). */
fota_err fota_frame_decode(const uint8_t *buf, size_t len, struct fota_frame *out,
			   struct fota_error *err);

/* Writes the 32-byte header for f into hdr. */
void fota_frame_encode_header(const struct fota_frame *f, uint8_t hdr[FOTA_FRAME_HEADER_LEN]);

/* Header + payload into a malloc'd buffer (caller frees). */
fota_err fota_frame_encode(const struct fota_frame *f, uint8_t **out, size_t *out_len,
			   struct fota_error *err);

#endif
