/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the chunk frame decoder: any bytes from the broker, no crash, and an
 * accepted frame re-encodes to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_error err = {0};
	struct fota_frame f, g;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (fota_frame_decode(data, size, &f, &err) != FOTA_OK) {
		if (err.msg[0] == '\0')
			abort(); /* every refusal says why */
		return 0;
	}
	if (f.payload < data || f.payload + f.payload_len != data + size || f.count == 0 ||
	    f.count > FOTA_MAX_CHUNK_COUNT)
		abort();
	if (f.type == FOTA_FRAME_DATA && f.index >= f.count)
		abort();
	if (f.type == FOTA_FRAME_TABLE && (uint64_t)f.payload_len != (uint64_t)f.count * 32u)
		abort();
	if (fota_frame_encode(&f, &buf, &len, &err) != FOTA_OK)
		abort();
	if (fota_frame_decode(buf, len, &g, &err) != FOTA_OK || g.type != f.type ||
	    g.index != f.index || g.count != f.count || g.payload_len != f.payload_len ||
	    memcmp(g.image_id, f.image_id, FOTA_IMAGE_ID_LEN) != 0 ||
	    memcmp(g.payload, f.payload, f.payload_len) != 0)
		abort();
	free(buf);
	return 0;
}
