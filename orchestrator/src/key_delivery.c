/* SPDX-License-Identifier: Apache-2.0 */
/* Delivering a content key to one device: wrapped to the key of its registered certificate,
 * signed like a directive, retained on the device's own key topic until it confirms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/envelope.h"
#include "fota/jwe.h"
#include "fota/key_doc.h"
#include "fota/topics.h"

#include "device_cert.h"
#include "key_delivery.h"
#include "publisher.h"

static fota_err key_topic(const char *prefix, const char *device, char *topic, size_t size,
			  struct fota_error *err)
{
	struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_KEY};

	snprintf(t.device, sizeof(t.device), "%s", device);
	return fota_topic_build(prefix, &t, topic, size, err);
}

fota_err orch_key_publish(struct fota_mqtt *mqtt, const char *prefix, struct orch_store *st,
			  struct fota_signer *signer, const char *device, const char *image_id,
			  const uint8_t key[FOTA_CONTENT_KEY_LEN], uint64_t *seq,
			  struct fota_error *err)
{
	static char pem[ORCH_MAX_DEVICE_CERT_PEM];
	char topic[FOTA_MAX_TOPIC_LEN + 1], counter[FOTA_MAX_SEGMENT_LEN + 8];
	struct fota_key_doc *k = NULL;
	EVP_PKEY *pub = NULL;
	char *jwe = NULL, *json = NULL, *jws = NULL;
	fota_err rc;

	rc = key_topic(prefix, device, topic, sizeof(topic), err);
	if (rc)
		return rc;
	rc = st->ops->device_cert_get(st, device, pem, sizeof(pem), err);
	if (rc == FOTA_ERR_NOT_FOUND)
		return fota_error_set(err, rc, "%s: %s", device, ORCH_REASON_NO_CERT);
	if (rc == FOTA_OK)
		rc = orch_device_cert_pubkey(pem, &pub, err);
	if (rc == FOTA_OK)
		rc = fota_jwe_wrap_key(pub, key, FOTA_CONTENT_KEY_LEN, device, &jwe, err);
	if (rc)
		goto out;
	k = calloc(1, sizeof(*k));
	if (!k) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strlen(jwe) > FOTA_MAX_JWE_BYTES) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "wrapped key over %d bytes",
				    FOTA_MAX_JWE_BYTES);
		goto out;
	}
	snprintf(k->device, sizeof(k->device), "%s", device);
	snprintf(k->image_id, sizeof(k->image_id), "%s", image_id);
	memcpy(k->jwe, jwe, strlen(jwe) + 1);
	/* The store's counters are keyed by name; no group name contains ':'. */
	snprintf(counter, sizeof(counter), "key:%s", device);
	rc = st->ops->directive_seq_next(st, counter, &k->seq, err);
	if (rc == FOTA_OK)
		rc = fota_key_doc_to_json(k, &json, err);
	if (rc == FOTA_OK)
		rc = fota_envelope_sign(&signer, 1, (const uint8_t *)json, strlen(json), 0, &jws,
					err);
	if (rc == FOTA_OK && strlen(jws) > FOTA_MAX_KEY_DOC_BYTES)
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
				    "signed key document of %zu bytes exceeds the %d-byte limit",
				    strlen(jws), FOTA_MAX_KEY_DOC_BYTES);
	if (rc == FOTA_OK)
		rc = fota_mqtt_publish(mqtt, topic, jws, strlen(jws), 1, true,
				       ORCH_PUBLISH_TIMEOUT_MS, err);
	if (rc == FOTA_OK && seq)
		*seq = k->seq;
out:
	if (rc)
		fota_error_prefix(err, "key document");
	EVP_PKEY_free(pub);
	free(jwe);
	free(json);
	free(jws);
	free(k);
	return rc;
}

fota_err orch_key_clear(struct fota_mqtt *mqtt, const char *prefix, const char *device,
			struct fota_error *err)
{
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	fota_err rc = key_topic(prefix, device, topic, sizeof(topic), err);

	if (rc == FOTA_OK)
		rc = fota_mqtt_publish(mqtt, topic, "", 0, 1, true, ORCH_PUBLISH_TIMEOUT_MS, err);
	return rc;
}
