/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: arbitrary bytes as a signed envelope against a fixed two-role store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/envelope.h"
#include "fota/limits.h"
#include "fota/trust.h"

/* Public halves of the RFC 7515 A.3 (P-256) and RFC 8037 A.1 (Ed25519) example keys, so
 * seeds built from those documents reach the signature check. */
static const char release_jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"rel-es256\","
				  "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
				  "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char orchestrator_jwk[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"orch-ed\","
				       "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";

static struct fota_trust *store(void)
{
	static struct fota_trust *trust;

	if (trust == NULL) {
		trust = fota_trust_new();
		if (trust == NULL ||
		    fota_trust_add_jwk(trust, NULL, FOTA_ROLE_RELEASE, release_jwk,
				       strlen(release_jwk), NULL) != FOTA_OK ||
		    fota_trust_add_jwk(trust, NULL, FOTA_ROLE_ORCHESTRATOR, orchestrator_jwk,
				       strlen(orchestrator_jwk), NULL) != FOTA_OK)
			abort();
	}
	return trust;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_error err;
	uint8_t *payload = NULL;
	size_t payload_len = 0;

	for (int role = 0; role < FOTA_ROLE__COUNT; role++) {
		fota_err rc =
		    fota_envelope_verify(store(), (enum fota_role)role, (const char *)data, size,
					 FOTA_MAX_ENVELOPE_BYTES, &payload, &payload_len, &err);

		/* The contract: a payload exactly when verification succeeded. */
		if ((rc == FOTA_OK) != (payload != NULL))
			abort();
		free(payload);
		payload = NULL;
	}
	return 0;
}
