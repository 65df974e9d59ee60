/* SPDX-License-Identifier: Apache-2.0 */
/* Test CLI over the envelope code, so scripts can cross-check it against other JOSE tools. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/envelope.h"
#include "fota/limits.h"
#include "fota/signer.h"
#include "fota/trust.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: fota_jws_tool sign KEYFILE[,KEYFILE...] KID PAYLOADFILE [--flat]\n"
		"       fota_jws_tool verify TRUSTDIR ROLE JWSFILE\n"
		"KID '-' takes each key file's own id. Several key files give one signature\n"
		"each (general serialization). verify prints the payload.\n");
}

static int read_all(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		fprintf(stderr, "%s: larger than %zu bytes\n", path, max);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int cmd_sign(int argc, char **argv)
{
	struct fota_signer *signers[FOTA_MAX_SIGNATURES] = {NULL};
	struct fota_error err = {0};
	char *payload = NULL, *json = NULL, *keys = NULL, *save = NULL, *path;
	size_t len = 0, n = 0;
	int flat = 0, rc = 1;

	if (argc == 6 && strcmp(argv[5], "--flat") == 0)
		flat = 1;
	else if (argc != 5) {
		usage();
		return 2;
	}
	if (read_all(argv[4], FOTA_MAX_DIRECTIVE_BYTES, &payload, &len) != 0)
		goto out;
	keys = strdup(argv[2]);
	for (path = keys ? strtok_r(keys, ",", &save) : NULL; path;
	     path = strtok_r(NULL, ",", &save)) {
		if (n == FOTA_MAX_SIGNATURES) {
			fprintf(stderr, "sign: more than %d key files\n", FOTA_MAX_SIGNATURES);
			goto out;
		}
		if (fota_signer_load(path, strcmp(argv[3], "-") == 0 ? NULL : argv[3], &signers[n],
				     &err) != FOTA_OK)
			goto fail;
		n++;
	}
	if (fota_envelope_sign(signers, n, (const uint8_t *)payload, len, flat, &json, &err) !=
	    FOTA_OK)
		goto fail;
	printf("%s\n", json);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "sign: %s (%s)\n", err.msg, fota_strerror(err.code));
out:
	free(json);
	free(payload);
	free(keys);
	for (size_t i = 0; i < n; i++)
		fota_signer_free(signers[i]);
	return rc;
}

static int cmd_verify(int argc, char **argv)
{
	struct fota_trust *trust = NULL;
	struct fota_error err = {0};
	enum fota_role role;
	char *jws = NULL;
	uint8_t *payload = NULL;
	size_t len = 0, payload_len = 0;
	int rc = 1;

	if (argc != 5) {
		usage();
		return 2;
	}
	trust = fota_trust_new();
	if (trust == NULL || read_all(argv[4], FOTA_MAX_DIRECTIVE_BYTES, &jws, &len) != 0)
		goto out;
	if (fota_role_parse(argv[3], &role, &err) != FOTA_OK ||
	    fota_trust_load(trust, argv[2], &err) != FOTA_OK ||
	    fota_envelope_verify(trust, role, jws, len, FOTA_MAX_DIRECTIVE_BYTES, &payload,
				 &payload_len, &err) != FOTA_OK) {
		fprintf(stderr, "verify: %s (%s)\n", err.msg, fota_strerror(err.code));
		goto out;
	}
	if (fwrite(payload, 1, payload_len, stdout) != payload_len)
		goto out;
	rc = 0;
out:
	free(payload);
	free(jws);
	fota_trust_free(trust);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc, argv);
	usage();
	return 2;
}
