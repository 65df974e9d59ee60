/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: an encrypted image's content key, wrapped to one
 * device's registered certificate and published as its signed key document. */
#ifndef ORCH_KEY_DELIVERY_H
#define ORCH_KEY_DELIVERY_H

#include <stdint.h>

#include "fota/chunk_crypt.h"
#include "fota/error.h"
#include "fota/mqtt.h"
#include "fota/signer.h"

#include "store.h"

/* Why a device is not admitted to a campaign of an encrypted image (its campaign reason). */
#define ORCH_REASON_NO_CERT "no device certificate"

/*
 * Wraps key (fota_jwe_wrap_key, kid = device) to the public key of device's certificate in
 * the store, signs the key document {"type":"fota-key/1","device","image_id","seq","jwe"}
 * (seq: the next of the store's counter "key:<device>") with signer, and publishes it
 * retained, QoS 1, on {prefix}/devices/{device}/key. FOTA_ERR_NOT_FOUND (ORCH_REASON_NO_CERT)
 * if the device has no certificate. The key is never logged; *seq (may be NULL) gets the
 * document's sequence.
 */
fota_err orch_key_publish(struct fota_mqtt *mqtt, const char *prefix, struct orch_store *st,
			  struct fota_signer *signer, const char *device, const char *image_id,
			  const uint8_t key[FOTA_CONTENT_KEY_LEN], uint64_t *seq,
			  struct fota_error *err);

/* Removes the retained key document of device (an empty retained message). */
fota_err orch_key_clear(struct fota_mqtt *mqtt, const char *prefix, const char *device,
			struct fota_error *err);

#endif
