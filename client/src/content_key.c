/* SPDX-License-Identifier: Apache-2.0 */
/* The content key of an encrypted image: key document in, unwrapped key held in memory. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "content_key.h"
#include "fota/jwe.h"
#include "fota/key_doc.h"

static EVP_PKEY *load_private(const char *path, struct fota_error *err)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = NULL;

	if (f == NULL) {
		fota_error_set(err, FOTA_ERR_IO, "no content key: cannot read the device key %s",
			       path);
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (k == NULL)
		fota_error_set(err, FOTA_ERR_FIELD, "no content key: %s holds no private key",
			       path);
	return k;
}

fota_err content_key_accept(struct content_key *ck, const struct fota_trust *trust,
			    const char *device, const char *key_path, const uint8_t *payload,
			    size_t len, struct fota_error *err)
{
	struct fota_key_doc doc;
	uint8_t key[FOTA_CONTENT_KEY_LEN];
	size_t n = 0;
	EVP_PKEY *priv = NULL;
	fota_err rc = fota_key_doc_accept(trust, payload, len, device, ck->seq, &doc, err);

	if (rc != FOTA_OK)
		return rc;
	priv = load_private(key_path, err);
	if (priv == NULL)
		return err != NULL ? err->code : FOTA_ERR_IO;
	rc = fota_jwe_unwrap_key(priv, doc.jwe, strlen(doc.jwe), key, sizeof(key), &n, err);
	EVP_PKEY_free(priv);
	if (rc == FOTA_OK && n != sizeof(key))
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "content key does not unwrap: %zu bytes, not %u", n,
				    FOTA_CONTENT_KEY_LEN);
	if (rc == FOTA_OK) {
		content_key_clear(ck);
		memcpy(ck->key, key, sizeof(key));
		memcpy(ck->image_id, doc.image_id, sizeof(ck->image_id));
		ck->seq = doc.seq;
		ck->has = true;
		/* fota_key_doc_accept bounds len by FOTA_MAX_KEY_DOC_BYTES; payload may be ck->doc
		 */
		ck->doc_len = len <= sizeof(ck->doc) ? len : 0;
		memmove(ck->doc, payload, ck->doc_len);
	}
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

bool content_key_for(const struct content_key *ck, const uint8_t sha256[FOTA_SHA256_LEN])
{
	char hex[FOTA_SHA256_HEX_LEN + 1];

	if (!ck->has)
		return false;
	fota_hex_encode(sha256, FOTA_IMAGE_ID_LEN, hex);
	return strcmp(hex, ck->image_id) == 0;
}

void content_key_clear(struct content_key *ck)
{
	OPENSSL_cleanse(ck->key, sizeof(ck->key));
	ck->image_id[0] = '\0';
	ck->has = false;
}

fota_err content_key_reopen(struct content_key *ck, const struct fota_trust *trust,
			    const char *device, const char *key_path, struct fota_error *err)
{
	if (ck->doc_len == 0)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND, "no key document held");
	return content_key_accept(ck, trust, device, key_path, ck->doc, ck->doc_len, err);
}

void content_key_forget(struct content_key *ck)
{
	OPENSSL_cleanse(ck->doc, ck->doc_len);
	ck->doc_len = 0;
}
