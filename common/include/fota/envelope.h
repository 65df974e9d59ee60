/* SPDX-License-Identifier: Apache-2.0 */
/* Signed envelope: JWS JSON serialization (RFC 7515 section 7.2), verification side. */
#ifndef FOTA_ENVELOPE_H
#define FOTA_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/trust.h"

/*
 * Verifies a JWS in general ({"payload","signatures":[{"protected","signature"}]}) or flattened
 * ({"payload","protected","signature"}) JSON serialization against the keys of `role`.
 *
 * Only the exact signed bytes are returned: the payload is verified *before* anything parses
 * it. Each protected header must name an allowed "alg" (ES256, EdDSA; never "none" or HMAC)
 * matching the key's type, and a "kid"; a "crit" header is refused. Unprotected "header"
 * members are ignored. At least fota_trust_threshold(role) distinct trusted keys of that role
 * must verify; signatures by unknown keys are skipped, and the error then says which kid.
 *
 * jws need not be NUL-terminated; len > max_len is FOTA_ERR_TOO_BIG.
 * On success *payload is malloc'd (caller frees) with a NUL after *payload_len bytes.
 */
fota_err fota_envelope_verify(const struct fota_trust *trust, enum fota_role role, const char *jws,
			      size_t len, size_t max_len, uint8_t **payload, size_t *payload_len,
			      struct fota_error *err);

/*
 * The payload of an envelope read by the same strict rules, without verifying it: for a copy
 * that was verified when it was stored (the orchestrator's image store), so that it is read
 * exactly as a device will read it. Same limits, messages and ownership as
 * fota_envelope_verify.
 */
fota_err fota_envelope_payload(const char *jws, size_t len, size_t max_len, uint8_t **payload,
			       size_t *payload_len, struct fota_error *err);

#endif
