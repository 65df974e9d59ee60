/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the key document parser, its round trip, and the JWE unwrap of what it carries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "fota/jwe.h"
#include "fota/key_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed device key: a fuzzer run must replay the same way. */
static const char device_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrWhgR7jMsprudBX0\n"
    "YpfU6/jrDlLw7GohmiuDIR+rOIChRANCAASlWATM/dYmjYKjAl/rI8k5qIKx5k20\n"
    "kVjNM63uSf9exEYotcz4AsrMAmvD6YocLrHdWnV5O59gTZpNtYcHhZlI\n"
    "-----END PRIVATE KEY-----\n";

static EVP_PKEY *key(void)
{
	static EVP_PKEY *k;

	if (k == NULL) {
		BIO *b = BIO_new_mem_buf(device_key, -1);

		k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (k == NULL)
			abort();
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_key_doc a, b;
	struct fota_error err;
	uint8_t cek[FOTA_MAX_JWE_CEK_LEN];
	size_t n = 0;
	char *j1 = NULL, *j2 = NULL;

	/* The raw input as a compact JWE too: the unwrap side sees network bytes directly. */
	(void)fota_jwe_unwrap_key(key(), (const char *)data, size, cek, sizeof(cek), &n, &err);
	if (fota_key_doc_parse(data, size, &a, &err) != FOTA_OK)
		return 0;
	(void)fota_jwe_unwrap_key(key(), a.jwe, strlen(a.jwe), cek, sizeof(cek), &n, &err);
	/* What parsed must serialize, and read back to the same document. */
	if (fota_key_doc_to_json(&a, &j1, &err) != FOTA_OK)
		abort();
	if (fota_key_doc_parse((const uint8_t *)j1, strlen(j1), &b, &err) != FOTA_OK ||
	    fota_key_doc_to_json(&b, &j2, &err) != FOTA_OK || strcmp(j1, j2) != 0)
		abort();
	free(j1);
	free(j2);
	return 0;
}
