/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the receive bitmap file parser, fed the raw bytes and, so the fuzzer
 * reaches the field checks behind the digest, the same bytes with a freshly computed digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/chunk_table.h"
#include "fota/digest.h"

#include "../../common/src/checkpoint_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_one(const uint8_t *buf, size_t len)
{
	struct fota__checkpoint_file f;
	struct fota_error err = {0};

	if (fota__checkpoint_parse(buf, len, &f, &err) != FOTA_OK) {
		if (err.msg[0] == '\0')
			abort();
		return;
	}
	if (len != fota__checkpoint_file_len(f.count) || f.bitmap != buf + FOTA__CKPT_HEADER_LEN ||
	    f.count != fota_chunk_count_for(f.image_size, f.chunk_size) ||
	    f.bitmap_len != (f.count + 7) / 8)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	parse_one(data, size);
	if (size < FOTA__CKPT_HEADER_LEN + FOTA_SHA256_LEN || size > FOTA__CKPT_MAX_FILE_LEN)
		return 0;
	copy = malloc(size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	fota_sha256(copy, size - FOTA_SHA256_LEN, copy + size - FOTA_SHA256_LEN);
	parse_one(copy, size);
	free(copy);
	return 0;
}
