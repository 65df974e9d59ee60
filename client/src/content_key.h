/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: the content key of an encrypted image, as a device receives and holds it. */
#ifndef FOTA_CLIENT_CONTENT_KEY_H
#define FOTA_CLIENT_CONTENT_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/chunk_crypt.h"
#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"
#include "fota/trust.h"

/* Held in memory only, never written to disk: a restarted agent gets the retained key document
 * again when it subscribes. The signed document itself is kept after the key is wiped: it is
 * wrapped to this device alone (the broker holds the same bytes), and a later job for the same
 * image (a campaign's retry) needs it again, while the broker sends a retained message only
 * once per subscription. */
struct content_key {
	bool has;
	uint8_t key[FOTA_CONTENT_KEY_LEN];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint64_t seq;			     /* of the key document it came in; 0 before any */
	uint8_t doc[FOTA_MAX_KEY_DOC_BYTES]; /* the last accepted key document, as received */
	size_t doc_len;			     /* 0: none held */
};

/* A message on the device's key topic: verified and judged (fota_key_doc_accept: signature,
 * device, seq not below ck->seq), then unwrapped with the device's private key read from
 * key_path (PEM, the TLS key). Only on success is ck replaced. Errors say why the document is
 * ignored; FOTA_ERR_SIGNATURE "content key does not unwrap" when the JWE is not for this key. */
fota_err content_key_accept(struct content_key *ck, const struct fota_trust *trust,
			    const char *device, const char *key_path, const uint8_t *payload,
			    size_t len, struct fota_error *err);

/* True when ck opens the image whose full payload has this SHA-256 (its first 8 bytes are the
 * image id of the key document). */
bool content_key_for(const struct content_key *ck, const uint8_t sha256[FOTA_SHA256_LEN]);

/* Wipes the key; the seq and the signed document stay, so an older document is still refused
 * and content_key_reopen can open the same one again. */
void content_key_clear(struct content_key *ck);

/* Opens the held document again, as content_key_accept would (verified and unwrapped anew).
 * FOTA_ERR_NOT_FOUND "no key document held" when there is none. */
fota_err content_key_reopen(struct content_key *ck, const struct fota_trust *trust,
			    const char *device, const char *key_path, struct fota_error *err);

/* Drops the held document (the orchestrator cleared it on the broker); a key in use stays. */
void content_key_forget(struct content_key *ck);

#endif
