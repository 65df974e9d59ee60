/* SPDX-License-Identifier: Apache-2.0 */
/* Signing side of the envelope; lives in libfota-sign, which the device agent never links. */
#ifndef FOTA_SIGNER_H
#define FOTA_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/trust.h"

struct fota_signer;

/* Loads a private key from a PEM file (PKCS#8 or traditional EC, P-256 or Ed25519) or a JWK
 * file with "d". kid names the key in the protected header; NULL takes the JWK's "kid" or,
 * for PEM, the file name without directory and extension. */
fota_err fota_signer_load(const char *path, const char *kid, struct fota_signer **out,
			  struct fota_error *err);
void fota_signer_free(struct fota_signer *signer); /* wipes key material; NULL is a no-op */
enum fota_alg fota_signer_alg(const struct fota_signer *signer);
const char *fota_signer_kid(const struct fota_signer *signer);

/* Signs payload with every signer (one signature each) into a general JSON serialization;
 * flattened = 1 gives the flattened form (only with exactly one signer). Protected header:
 * {"alg":...,"kid":...}. ES256 signatures are raw R||S (64 bytes) as RFC 7518 requires.
 * *out_json is malloc'd, NUL-terminated (caller frees). */
fota_err fota_envelope_sign(struct fota_signer *const *signers, size_t n_signers,
			    const uint8_t *payload, size_t len, int flattened, char **out_json,
			    struct fota_error *err);

#endif
