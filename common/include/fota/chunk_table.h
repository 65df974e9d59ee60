/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk hash table: per-chunk SHA-256, whose own digest the manifest signs. */
#ifndef FOTA_CHUNK_TABLE_H
#define FOTA_CHUNK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"

struct fota_chunk_table {
	uint32_t count;
	uint8_t (*hashes)[FOTA_SHA256_LEN]; /* owned, count entries */
};

/* Number of chunks for an image, and the length of chunk index (last one may be short). */
uint32_t fota_chunk_count_for(uint64_t image_size, uint32_t chunk_size);
uint32_t fota_chunk_len(uint64_t image_size, uint32_t chunk_size, uint32_t index);

/* Reads the file once, computing the table and the whole-image SHA-256 and size. */
fota_err fota_chunk_table_build_file(const char *path, uint32_t chunk_size,
				     struct fota_chunk_table *out, uint8_t image_sha256[32],
				     uint64_t *image_size, struct fota_error *err);

/* Takes a table as received (count * 32 bytes), checking count and that its digest equals the
 * signed one before copying; FOTA_ERR_DIGEST otherwise. */
fota_err fota_chunk_table_from_bytes(const uint8_t *buf, size_t len, uint32_t expected_count,
				     const uint8_t expected_digest[32],
				     struct fota_chunk_table *out, struct fota_error *err);

/* SHA-256 over the concatenated hashes: the value the manifest's table_sha256 carries. */
void fota_chunk_table_digest(const struct fota_chunk_table *t, uint8_t out[32]);

/* True iff index < count and SHA-256(data) equals the table entry (constant-time compare). */
bool fota_chunk_table_check(const struct fota_chunk_table *t, uint32_t index, const uint8_t *data,
			    size_t len);

void fota_chunk_table_clear(struct fota_chunk_table *t);

#endif
