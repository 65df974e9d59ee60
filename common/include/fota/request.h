/* SPDX-License-Identifier: Apache-2.0 */
/* Repair request a device sends on its request topic: exactly the chunk ranges it misses. */
#ifndef FOTA_REQUEST_H
#define FOTA_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

struct fota_range {
	uint32_t first;
	uint32_t count;
};

struct fota_request {
	uint8_t image_id[FOTA_IMAGE_ID_LEN];
	bool want_table; /* send the chunk hash table unicast too */
	struct fota_range ranges[FOTA_MAX_REQUEST_RANGES];
	size_t n_ranges;
};

/* JSON: {"image":"<16 hex>","table":false,"ranges":[[first,count],...]} */
fota_err fota_request_to_json(const struct fota_request *r, char **out, struct fota_error *err);
/* Refuses more than FOTA_MAX_REQUEST_RANGES ranges or FOTA_MAX_REQUEST_CHUNKS chunks in all,
 * zero counts and overflowing ranges. Range ends are checked against the image by the caller. */
fota_err fota_request_parse(const uint8_t *json, size_t len, struct fota_request *out,
			    struct fota_error *err);
uint32_t fota_request_total_chunks(const struct fota_request *r);
/* Drops the chunks from `limit` on (a range across it is cut, ranges beyond it removed) and
 * returns how many were dropped. The table wish stays. */
uint32_t fota_request_clip(struct fota_request *r, uint32_t limit);

#endif
