/* SPDX-License-Identifier: Apache-2.0 */
/* JWS JSON serialization verifier: checks signatures over the exact signed bytes and hands out
 * the payload only once enough trusted keys of the right role have signed it. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "fota/b64url.h"
#include "fota/envelope.h"
#include "fota/limits.h"
#include "json.h"
#include "keys.h"

/* Longest base64url text that can decode to n bytes. */
#define B64_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

struct sig_result {
	EVP_PKEY *key; /* the trusted key that verified, NULL if skipped */
	fota_err skip; /* why it was skipped (unknown key, wrong role) */
};

/* Checks one signature object. A non-OK return rejects the whole envelope; a signature by a
 * key this store does not hold for `role` is only skipped, since a document may carry
 * signatures for other verifiers (key rotation, other roles). */
static fota_err verify_one(const struct fota_trust *trust, enum fota_role role, size_t idx,
			   const cJSON *sig_obj, const char *payload_b64, struct sig_result *res,
			   struct fota_error *err)
{
	const char *prot_b64, *sig_b64, *alg_name, *kid;
	uint8_t *prot = NULL, *sig = NULL, *input = NULL;
	size_t prot_len = 0, sig_len = 0, prot_b64_len, payload_b64_len;
	const cJSON *b64;
	cJSON *header = NULL;
	enum fota_alg alg, key_alg;
	enum fota_role key_role;
	EVP_PKEY *key = NULL;
	char shown[48], where[32], header_pfx[64];
	fota_err rc;

	res->key = NULL;
	res->skip = FOTA_OK;
	snprintf(where, sizeof(where), "signature %zu", idx);
	if (!cJSON_IsObject(sig_obj)) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, "%s is not a JSON object", where);
		goto out;
	}
	prot_b64 = fota__json_find_string(sig_obj, "protected");
	if (prot_b64 == NULL) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "%s: no \"protected\" header", where);
		goto out;
	}
	prot_b64_len = strlen(prot_b64);
	if (prot_b64_len > B64_LEN(FOTA_MAX_PROTECTED_BYTES)) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "%s: protected header exceeds %d bytes",
				    where, FOTA_MAX_PROTECTED_BYTES);
		goto out;
	}
	rc = fota_b64url_decode(prot_b64, prot_b64_len, &prot, &prot_len, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "protected header");
		fota_error_prefix(err, where);
		goto out;
	}
	/* The payload documents' rules: one RFC 8259 object, no NUL or \u0000 (a kid
	 * "orch-1\u0000evil" would read as "orch-1"), nothing after it (a second object could
	 * carry another "alg" for a reader that takes the last), no duplicate names (RFC 7515 4).
	 */
	snprintf(header_pfx, sizeof(header_pfx), "%s: protected header: ", where);
	rc = fota__json_load(prot, prot_len, FOTA_MAX_PROTECTED_BYTES, &header, header_pfx, err);
	if (rc != FOTA_OK)
		goto out;
	/* We understand no extension, so any "crit" list names something we cannot honour. */
	if (cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL) {
		rc = fota_error_set(err, FOTA_ERR_CRITICAL, "%s: \"crit\" header not supported",
				    where);
		goto out;
	}
	/* RFC 7797 "b64":false changes what is signed; without "crit" it is never legitimate. */
	b64 = cJSON_GetObjectItemCaseSensitive(header, "b64");
	if (b64 != NULL && !cJSON_IsTrue(b64)) {
		rc = fota_error_set(err, FOTA_ERR_CRITICAL,
				    "%s: unencoded payload (\"b64\") not supported", where);
		goto out;
	}
	alg_name = fota__json_find_string(header, "alg");
	if (alg_name == NULL) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "%s: protected header has no \"alg\"",
				    where);
		goto out;
	}
	rc = fota__alg_parse(alg_name, &alg, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, where);
		goto out;
	}
	kid = fota__json_find_string(header, "kid");
	if (kid == NULL) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "%s: protected header has no \"kid\"",
				    where);
		goto out;
	}
	if (fota__trust_find(trust, kid, &key_role, &key_alg, &key) != FOTA_OK) {
		res->skip = fota_error_set(
		    err, FOTA_ERR_UNKNOWN_KEY, "%s: unknown key id '%s' for role %s", where,
		    fota__printable(kid, shown, sizeof(shown)), fota_role_name(role));
		rc = FOTA_OK;
		goto out;
	}
	if (key_role != role) {
		res->skip =
		    fota_error_set(err, FOTA_ERR_WRONG_ROLE, "%s: key '%s' has role %s, %s needed",
				   where, kid, fota_role_name(key_role), fota_role_name(role));
		rc = FOTA_OK;
		goto out;
	}
	/* The key decides the algorithm; a header naming another one is an alg-confusion try. */
	if (key_alg != alg) {
		rc = fota_error_set(err, FOTA_ERR_ALG, "%s: alg '%s' does not match key '%s' (%s)",
				    where, alg_name, kid, fota_alg_name(key_alg));
		goto out;
	}
	sig_b64 = fota__json_find_string(sig_obj, "signature");
	if (sig_b64 == NULL) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "%s: no \"signature\"", where);
		goto out;
	}
	if (strlen(sig_b64) > B64_LEN(FOTA__MAX_SIG_LEN)) {
		rc = fota_error_set(err, FOTA_ERR_SIGNATURE, "%s: signature longer than %d bytes",
				    where, FOTA__MAX_SIG_LEN);
		goto out;
	}
	rc = fota_b64url_decode(sig_b64, strlen(sig_b64), &sig, &sig_len, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "signature value");
		fota_error_prefix(err, where);
		goto out;
	}
	/* Signing input: ASCII(BASE64URL(protected) || '.' || BASE64URL(payload)), the
	 * transmitted text itself, never a re-encoding of decoded bytes. */
	payload_b64_len = strlen(payload_b64);
	input = malloc(prot_b64_len + 1 + payload_b64_len);
	if (input == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory verifying %s", where);
		goto out;
	}
	memcpy(input, prot_b64, prot_b64_len);
	input[prot_b64_len] = '.';
	memcpy(input + prot_b64_len + 1, payload_b64, payload_b64_len);
	rc = fota__key_verify(key, alg, input, prot_b64_len + 1 + payload_b64_len, sig, sig_len,
			      err);
	if (rc != FOTA_OK) {
		char by[FOTA_MAX_KID_LEN + 16];

		snprintf(by, sizeof(by), "key '%s'", kid);
		fota_error_prefix(err, by);
		fota_error_prefix(err, where);
		goto out;
	}
	res->key = key;
