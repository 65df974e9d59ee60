/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: an encrypted image's content key and its sealed
 * payloads in the image store. */
#ifndef ORCH_IMAGE_SEAL_H
#define ORCH_IMAGE_SEAL_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/chunk_crypt.h"
#include "fota/error.h"

#include "config.h"
#include "image_store.h"

/*
 * An encrypted image keeps, beside its manifest and table, content.key (mode 0600: the 32 raw
 * bytes of its content key, never logged) and an image.bin of sealed chunks: chunk i is
 * fota_chunk_len(i) + FOTA_CHUNK_TAG_LEN bytes at offset i * (chunk_size + FOTA_CHUNK_TAG_LEN),
 * ciphertext || tag, so every broadcast and repair sends the same bytes. A delta payload's
 * directory holds its sealed chunks only; the key is the full payload's.
 */
#define ORCH_CONTENT_KEY_FILE "content.key"

/* A fresh content key from the operating system's generator (RAND_priv_bytes). */
fota_err orch_content_key_new(uint8_t key[FOTA_CONTENT_KEY_LEN], struct fota_error *err);

/* Replaces the staged plaintext image.bin of st (its table already built) with its sealed
 * chunks under key, bound to image_id (the full payload's id) and kind; with write_key, also
 * writes the key as content.key (0600). The staged table and digest stay the plaintext's. */
fota_err orch_stage_seal(struct orch_stage *st, const uint8_t key[FOTA_CONTENT_KEY_LEN],
			 const char *image_id, enum fota_payload_kind kind, bool write_key,
			 struct fota_error *err);

/* Seals st (FOTA_PAYLOAD_FULL) and, unless NULL, the staged delta payload dst
 * (FOTA_PAYLOAD_DELTA) under key, both bound to st's image id, and writes key as st's
 * content.key (0600). Tables and digests stay the plaintext's. */
fota_err orch_stages_seal_under(struct orch_stage *st, struct orch_stage *dst,
				const uint8_t key[FOTA_CONTENT_KEY_LEN], struct fota_error *err);

/* What `image add --encrypt` and a first `image import` of an encrypted manifest do to their
 * staged payloads: a fresh content key seals st (FOTA_PAYLOAD_FULL) and, unless NULL, the
 * staged delta payload dst (FOTA_PAYLOAD_DELTA), both bound to st's image id, and is written
 * as st's content.key (0600); the key leaves no other copy in memory. Tables and digests stay
 * the plaintext's, so a manifest signed over them still describes the payloads. */
fota_err orch_stages_seal(struct orch_stage *st, struct orch_stage *dst, struct fota_error *err);

/* The content key of stored image id_hex. FOTA_ERR_NOT_FOUND if it has none (not
 * encrypted); FOTA_ERR_IO naming the file if it is unreadable or not 32 bytes. */
fota_err orch_content_key_load(const struct orch_config *cfg, const char *id_hex,
			       uint8_t key[FOTA_CONTENT_KEY_LEN], struct fota_error *err);

/*
 * The content key `image import` seals an encrypted manifest m with (m verified, its payload
 * staged): a fresh one, unless the image is stored encrypted already; then the stored key
 * (*kept set), since a campaign may have given it to devices that would refuse chunks sealed
 * under another. Refused (FOTA_ERR_INVAL, saying why) where the kept key would seal other
 * bytes: another payload under the same id, or a delta payload other than the one the stored
 * manifest offers (or none where it offers one: the next import could then bring another).
 */
fota_err orch_import_content_key(const struct orch_config *cfg, const struct fota_manifest *m,
				 uint8_t key[FOTA_CONTENT_KEY_LEN], bool *kept,
				 struct fota_error *err);

#endif
