/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of checkpoint.c (not installed; its unit test and fuzzer include it): the
 * on-disk receive bitmap format, whose byte layout docs/protocol.md "Receive checkpoint" gives. */
#ifndef FOTA_CHECKPOINT_FORMAT_H
#define FOTA_CHECKPOINT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

#define FOTA__CKPT_MAGIC "FOTACKPT"
#define FOTA__CKPT_MAGIC_LEN 8u
#define FOTA__CKPT_VERSION 1u
#define FOTA__CKPT_HEADER_LEN 40u
/* Header, one bit per chunk at most FOTA_MAX_CHUNK_COUNT, trailing SHA-256. */
#define FOTA__CKPT_MAX_FILE_LEN                                                                    \
	(FOTA__CKPT_HEADER_LEN + (FOTA_MAX_CHUNK_COUNT + 7u) / 8u + FOTA_SHA256_LEN)

struct fota__checkpoint_file {
	uint32_t version;
	uint8_t image_id[FOTA_IMAGE_ID_LEN];
	uint64_t image_size;
	uint32_t chunk_size;
	uint32_t count;
	uint32_t bitmap_len;
	const uint8_t *bitmap; /* points into the parsed buffer; bit i is 0x80 >> (i % 8) */
};

/* Bytes of a bitmap file for count chunks. */
size_t fota__checkpoint_file_len(uint32_t count);

/* Total over any bytes: checks length, magic, trailing SHA-256, version and that the fields
 * describe one consistent image (count from size and chunk size, bitmap length, zero padding
 * bits). FOTA_ERR_DIGEST for a torn or altered file, FOTA_ERR_PARSE / FIELD otherwise. */
fota_err fota__checkpoint_parse(const uint8_t *buf, size_t len, struct fota__checkpoint_file *out,
				struct fota_error *err);

/* Writes header fields of f and the trailing digest into buf (fota__checkpoint_file_len(f->count)
 * bytes); the bitmap bytes at buf + FOTA__CKPT_HEADER_LEN are left as the caller put them. */
void fota__checkpoint_seal(const struct fota__checkpoint_file *f, uint8_t *buf);

#endif
