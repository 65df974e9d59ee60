/* SPDX-License-Identifier: Apache-2.0 */
/* Test CLI over the JWE key wrap, so scripts can cross-check it against other JOSE tools. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fota/jwe.h"
#include "fota/limits.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: fota_jwe_tool wrap PEMFILE KID HEXKEY\n"
		"       fota_jwe_tool unwrap KEYFILE JWEFILE\n"
		"wrap takes a certificate, a public or a private key and prints the compact\n"
		"JWE; unwrap takes the private key and prints the key in hex.\n");
}

/* A certificate, a public key or a private key, whichever the file holds. */
static EVP_PKEY *load_key(const char *path, int want_private)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	if (f == NULL) {
		perror(path);
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (key == NULL && !want_private) {
		rewind(f);
		key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
		if (key == NULL) {
			rewind(f);
			cert = PEM_read_X509(f, NULL, NULL, NULL);
			key = cert ? X509_get_pubkey(cert) : NULL;
		}
	}
	X509_free(cert);
	fclose(f);
	if (key == NULL)
		fprintf(stderr, "%s: no usable key\n", path);
	return key;
}

static int cmd_wrap(char **argv)
{
	struct fota_error err = {0};
	uint8_t cek[FOTA_MAX_JWE_CEK_LEN];
	size_t n = strlen(argv[4]) / 2;
	char *jwe = NULL;
	EVP_PKEY *key = load_key(argv[2], 0);
	int rc = 1;

	if (key == NULL)
		return 1;
	if (n == 0 || n > sizeof(cek) || strlen(argv[4]) % 2 != 0) {
		fprintf(stderr, "wrap: HEXKEY is not 1..%d bytes of hex\n", FOTA_MAX_JWE_CEK_LEN);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(argv[4] + 2 * i, "%2x", &v) != 1) {
			fprintf(stderr, "wrap: HEXKEY is not hex\n");
			goto out;
		}
		cek[i] = (uint8_t)v;
	}
	if (fota_jwe_wrap_key(key, cek, n, argv[3], &jwe, &err) != FOTA_OK) {
		fprintf(stderr, "wrap: %s\n", err.msg);
		goto out;
	}
	printf("%s\n", jwe);
	rc = 0;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	free(jwe);
	EVP_PKEY_free(key);
	return rc;
}

static int cmd_unwrap(char **argv)
{
	struct fota_error err = {0};
	char buf[FOTA_MAX_JWE_BYTES + 2];
	uint8_t cek[FOTA_MAX_JWE_CEK_LEN];
	size_t len, n = 0;
	FILE *f = fopen(argv[3], "r");
	EVP_PKEY *key = load_key(argv[2], 1);
	int rc = 1;

	if (f == NULL || key == NULL) {
		if (f == NULL)
			perror(argv[3]);
		goto out;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (fota_jwe_unwrap_key(key, buf, len, cek, sizeof(cek), &n, &err) != FOTA_OK) {
		fprintf(stderr, "unwrap: %s\n", err.msg);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		printf("%02x", cek[i]);
	printf("\n");
	rc = 0;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	if (f != NULL)
		fclose(f);
	EVP_PKEY_free(key);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "wrap") == 0)
		return cmd_wrap(argv);
	if (argc == 4 && strcmp(argv[1], "unwrap") == 0)
		return cmd_unwrap(argv);
	usage();
	return 2;
}
