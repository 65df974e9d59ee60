/* SPDX-License-Identifier: Apache-2.0 */
/* Key document: strict JSON parsing and validation, and the device's decision to use it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/envelope.h"
#include "fota/key_doc.h"
#include "fota/topics.h"
#include "fota/trust.h"
#include "json.h"

#define PFX "key document rejected: "

static fota_err validate(const struct fota_key_doc *k, struct fota_error *err)
{
	if (k->seq == 0 || k->seq > FOTA__JSON_MAX_INT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "seq %" PRIu64 " out of range 1..%llu", k->seq,
				      FOTA__JSON_MAX_INT);
	if (strnlen(k->device, sizeof(k->device)) == sizeof(k->device) ||
	    !fota_topic_segment_valid(k->device))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "device is not 1..%d of [A-Za-z0-9._-]",
				      FOTA_MAX_SEGMENT_LEN);
	if (strnlen(k->image_id, sizeof(k->image_id)) != FOTA_IMAGE_ID_HEX_LEN ||
	    !fota__json_is_hex(k->image_id, FOTA_IMAGE_ID_HEX_LEN))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image_id is not %d lower-case hex digits",
				      FOTA_IMAGE_ID_HEX_LEN);
	if (strnlen(k->jwe, sizeof(k->jwe)) == sizeof(k->jwe))
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "jwe longer than %d bytes",
				      FOTA_MAX_JWE_BYTES);
	return fota__json_check_text(k->jwe, 1, FOTA_MAX_JWE_BYTES, "jwe", PFX, err);
}

fota_err fota_key_doc_parse(const uint8_t *json, size_t len, struct fota_key_doc *out,
			    struct fota_error *err)
{
	cJSON *root = NULL;
	const char *s;
	fota_err rc;

	if (out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no output");
	memset(out, 0, sizeof(*out));
	rc = fota__json_load_kind(json, len, FOTA_MAX_KEY_DOC_BYTES, "type", FOTA_KEY_DOC_TYPE,
				  &root, PFX, err);
	if (rc != FOTA_OK)
		goto out;
	rc = fota__json_get_string(root, "device", true, 1, FOTA_MAX_SEGMENT_LEN, &s, PFX, err);
	if (rc == FOTA_OK)
		memcpy(out->device, s, strlen(s) + 1);
	if (rc == FOTA_OK)
		rc = fota__json_get_string(root, "image_id", true, FOTA_IMAGE_ID_HEX_LEN,
					   FOTA_IMAGE_ID_HEX_LEN, &s, PFX, err);
	if (rc == FOTA_OK)
		memcpy(out->image_id, s, strlen(s) + 1);
	if (rc == FOTA_OK)
		rc = fota__json_get_uint(root, "seq", 1, FOTA__JSON_MAX_INT, &out->seq, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_string(root, "jwe", true, 1, FOTA_MAX_JWE_BYTES, &s, PFX, err);
	if (rc == FOTA_OK)
		memcpy(out->jwe, s, strlen(s) + 1);
	if (rc == FOTA_OK)
		rc = validate(out, err);
out:
	if (rc != FOTA_OK)
		memset(out, 0, sizeof(*out));
	cJSON_Delete(root);
	return rc;
}

fota_err fota_key_doc_to_json(const struct fota_key_doc *k, char **out, struct fota_error *err)
{
	cJSON *root = NULL;
	fota_err rc;
	bool ok;

	if (out == NULL || k == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no document or output");
	*out = NULL;
	rc = validate(k, err);
	if (rc != FOTA_OK)
		return rc;
	root = cJSON_CreateObject();
	ok = root != NULL && cJSON_AddStringToObject(root, "type", FOTA_KEY_DOC_TYPE) &&
	     cJSON_AddStringToObject(root, "device", k->device) &&
	     cJSON_AddStringToObject(root, "image_id", k->image_id) &&
	     fota__json_add_uint(root, "seq", k->seq) &&
	     cJSON_AddStringToObject(root, "jwe", k->jwe);
	if (!ok || (*out = cJSON_PrintUnformatted(root)) == NULL)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory serializing");
	cJSON_Delete(root);
	return rc;
}

fota_err fota_key_doc_accept(const struct fota_trust *trust, const uint8_t *jws, size_t len,
			     const char *device, uint64_t last_seq, struct fota_key_doc *out,
			     struct fota_error *err)
{
	uint8_t *body = NULL;
	size_t body_len = 0;
	fota_err rc;

	memset(out, 0, sizeof(*out));
	/* Verified before anything parses it, by the directive's rules. */
	rc = fota_envelope_verify(trust, FOTA_ROLE_ORCHESTRATOR, (const char *)jws, len,
				  FOTA_MAX_KEY_DOC_BYTES, &body, &body_len, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "key document rejected");
		return rc;
	}
	rc = fota_key_doc_parse(body, body_len, out, err);
	free(body);
	if (rc != FOTA_OK)
		return rc;
	if (strcmp(out->device, device) != 0)
		rc = fota_error_set(err, FOTA_ERR_FIELD, PFX "names device '%s', this is '%s'",
				    out->device, device);
	else if (out->seq < last_seq)
		rc = fota_error_set(err, FOTA_ERR_ROLLBACK,
				    "key document %" PRIu64 " ignored: older than %" PRIu64
				    ", the one in use",
				    out->seq, last_seq);
	if (rc != FOTA_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
