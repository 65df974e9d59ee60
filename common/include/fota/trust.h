/* SPDX-License-Identifier: Apache-2.0 */
/* Trust store: public keys by key id and role; a document verifies only with its role's keys. */
#ifndef FOTA_TRUST_H
#define FOTA_TRUST_H

#include <stddef.h>

#include "fota/error.h"

enum fota_role {
	FOTA_ROLE_RELEASE = 0,	    /* offline key: signs image manifests */
	FOTA_ROLE_ORCHESTRATOR = 1, /* online key: signs campaign directives */
	FOTA_ROLE__COUNT
};

enum fota_alg {
	FOTA_ALG_ES256 = 0, /* ECDSA P-256 SHA-256, JWS "ES256" */
	FOTA_ALG_EDDSA = 1, /* Ed25519, JWS "EdDSA" (RFC 8037) */
};

const char *fota_role_name(enum fota_role role);
/* "release" / "orchestrator"; FOTA_ERR_FIELD otherwise. */
fota_err fota_role_parse(const char *name, enum fota_role *out, struct fota_error *err);
const char *fota_alg_name(enum fota_alg alg);

struct fota_trust;

struct fota_trust *fota_trust_new(void);
void fota_trust_free(struct fota_trust *trust); /* NULL is a no-op */

/* Adds one public key. PEM (SubjectPublicKeyInfo, EC P-256 or Ed25519) with an explicit kid,
 * or a JWK object (kty EC/crv P-256 or kty OKP/crv Ed25519) whose "kid" member is used unless
 * kid is non-NULL. Private members in a JWK are ignored. Duplicate kids are refused. */
fota_err fota_trust_add_pem(struct fota_trust *trust, const char *kid, enum fota_role role,
			    const char *pem, size_t len, struct fota_error *err);
fota_err fota_trust_add_jwk(struct fota_trust *trust, const char *kid, enum fota_role role,
			    const char *jwk_json, size_t len, struct fota_error *err);

/* Loads a trust store from path:
 *  - a directory holding release/ and orchestrator/ subdirectories, each with <kid>.pem or
 *    <kid>.jwk files (the file name minus its extension is the key id), or
 *  - a JWK Set file {"keys":[...]} where each key carries "kid" and "fota_role".
 * Fails if no key at all was loaded. */
fota_err fota_trust_load(struct fota_trust *trust, const char *path, struct fota_error *err);

/* How many distinct trusted keys of a role must sign (default 1). */
fota_err fota_trust_set_threshold(struct fota_trust *trust, enum fota_role role, unsigned n,
				  struct fota_error *err);
unsigned fota_trust_threshold(const struct fota_trust *trust, enum fota_role role);
size_t fota_trust_count(const struct fota_trust *trust, enum fota_role role);

#endif