out:
	cJSON_Delete(header);
	free(prot);
	free(sig);
	free(input);
	return rc;
}

/* The envelope as one strict JSON document (the documents' own rules: two readers of one
 * envelope must agree on which payload and which signatures it holds) and its payload text. */
static fota_err load_envelope(const char *jws, size_t len, size_t max_len, cJSON **root,
			      const char **payload_b64, struct fota_error *err)
{
	fota_err rc;

	if (len > max_len)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "envelope is %zu bytes, limit %zu",
				      len, max_len);
	rc = fota__json_load((const uint8_t *)jws, len, max_len, root, "envelope: ", err);
	if (rc != FOTA_OK)
		return rc;
	*payload_b64 = fota__json_find_string(*root, "payload");
	if (*payload_b64 == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "envelope has no \"payload\" string");
	return FOTA_OK;
}

static fota_err decode_payload(const char *payload_b64, uint8_t **payload, size_t *payload_len,
			       struct fota_error *err)
{
	fota_err rc =
	    fota_b64url_decode(payload_b64, strlen(payload_b64), payload, payload_len, err);

	if (rc != FOTA_OK)
		fota_error_prefix(err, "payload");
	else
		fota_error_clear(err);
	return rc;
}

fota_err fota_envelope_verify(const struct fota_trust *trust, enum fota_role role, const char *jws,
			      size_t len, size_t max_len, uint8_t **payload, size_t *payload_len,
			      struct fota_error *err)
{
	EVP_PKEY *verified[FOTA_MAX_SIGNATURES];
	struct fota_error skipped = {FOTA_OK, ""};
	const cJSON *sigs, *sig_obj;
	const char *payload_b64;
	cJSON *root = NULL;
	size_t n_verified = 0, idx = 0;
	unsigned threshold;
	fota_err rc;

