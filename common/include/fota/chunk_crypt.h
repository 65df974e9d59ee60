/* SPDX-License-Identifier: Apache-2.0 */
/* AES-256-GCM per chunk of an encrypted payload (docs/protocol.md, "Encrypted payloads"). */
#ifndef FOTA_CHUNK_CRYPT_H
#define FOTA_CHUNK_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"

#define FOTA_CONTENT_KEY_LEN 32u
#define FOTA_CHUNK_NONCE_LEN 12u
#define FOTA_CHUNK_TAG_LEN 16u

/* Which payload of an image a chunk belongs to: the two share one content key, so the kind
 * keeps their nonces apart. */
enum fota_payload_kind { FOTA_PAYLOAD_FULL = 0, FOTA_PAYLOAD_DELTA = 1 };

/*
 * Both payloads of one image are bound to image_id: the 16 lower-case hex digits of the first
 * 8 bytes of the manifest's image.sha256 (the full payload's id, the one in its chunk topics).
 *   nonce = kind (4 bytes, big-endian) || index (8 bytes, big-endian)
 *   AAD   = image_id (16 ASCII bytes) || 0x00 || index (8 bytes, big-endian) || kind (4 bytes,
 *           big-endian)
 * A nonce is used once per key because the key is fresh per image and (kind, index) names one
 * chunk of it.
 */

/* Encrypts len bytes of in into out, which holds len + FOTA_CHUNK_TAG_LEN: the ciphertext,
 * then the tag. in and out may not overlap. */
fota_err fota_chunk_seal(const uint8_t key[FOTA_CONTENT_KEY_LEN], const char *image_id,
			 uint32_t kind, uint64_t index, const uint8_t *in, size_t len, uint8_t *out,
			 struct fota_error *err);

/* Checks the tag of in (ciphertext || tag, len >= FOTA_CHUNK_TAG_LEN bytes) and writes the
 * len - FOTA_CHUNK_TAG_LEN plaintext bytes to out. Any change to the bytes, the key, the image
 * id, the kind or the index gives FOTA_ERR_DIGEST "chunk N: GCM tag mismatch"; out then holds
 * nothing usable (it is wiped). */
fota_err fota_chunk_open(const uint8_t key[FOTA_CONTENT_KEY_LEN], const char *image_id,
			 uint32_t kind, uint64_t index, const uint8_t *in, size_t len, uint8_t *out,
			 struct fota_error *err);

#endif
