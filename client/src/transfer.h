/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: one image transfer: verified table, resumable checkpoint, byte accounting. */
#ifndef FOTA_CLIENT_TRANSFER_H
#define FOTA_CLIENT_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "fota/chunk.h"
#include "fota/chunk_crypt.h"
#include "fota/error.h"
#include "fota/manifest.h"
#include "fota/request.h"

struct transfer;

/* Checks the table bytes against the manifest's signed table digest, then opens (or resumes)
 * the checkpoint under <state_dir>/transfer/. data_path NULL stages the image there too;
 * otherwise chunks land straight in data_path (the inactive A/B slot), which is not created,
 * truncated or deleted. */
fota_err transfer_open(const struct client_config *cfg, const struct fota_manifest *m,
		       const uint8_t image_id[FOTA_IMAGE_ID_LEN], const uint8_t *table,
		       size_t table_len, const char *data_path, struct transfer **out,
		       struct fota_error *err);
void transfer_free(struct transfer *t);

/* For a payload whose manifest says image.encryption: the content key that opens its frames,
 * the image id of the AAD (the full payload's, 16 hex digits) and the payload kind
 * (FOTA_PAYLOAD_FULL or FOTA_PAYLOAD_DELTA). t keeps a copy, wiped by transfer_free. */
fota_err transfer_set_content_key(struct transfer *t, const uint8_t key[FOTA_CONTENT_KEY_LEN],
				  const char *image_id_hex, uint32_t kind, struct fota_error *err);
bool transfer_has_content_key(const struct transfer *t);

/* Takes one data frame already matched to this image. FOTA_ERR_DIGEST: forged or corrupt
 * (for an encrypted payload also: the GCM tag does not verify), nothing written; FOTA_ERR_STATE
 * "no content key": an encrypted payload's frame before its key. Sets *is_new when the chunk
 * was not present before. */
fota_err transfer_put(struct transfer *t, const struct fota_frame *f, bool *is_new,
		      struct fota_error *err);
/* Makes everything received durable; transfer_put calls it every sync_bytes payload bytes
 * (and every sync_chunks chunks when that is set) and on the last chunk. */
fota_err transfer_sync(struct transfer *t, struct fota_error *err);

bool transfer_complete(const struct transfer *t);
uint32_t transfer_present(const struct transfer *t);
uint32_t transfer_count(const struct transfer *t);
uint32_t transfer_recovered(const struct transfer *t);
/* Payload bytes received for this image over every run of the agent (process restarts
 * included; the counter lives beside the checkpoint). */
uint64_t transfer_rx_bytes(const struct transfer *t);
/* Next missing ranges below limit from the repair cursor, up to window chunks; advances the
 * cursor. limit >= the chunk count means no limit. */
size_t transfer_next_missing(struct transfer *t, struct fota_range *out, size_t max,
			     uint32_t window, uint32_t limit);
/* Whole-image SHA-256 against the manifest. Chunks that arrived in order from chunk 0 were
 * hashed on arrival; only the rest is read back from the data file. */
fota_err transfer_verify(struct transfer *t, struct fota_error *err);
/* Chunks hashed on arrival so far (the prefix transfer_verify does not read back). */
uint32_t transfer_hashed_in_order(const struct transfer *t);
const char *transfer_data_path(const struct transfer *t);
/* Drops the staged data and the checkpoint, then frees t. */
void transfer_discard(struct transfer *t);

#endif