	if (payload != NULL)
		*payload = NULL;
	if (payload_len != NULL)
		*payload_len = 0;
	if (trust == NULL || jws == NULL || payload == NULL || payload_len == NULL ||
	    (unsigned)role >= FOTA_ROLE__COUNT)
		return fota_error_set(err, FOTA_ERR_INVAL, "envelope verify: invalid argument");
	rc = load_envelope(jws, len, max_len, &root, &payload_b64, err);
	if (rc != FOTA_OK)
		goto out;
	sigs = cJSON_GetObjectItemCaseSensitive(root, "signatures");
	if (sigs != NULL) {
		int n;

		/* RFC 7515 7.2.1: the general form must not also carry flattened members. */
		if (cJSON_GetObjectItemCaseSensitive(root, "protected") != NULL ||
		    cJSON_GetObjectItemCaseSensitive(root, "signature") != NULL) {
			rc = fota_error_set(err, FOTA_ERR_PARSE,
					    "envelope mixes general and flattened serialization");
			goto out;
		}
		if (!cJSON_IsArray(sigs)) {
			rc = fota_error_set(err, FOTA_ERR_FIELD, "\"signatures\" is not an array");
			goto out;
		}
		n = cJSON_GetArraySize(sigs);
		if (n == 0) {
			rc = fota_error_set(err, FOTA_ERR_FIELD, "\"signatures\" is empty");
			goto out;
		}
		if (n > FOTA_MAX_SIGNATURES) {
			rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "%d signatures, at most %d", n,
					    FOTA_MAX_SIGNATURES);
			goto out;
		}
	} else if (cJSON_GetObjectItemCaseSensitive(root, "signature") == NULL) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "envelope has neither \"signatures\" nor \"signature\"");
		goto out;
	}
	sig_obj = sigs != NULL ? sigs->child : root;
	for (; sig_obj != NULL; sig_obj = sigs != NULL ? sig_obj->next : NULL, idx++) {
		struct fota_error one = {FOTA_OK, ""};
		struct sig_result res;
		size_t j;

		rc = verify_one(trust, role, idx, sig_obj, payload_b64, &res, &one);
		if (rc != FOTA_OK) {
			fota_error_set(err, rc, "%s", one.msg);
			goto out;
		}
		if (res.key == NULL) {
			if (skipped.code == FOTA_OK)
				skipped = one;
			continue;
		}
		/* Distinct keys, not signatures: one key signing twice is one vote. */
		for (j = 0; j < n_verified && verified[j] != res.key; j++)
			;
		if (j == n_verified)
			verified[n_verified++] = res.key;
	}
	threshold = fota_trust_threshold(trust, role);
	if (n_verified < threshold) {
		if (n_verified == 0 && threshold == 1 && skipped.code != FOTA_OK) {
			rc = fota_error_set(err, skipped.code, "%s", skipped.msg);
		} else if (skipped.code != FOTA_OK) {
			rc = fota_error_set(err, FOTA_ERR_THRESHOLD,
					    "%zu valid %s signature(s), %u needed (%s)", n_verified,
					    fota_role_name(role), threshold, skipped.msg);
		} else {
			rc = fota_error_set(err, FOTA_ERR_THRESHOLD,
					    "%zu valid %s signature(s), %u needed", n_verified,
					    fota_role_name(role), threshold);
		}
		goto out;
	}
	/* Only now, with the text proven authentic, is the payload decoded. */
	rc = decode_payload(payload_b64, payload, payload_len, err);
out:
	cJSON_Delete(root);
	return rc;
}

fota_err fota_envelope_payload(const char *jws, size_t len, size_t max_len, uint8_t **payload,
			       size_t *payload_len, struct fota_error *err)
{
	const char *payload_b64;
	cJSON *root = NULL;
	fota_err rc;

	if (payload != NULL)
		*payload = NULL;
	if (payload_len != NULL)
		*payload_len = 0;
	if (jws == NULL || payload == NULL || payload_len == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "envelope payload: invalid argument");
	rc = load_envelope(jws, len, max_len, &root, &payload_b64, err);
	if (rc == FOTA_OK)
		rc = decode_payload(payload_b64, payload, payload_len, err);
	cJSON_Delete(root);
	return rc;
}
