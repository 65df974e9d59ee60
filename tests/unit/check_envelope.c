/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for JWS envelopes: RFC 7515 A.3 and RFC 8037 A.4 vectors, single-character
 * tampering of every part, the policy refusals, thresholds, and signing round trips. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "fota/b64url.h"
#include "fota/envelope.h"
#include "fota/limits.h"
#include "fota/signer.h"
#include "fota/trust.h"
/* The raw-signature primitive under the envelope, to run the RFC vectors (which carry no
 * "kid" and so cannot pass the envelope policy) through the same crypto path. */
#include "../../common/src/keys.h"
#include "testutil.h"

#define ENV_DIR FOTA_TEST_DATA "/envelope/"
#define TRUST_DIR FOTA_TEST_DATA "/trust/"

static struct fota_signer *signer(const char *path, const char *kid)
{
	struct fota_signer *s = NULL;
	struct fota_error err = {0};

	ck_assert_msg(fota_signer_load(path, kid, &s, &err) == FOTA_OK, "%s: %s", path, err.msg);
	return s;
}

static const char test_payload[] = "{\"schema\":\"fota.manifest.v1\",\"sequence\":42}";

/* Signs test_payload with the given signers. */
static char *sign_with(struct fota_signer **signers, size_t n, int flat)
{
	struct fota_error err = {0};
	char *json = NULL;

	ck_assert_msg(fota_envelope_sign(signers, n, (const uint8_t *)test_payload,
					 strlen(test_payload), flat, &json, &err) == FOTA_OK,
		      "%s", err.msg);
	return json;
}

static fota_err verify(const struct fota_trust *trust, enum fota_role role, const char *json,
		       struct fota_error *err)
{
	uint8_t *payload = (uint8_t *)"sentinel";
	size_t payload_len = 99;
	fota_err rc;

	rc = fota_envelope_verify(trust, role, json, strlen(json), FOTA_MAX_ENVELOPE_BYTES,
				  &payload, &payload_len, err);
	if (rc == FOTA_OK) {
		ck_assert_uint_eq(payload_len, strlen(test_payload));
		ck_assert_mem_eq(payload, test_payload, payload_len);
		ck_assert_uint_eq(payload[payload_len], 0);
		free(payload);
	} else {
		/* Nothing of an unverified document may reach the caller. */
		ck_assert_ptr_null(payload);
		ck_assert_uint_eq(payload_len, 0);
	}
	return rc;
}

/* ---- RFC vectors ---- */

static const struct {
	const char *json;    /* JSON serialization rebuilt from the RFC's compact form */
	const char *compact; /* the RFC's compact serialization */
	const char *key;     /* the RFC's JWK */
	enum fota_alg alg;
	const char *payload; /* decoded payload start */
} rfc[] = {
    {"rfc7515_a3_general.json", "rfc7515_a3.jws", "rfc7515_a3_key.jwk", FOTA_ALG_ES256,
     "{\"iss\":\"joe\",\r\n \"exp\":1300819380,"},
    {"rfc7515_a3_flat.json", "rfc7515_a3.jws", "rfc7515_a3_key.jwk", FOTA_ALG_ES256,
     "{\"iss\":\"joe\",\r\n \"exp\":1300819380,"},
    {"rfc8037_a4_general.json", "rfc8037_a4.jws", "rfc8037_a1_key.jwk", FOTA_ALG_EDDSA,
     "Example of Ed25519 signing"},
    {"rfc8037_a4_flat.json", "rfc8037_a4.jws", "rfc8037_a1_key.jwk", FOTA_ALG_EDDSA,
     "Example of Ed25519 signing"},
};

struct parts {
	char *prot, *payload, *sig;
};

static struct parts parts_of(const char *text)
{
	cJSON *root = cJSON_Parse(text), *one;
	const cJSON *sigs;
	struct parts p;

	ck_assert_ptr_nonnull(root);
	sigs = cJSON_GetObjectItemCaseSensitive(root, "signatures");
	one = sigs ? cJSON_GetArrayItem(sigs, 0) : root;
	p.payload = strdup(cJSON_GetObjectItemCaseSensitive(root, "payload")->valuestring);
	p.prot = strdup(cJSON_GetObjectItemCaseSensitive(one, "protected")->valuestring);
	p.sig = strdup(cJSON_GetObjectItemCaseSensitive(one, "signature")->valuestring);
	cJSON_Delete(root);
	return p;
}

static struct parts rfc_parts(const char *json_file)
{
	char *text = tu_read_text(json_file, NULL);
	struct parts p = parts_of(text);

	free(text);
	return p;
}

static void parts_free(struct parts *p)
{
	free(p->prot);
	free(p->payload);
	free(p->sig);
}

static EVP_PKEY *rfc_key(const char *file)
{
	char *text = tu_read_text(file, NULL);
	cJSON *jwk = cJSON_Parse(text);
	struct fota_error err = {0};
	EVP_PKEY *key = NULL;

	ck_assert_msg(fota__key_from_jwk(jwk, FOTA__KEY_PUBLIC, &key, &err) == FOTA_OK, "%s",
		      err.msg);
	cJSON_Delete(jwk);
	free(text);
	return key;
}

/* Verifies the three base64url parts exactly as the envelope does. */
static fota_err rfc_verify(EVP_PKEY *key, enum fota_alg alg, const struct parts *p)
{
	struct fota_error err = {0};
	uint8_t *sig = NULL;
	size_t sig_len = 0, in_len;
	char *input;
	fota_err rc;

	rc = fota_b64url_decode(p->sig, strlen(p->sig), &sig, &sig_len, &err);
	if (rc != FOTA_OK)
		return rc;
	in_len = strlen(p->prot) + 1 + strlen(p->payload);
	input = malloc(in_len + 1);
	snprintf(input, in_len + 1, "%s.%s", p->prot, p->payload);
	rc = fota__key_verify(key, alg, (const uint8_t *)input, in_len, sig, sig_len, &err);
	free(input);
	free(sig);
	return rc;
}

START_TEST(test_rfc_vector_verifies)
{
	char path[512], *compact, rebuilt[1024];
	struct parts p;
	EVP_PKEY *key;
	uint8_t *payload = NULL;
	size_t payload_len = 0;

	snprintf(path, sizeof(path), ENV_DIR "%s", rfc[_i].json);
	p = rfc_parts(path);
	snprintf(path, sizeof(path), ENV_DIR "%s", rfc[_i].compact);
	compact = tu_read_text(path, NULL);
	compact[strcspn(compact, "\n")] = '\0';
	/* The JSON file really is the RFC's compact form, re-serialized. */
	snprintf(rebuilt, sizeof(rebuilt), "%s.%s.%s", p.prot, p.payload, p.sig);
	ck_assert_str_eq(rebuilt, compact);
	snprintf(path, sizeof(path), ENV_DIR "%s", rfc[_i].key);
	key = rfc_key(path);
	ck_assert_int_eq(rfc_verify(key, rfc[_i].alg, &p), FOTA_OK);
	/* The other algorithm name must not verify with this key. */
	ck_assert_int_eq(
	    rfc_verify(key, rfc[_i].alg == FOTA_ALG_ES256 ? FOTA_ALG_EDDSA : FOTA_ALG_ES256, &p),
	    FOTA_ERR_ALG);
	ck_assert_int_eq(
	    fota_b64url_decode(p.payload, strlen(p.payload), &payload, &payload_len, NULL),
	    FOTA_OK);
	ck_assert_int_eq(strncmp((char *)payload, rfc[_i].payload, strlen(rfc[_i].payload)), 0);
	free(payload);
	EVP_PKEY_free(key);
	free(compact);
	parts_free(&p);
}
END_TEST

/* Every position of every part, swapped for another base64url character, must break it. */
static void tamper_all(struct parts *p, fota_err (*check)(struct parts *, void *), void *ctx,
		       size_t *tried)
{
	char *fields[3] = {p->prot, p->payload, p->sig};

	for (int f = 0; f < 3; f++) {
		char *s = fields[f];
		size_t n = strlen(s);

		for (size_t i = 0; i < n; i++) {
			char orig = s[i];

			s[i] = orig == 'A' ? 'B' : 'A';
			ck_assert_msg(check(p, ctx) != FOTA_OK,
				      "part %d position %zu ('%c' -> '%c') still verifies", f, i,
				      orig, s[i]);
			s[i] = orig;
			(*tried)++;
		}
	}
	ck_assert_int_eq(check(p, ctx), FOTA_OK);
}

struct rfc_ctx {
	EVP_PKEY *key;
	enum fota_alg alg;
};

static fota_err rfc_check(struct parts *p, void *ctx)
{
	struct rfc_ctx *c = ctx;

	return rfc_verify(c->key, c->alg, p);
}

START_TEST(test_rfc_vector_tamper_table)
{
	char path[512];
	struct parts p;
	struct rfc_ctx ctx;
	size_t tried = 0;

	snprintf(path, sizeof(path), ENV_DIR "%s", rfc[_i].json);
	p = rfc_parts(path);
	snprintf(path, sizeof(path), ENV_DIR "%s", rfc[_i].key);
	ctx.key = rfc_key(path);
	ctx.alg = rfc[_i].alg;
	tamper_all(&p, rfc_check, &ctx, &tried);
	ck_assert_uint_eq(tried, strlen(p.prot) + strlen(p.payload) + strlen(p.sig));
	ck_assert_uint_gt(tried, 100);
	EVP_PKEY_free(ctx.key);
	parts_free(&p);
}
END_TEST

START_TEST(test_rfc_vector_without_kid_refused)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_error err = {0};
	char path[512], *json, *jwk;
	uint8_t *payload = NULL;
	size_t len, payload_len;

	snprintf(path, sizeof(path), ENV_DIR "%s", rfc[_i].key);
	jwk = tu_read_text(path, &len);
	ck_assert_int_eq(fota_trust_add_jwk(trust, "rfc", FOTA_ROLE_RELEASE, jwk, len, &err),
			 FOTA_OK);
	snprintf(path, sizeof(path), ENV_DIR "%s", rfc[_i].json);
	json = tu_read_text(path, &len);
	/* Our policy wants a protected "kid"; the RFC examples have none. */
	ck_assert_int_eq(fota_envelope_verify(trust, FOTA_ROLE_RELEASE, json, len, len, &payload,
					      &payload_len, &err),
			 FOTA_ERR_FIELD);
	ck_assert_ptr_null(payload);
	ck_assert_str_eq(err.msg, "signature 0: protected header has no \"kid\"");
	free(json);
	free(jwk);
	fota_trust_free(trust);
}
END_TEST

/* ---- envelopes with key ids, through the full verifier ---- */

struct env_ctx {
	const struct fota_trust *trust;
	int flat;
};

static fota_err env_check(struct parts *p, void *ctx)
{
	struct env_ctx *c = ctx;
	char json[2048];

	if (c->flat)
		snprintf(json, sizeof(json),
			 "{\"payload\":\"%s\",\"protected\":\"%s\",\"signature\":\"%s\"}",
			 p->payload, p->prot, p->sig);
	else
		snprintf(json, sizeof(json),
			 "{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\","
			 "\"signature\":\"%s\"}]}",
			 p->payload, p->prot, p->sig);
	return verify(c->trust, FOTA_ROLE_RELEASE, json, NULL);
}

static const struct {
	const char *key;
	const char *kid;
	int flat;
} signed_cases[] = {
    {ENV_DIR "rfc7515_a3_key.jwk", "rel-es256", 0},
    {ENV_DIR "rfc7515_a3_key.jwk", "rel-es256", 1},
    {TRUST_DIR "private/rel-ed25519.pem", NULL, 0},
    {TRUST_DIR "private/rel-ed25519.pem", NULL, 1},
    {ENV_DIR "rfc8037_a1_key.jwk", "rel-ed25519", 1},
    {TRUST_DIR "private/rel-2.pem", NULL, 0},
};

START_TEST(test_sign_verify_tamper_table)
{
	struct fota_trust *trust = tu_trust();
	struct fota_signer *s = signer(signed_cases[_i].key, signed_cases[_i].kid);
	struct env_ctx ctx = {trust, signed_cases[_i].flat};
	char *json = sign_with(&s, 1, signed_cases[_i].flat);
	struct parts p;
	size_t tried = 0;

	/* The signed output has the shape we promise: general or flattened. */
	ck_assert(signed_cases[_i].flat == (strstr(json, "\"signatures\"") == NULL));
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, json, NULL), FOTA_OK);
	p = parts_of(json);
	tamper_all(&p, env_check, &ctx, &tried);
	ck_assert_uint_gt(tried, 100);
	parts_free(&p);
	free(json);
	fota_signer_free(s);
	fota_trust_free(trust);
}
END_TEST

static const struct {
	const char *file;
	enum fota_role role;
	fota_err code;
	const char *msg; /* exact message, or a substring when it starts with '~' */
} bad[] = {
    {"bad_alg_none.json", FOTA_ROLE_RELEASE, FOTA_ERR_ALG,
     "signature 0: alg 'none' not allowed (ES256 or EdDSA)"},
    {"bad_alg_hs256.json", FOTA_ROLE_RELEASE, FOTA_ERR_ALG,
     "signature 0: alg 'HS256' not allowed (ES256 or EdDSA)"},
    {"bad_alg_rs256.json", FOTA_ROLE_RELEASE, FOTA_ERR_ALG, "~alg 'RS256' not allowed"},
    {"bad_alg_lowercase.json", FOTA_ROLE_RELEASE, FOTA_ERR_ALG, "~alg 'es256' not allowed"},
    {"bad_alg_mismatch.json", FOTA_ROLE_RELEASE, FOTA_ERR_ALG,
     "signature 0: alg 'EdDSA' does not match key 'rel-es256' (ES256)"},
    {"bad_alg_missing.json", FOTA_ROLE_RELEASE, FOTA_ERR_FIELD,
     "signature 0: protected header has no \"alg\""},
    {"bad_crit.json", FOTA_ROLE_RELEASE, FOTA_ERR_CRITICAL,
     "signature 0: \"crit\" header not supported"},
    {"bad_b64_false.json", FOTA_ROLE_RELEASE, FOTA_ERR_CRITICAL, "~\"b64\""},
    {"bad_no_kid.json", FOTA_ROLE_RELEASE, FOTA_ERR_FIELD,
     "signature 0: protected header has no \"kid\""},
    {"bad_unknown_kid.json", FOTA_ROLE_RELEASE, FOTA_ERR_UNKNOWN_KEY,
     "signature 0: unknown key id 'abc' for role release"},
    {"bad_wrong_role.json", FOTA_ROLE_RELEASE, FOTA_ERR_WRONG_ROLE,
     "signature 0: key 'orch-1' has role orchestrator, release needed"},
    {"bad_alg_none.json", FOTA_ROLE_ORCHESTRATOR, FOTA_ERR_ALG, "~alg 'none' not allowed"},
    {"bad_dup_alg.json", FOTA_ROLE_RELEASE, FOTA_ERR_PARSE,
     "signature 0: protected header: duplicate member 'alg'"},
    {"bad_header_not_object.json", FOTA_ROLE_RELEASE, FOTA_ERR_PARSE,
     "signature 0: protected header: not a JSON object"},
    {"bad_sig_too_long.json", FOTA_ROLE_RELEASE, FOTA_ERR_SIGNATURE,
     "signature 0: signature longer than 64 bytes"},
    {"bad_sig_short.json", FOTA_ROLE_RELEASE, FOTA_ERR_SIGNATURE,
     "signature 0: key 'rel-es256': ES256 signature is 63 bytes, not 64"},
    {"bad_protected_too_big.json", FOTA_ROLE_RELEASE, FOTA_ERR_TOO_BIG,
     "signature 0: protected header exceeds 1024 bytes"},
    {"bad_too_many_sigs.json", FOTA_ROLE_RELEASE, FOTA_ERR_TOO_BIG, "9 signatures, at most 8"},
    {"bad_empty_signatures.json", FOTA_ROLE_RELEASE, FOTA_ERR_FIELD, "\"signatures\" is empty"},
    {"bad_mixed_forms.json", FOTA_ROLE_RELEASE, FOTA_ERR_PARSE,
     "envelope mixes general and flattened serialization"},
    {"bad_no_payload.json", FOTA_ROLE_RELEASE, FOTA_ERR_FIELD,
     "envelope has no \"payload\" string"},
    {"bad_no_signature.json", FOTA_ROLE_RELEASE, FOTA_ERR_FIELD,
     "envelope has neither \"signatures\" nor \"signature\""},
    {"bad_padded.json", FOTA_ROLE_RELEASE, FOTA_ERR_PARSE, "~must not be padded"},
    {"bad_not_json.json", FOTA_ROLE_RELEASE, FOTA_ERR_PARSE,
     "envelope: malformed JSON near byte 18"},
    {"bad_top_array.json", FOTA_ROLE_RELEASE, FOTA_ERR_PARSE, "envelope: not a JSON object"},
    {"bad_dup_payload.json", FOTA_ROLE_RELEASE, FOTA_ERR_PARSE,
     "envelope: duplicate member 'payload'"},
    {"rfc7515_a3_general.json", FOTA_ROLE_RELEASE, FOTA_ERR_FIELD, "~has no \"kid\""},
};

START_TEST(test_bad_envelopes)
{
	struct fota_trust *trust = tu_trust();
	struct fota_error err = {0};
	char path[512], *json;

	snprintf(path, sizeof(path), ENV_DIR "%s", bad[_i].file);
	json = tu_read_text(path, NULL);
	ck_assert_int_eq(verify(trust, bad[_i].role, json, &err), bad[_i].code);
	ck_assert_int_eq(err.code, bad[_i].code);
	if (bad[_i].msg[0] == '~')
		ck_assert_msg(strstr(err.msg, bad[_i].msg + 1) != NULL, "%s: '%s' lacks '%s'",
			      bad[_i].file, err.msg, bad[_i].msg + 1);
	else
		ck_assert_str_eq(err.msg, bad[_i].msg);
	free(json);
	fota_trust_free(trust);
}
END_TEST

/* ---- the envelope and protected header are read as strictly as the documents ---- */

/* A flattened envelope whose protected header is exactly header (len bytes), correctly signed
 * by the trusted Ed25519 release key, followed by suffix: what passes here passes on the
 * signature, so only the parsing rules can refuse it. */
static char *signed_raw_header(const char *header, size_t len, const char *body_extra,
			       const char *suffix)
{
	char *pem = tu_read_text(TRUST_DIR "private/rel-ed25519.pem", NULL);
	char *prot = fota_b64url_encode((const uint8_t *)header, len);
	char *payload = fota_b64url_encode((const uint8_t *)test_payload, strlen(test_payload));
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[64];
	size_t sig_len = sizeof(sig), n;
	char *input, *sig_b64, *json;

	ck_assert_int_eq(fota__key_from_pem(pem, strlen(pem), FOTA__KEY_PRIVATE, &key, NULL),
			 FOTA_OK);
	n = strlen(prot) + 1 + strlen(payload);
	input = malloc(n + 1);
	snprintf(input, n + 1, "%s.%s", prot, payload);
	ck_assert(ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		  EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *)input, n) == 1);
	sig_b64 = fota_b64url_encode(sig, sig_len);
	n = strlen(prot) + strlen(payload) + strlen(sig_b64) + strlen(body_extra) + strlen(suffix) +
	    64;
	json = malloc(n);
	snprintf(json, n, "{%s\"payload\":\"%s\",\"protected\":\"%s\",\"signature\":\"%s\"}%s",
		 body_extra, payload, prot, sig_b64, suffix);
	free(sig_b64);
	free(input);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	free(payload);
	free(prot);
	free(pem);
	return json;
}

static const char good_header[] = "{\"alg\":\"EdDSA\",\"kid\":\"rel-ed25519\"}";

static const struct {
	const char *header; /* NULL: good_header */
	size_t header_len;  /* 0: strlen(header) */
	const char *body_extra, *suffix;
	fota_err code;
	const char *msg;
} strict_cases[] = {
    /* The control row: everything below differs from it in one place only. */
    {NULL, 0, "", "", FOTA_OK, ""},
    {"{\"alg\":\"EdDSA\",\"kid\":\"rel-ed25519\\u0000evil\"}", 0, "", "", FOTA_ERR_PARSE,
     "signature 0: protected header: \\u0000 escape in a string"},
    {"{\"alg\":\"EdDSA\",\"kid\":\"rel-ed25519\"}\0", 36, "", "", FOTA_ERR_PARSE,
     "signature 0: protected header: NUL byte in document"},
    {"{\"alg\":\"EdDSA\",\"kid\":\"rel-ed25519\"}{\"alg\":\"none\"}", 0, "", "", FOTA_ERR_PARSE,
     "signature 0: protected header: malformed JSON near byte 35"},
    {"{\"alg\":\"EdDSA\",\f\"kid\":\"rel-ed25519\"}", 0, "", "", FOTA_ERR_PARSE,
     "signature 0: protected header: malformed JSON near byte 15"},
    {"{\"alg\":\"EdDSA\",\"kid\":\"rel-ed25519\",\"v\":01}", 0, "", "", FOTA_ERR_PARSE,
     "signature 0: protected header: malformed JSON near byte 40"},
    {"{\"alg\":\"EdDSA\",\"kid\":\"rel-ed25519\",\"x\":{\"a\":1,\"a\":2}}", 0, "", "",
     FOTA_ERR_PARSE, "signature 0: protected header: duplicate member 'a'"},
    {NULL, 0, "", "x", FOTA_ERR_PARSE, "envelope: malformed JSON near byte 235"},
    {NULL, 0, "", "{\"payload\":\"e30\"}", FOTA_ERR_PARSE,
     "envelope: malformed JSON near byte 235"},
    {NULL, 0, "", "\f", FOTA_ERR_PARSE, "envelope: malformed JSON near byte 235"},
    {NULL, 0, "", "\r\n", FOTA_OK, ""},
    {NULL, 0, "\"note\":\"a\\u0000b\",", "", FOTA_ERR_PARSE,
     "envelope: \\u0000 escape in a string"},
    {NULL, 0, "\"n\":060,", "", FOTA_ERR_PARSE, "envelope: malformed JSON near byte 6"},
    {NULL, 0, "\"s\":\"\xc0\xaf\",", "", FOTA_ERR_PARSE, "envelope: malformed JSON near byte 6"},
    {NULL, 0, "\"header\":{\"kid\":\"a\",\"kid\":\"b\"},", "", FOTA_ERR_PARSE,
     "envelope: duplicate member 'kid'"},
};

START_TEST(test_strict_envelope)
{
	struct fota_trust *trust = tu_trust();
	struct fota_error err = {0};
	const char *header = strict_cases[_i].header ? strict_cases[_i].header : good_header;
	size_t header_len =
	    strict_cases[_i].header_len ? strict_cases[_i].header_len : strlen(header);
	char *json = signed_raw_header(header, header_len, strict_cases[_i].body_extra,
				       strict_cases[_i].suffix);

	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, json, &err), strict_cases[_i].code);
	ck_assert_str_eq(err.msg, strict_cases[_i].msg);
	free(json);
	fota_trust_free(trust);
}
END_TEST

/* A NUL byte inside the received envelope bytes, after a complete, validly signed object. */
START_TEST(test_envelope_nul_byte)
{
	struct fota_trust *trust = tu_trust();
	struct fota_error err = {0};
	char *json = signed_raw_header(good_header, strlen(good_header), "", " ");
	size_t len = strlen(json);
	uint8_t *payload = NULL;
	size_t payload_len = 0;

	json[len - 1] = '\0'; /* the trailing space becomes a NUL the length still covers */
	ck_assert_int_eq(fota_envelope_verify(trust, FOTA_ROLE_RELEASE, json, len,
					      FOTA_MAX_ENVELOPE_BYTES, &payload, &payload_len,
					      &err),
			 FOTA_ERR_PARSE);
	ck_assert_str_eq(err.msg, "envelope: NUL byte in document");
	ck_assert_ptr_null(payload);
	free(json);
	fota_trust_free(trust);
}
END_TEST

/* A stored copy is read as a device reads it: the same rules and messages, no verification. */
START_TEST(test_payload_without_verifying)
{
	static const struct {
		const char *body_extra, *suffix;
		fota_err code;
		const char *msg;
	} cases[] = {
	    {"", "", FOTA_OK, ""},
	    {"", "x", FOTA_ERR_PARSE, "envelope: malformed JSON near byte 235"},
	    {"\"n\":060,", "", FOTA_ERR_PARSE, "envelope: malformed JSON near byte 6"},
	    {"\"payload\":\"e30\",", "", FOTA_ERR_PARSE, "envelope: duplicate member 'payload'"},
	};

	for (int i = 0; i < TU_N(cases); i++) {
		char *json = signed_raw_header(good_header, strlen(good_header),
					       cases[i].body_extra, cases[i].suffix);
		struct fota_error err = {0};
		uint8_t *payload = (uint8_t *)1;
		size_t payload_len = 1;

		ck_assert_int_eq(fota_envelope_payload(json, strlen(json), FOTA_MAX_ENVELOPE_BYTES,
						       &payload, &payload_len, &err),
				 cases[i].code);
		ck_assert_str_eq(err.msg, cases[i].msg);
		if (cases[i].code == FOTA_OK) {
			ck_assert_uint_eq(payload_len, strlen(test_payload));
			ck_assert_mem_eq(payload, test_payload, payload_len);
			free(payload);
			/* The limit is the caller's, as for verification. */
			ck_assert_int_eq(fota_envelope_payload(json, strlen(json), strlen(json) - 1,
							       &payload, &payload_len, &err),
					 FOTA_ERR_TOO_BIG);
		}
		ck_assert_ptr_null(payload);
		free(json);
	}
}
END_TEST

START_TEST(test_oversize)
{
	struct fota_trust *trust = tu_trust();
	struct fota_signer *s = signer(ENV_DIR "rfc7515_a3_key.jwk", "rel-es256");
	char *json = sign_with(&s, 1, 0);
	struct fota_error err = {0};
	uint8_t *payload = NULL;
	size_t payload_len = 0, len = strlen(json);

	ck_assert_int_eq(fota_envelope_verify(trust, FOTA_ROLE_RELEASE, json, len, len - 1,
					      &payload, &payload_len, &err),
			 FOTA_ERR_TOO_BIG);
	ck_assert_ptr_null(payload);
	ck_assert_ptr_nonnull(strstr(err.msg, "limit"));
	/* Exactly at the limit is fine. */
	ck_assert_int_eq(fota_envelope_verify(trust, FOTA_ROLE_RELEASE, json, len, len, &payload,
					      &payload_len, &err),
			 FOTA_OK);
	free(payload);
	free(json);
	fota_signer_free(s);
	fota_trust_free(trust);
}
END_TEST

START_TEST(test_role_separation)
{
	struct fota_trust *trust = tu_trust();
	struct fota_signer *orch = signer(TRUST_DIR "private/orch-1.pem", NULL);
	char *json = sign_with(&orch, 1, 0);
	struct fota_error err = {0};

	ck_assert_str_eq(fota_signer_kid(orch), "orch-1");
	ck_assert_int_eq(verify(trust, FOTA_ROLE_ORCHESTRATOR, json, &err), FOTA_OK);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, json, &err), FOTA_ERR_WRONG_ROLE);
	ck_assert_str_eq(err.msg,
			 "signature 0: key 'orch-1' has role orchestrator, release needed");
	free(json);
	fota_signer_free(orch);
	fota_trust_free(trust);
}
END_TEST

START_TEST(test_threshold)
{
	struct fota_trust *trust = tu_trust();
	struct fota_signer *s[3] = {signer(ENV_DIR "rfc7515_a3_key.jwk", "rel-es256"),
				    signer(TRUST_DIR "private/rel-2.pem", NULL),
				    signer(TRUST_DIR "private/rel-ed25519.pem", NULL)};
	struct fota_error err = {0};
	char *one = sign_with(s, 1, 0), *two = sign_with(s, 2, 0), *three = sign_with(s, 3, 0);

	ck_assert_int_eq(fota_trust_set_threshold(trust, FOTA_ROLE_RELEASE, 2, &err), FOTA_OK);
	ck_assert_uint_eq(fota_trust_threshold(trust, FOTA_ROLE_RELEASE), 2);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, one, &err), FOTA_ERR_THRESHOLD);
	ck_assert_str_eq(err.msg, "1 valid release signature(s), 2 needed");
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, two, &err), FOTA_OK);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, three, &err), FOTA_OK);
	ck_assert_int_eq(fota_trust_set_threshold(trust, FOTA_ROLE_RELEASE, 3, &err), FOTA_OK);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, two, &err), FOTA_ERR_THRESHOLD);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, three, &err), FOTA_OK);
	/* The orchestrator threshold is separate. */
	ck_assert_uint_eq(fota_trust_threshold(trust, FOTA_ROLE_ORCHESTRATOR), 1);
	free(one);
	free(two);
	free(three);
	for (int i = 0; i < 3; i++)
		fota_signer_free(s[i]);
	fota_trust_free(trust);
}
END_TEST

/* Merges the signatures[] of b into a (both general form). */
static char *merge(const char *a, const char *b)
{
	cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
	cJSON *sa = cJSON_GetObjectItemCaseSensitive(ja, "signatures");
	cJSON *sb = cJSON_GetObjectItemCaseSensitive(jb, "signatures");
	char *out;

	ck_assert_ptr_nonnull(sa);
	ck_assert_ptr_nonnull(sb);
	ck_assert(cJSON_AddItemToArray(sa, cJSON_Duplicate(cJSON_GetArrayItem(sb, 0), 1)));
	out = cJSON_PrintUnformatted(ja);
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	return out;
}

START_TEST(test_same_key_counted_once)
{
	struct fota_trust *trust = tu_trust();
	struct fota_signer *s = signer(ENV_DIR "rfc7515_a3_key.jwk", "rel-es256");
	struct fota_error err = {0};
	char *a = sign_with(&s, 1, 0), *b = sign_with(&s, 1, 0), *both;

	/* ES256 is randomized: two distinct, both valid, signatures by one key. */
	ck_assert_str_ne(a, b);
	both = merge(a, b);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, both, &err), FOTA_OK);
	ck_assert_int_eq(fota_trust_set_threshold(trust, FOTA_ROLE_RELEASE, 2, &err), FOTA_OK);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, both, &err), FOTA_ERR_THRESHOLD);
	ck_assert_str_eq(err.msg, "1 valid release signature(s), 2 needed");
	free(a);
	free(b);
	free(both);
	fota_signer_free(s);
	fota_trust_free(trust);
}
END_TEST

START_TEST(test_unknown_signer_skipped)
{
	struct fota_trust *trust = tu_trust();
	struct fota_signer *s[2] = {signer(TRUST_DIR "private/rel-2.pem", "retired-2019"),
				    signer(TRUST_DIR "private/rel-2.pem", NULL)};
	struct fota_error err = {0};
	char *json = sign_with(s, 2, 0), *alone = sign_with(s, 1, 0);

	/* A signature by a key we do not hold is no reason to refuse the valid one. */
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, json, &err), FOTA_OK);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, alone, &err), FOTA_ERR_UNKNOWN_KEY);
	ck_assert_str_eq(err.msg, "signature 0: unknown key id 'retired-2019' for role release");
	ck_assert_int_eq(fota_trust_set_threshold(trust, FOTA_ROLE_RELEASE, 2, &err), FOTA_OK);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, json, &err), FOTA_ERR_THRESHOLD);
	ck_assert_str_eq(err.msg, "1 valid release signature(s), 2 needed (signature 0: unknown "
				  "key id 'retired-2019' for role release)");
	free(json);
	free(alone);
	fota_signer_free(s[0]);
	fota_signer_free(s[1]);
	fota_trust_free(trust);
}
END_TEST

START_TEST(test_bad_signature_by_trusted_key)
{
	struct fota_trust *trust = tu_trust();
	struct fota_signer *s = signer(TRUST_DIR "private/rel-2.pem", NULL);
	struct fota_signer *imposter = signer(ENV_DIR "rfc7515_a3_key.jwk", "rel-2");
	struct fota_error err = {0};
	char *json = sign_with(&imposter, 1, 1);

	/* Right kid, wrong private key: the forged signature is refused outright. */
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, json, &err), FOTA_ERR_SIGNATURE);
	ck_assert_str_eq(err.msg, "signature 0: key 'rel-2': ES256 signature does not verify");
	free(json);
	fota_signer_free(s);
	fota_signer_free(imposter);
	fota_trust_free(trust);
}
END_TEST

START_TEST(test_flattened_and_general_agree)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_signer *s = signer(TRUST_DIR "private/rel-ed25519.pem", NULL);
	struct fota_error err = {0};
	char *flat = sign_with(&s, 1, 1), *general = sign_with(&s, 1, 0);
	cJSON *jf = cJSON_Parse(flat), *jg = cJSON_Parse(general);
	const cJSON *g0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jg, "signatures"), 0);

	ck_assert_int_eq(fota_trust_load(trust, TRUST_DIR "keys.jwks", &err), FOTA_OK);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, flat, &err), FOTA_OK);
	ck_assert_int_eq(verify(trust, FOTA_ROLE_RELEASE, general, &err), FOTA_OK);
	/* Ed25519 is deterministic: both forms carry the same protected header and signature. */
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(jf, "protected")->valuestring,
			 cJSON_GetObjectItemCaseSensitive(g0, "protected")->valuestring);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(jf, "signature")->valuestring,
			 cJSON_GetObjectItemCaseSensitive(g0, "signature")->valuestring);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(jf, "signatures"));
	cJSON_Delete(jf);
	cJSON_Delete(jg);
	free(flat);
	free(general);
	fota_signer_free(s);
	fota_trust_free(trust);
}
END_TEST

START_TEST(test_protected_header_content)
{
	struct fota_signer *s = signer(TRUST_DIR "private/rel-2.pem", NULL);
	char *json = sign_with(&s, 1, 1);
	cJSON *root = cJSON_Parse(json);
	const char *prot = cJSON_GetObjectItemCaseSensitive(root, "protected")->valuestring;
	uint8_t *hdr = NULL, *sig = NULL;
	size_t hdr_len = 0, sig_len = 0;
	const char *sig_b64 = cJSON_GetObjectItemCaseSensitive(root, "signature")->valuestring;

	ck_assert_int_eq(fota_signer_alg(s), FOTA_ALG_ES256);
	ck_assert_int_eq(fota_b64url_decode(prot, strlen(prot), &hdr, &hdr_len, NULL), FOTA_OK);
	ck_assert_str_eq((char *)hdr, "{\"alg\":\"ES256\",\"kid\":\"rel-2\"}");
	/* Raw R||S, not DER. */
	ck_assert_int_eq(fota_b64url_decode(sig_b64, strlen(sig_b64), &sig, &sig_len, NULL),
			 FOTA_OK);
	ck_assert_uint_eq(sig_len, 64);
	free(hdr);
	free(sig);
	cJSON_Delete(root);
	free(json);
	fota_signer_free(s);
}
END_TEST

static const struct {
	const char *path;
	const char *kid;
	fota_err code;
	const char *msg;
} signer_bad[] = {
    {TRUST_DIR "bad/encrypted.pem", NULL, FOTA_ERR_FIELD, "encrypted"},
    {TRUST_DIR "bad/mismatched_private.jwk", NULL, FOTA_ERR_FIELD, "does not match"},
    {TRUST_DIR "store/release/rel-2.pem", NULL, FOTA_ERR_PARSE, "no private key"},
    {TRUST_DIR "store/release/rel-es256.jwk", NULL, FOTA_ERR_FIELD, "\"d\" missing"},
    {TRUST_DIR "bad/p384.pem", NULL, FOTA_ERR_PARSE, "no private key"},
    {TRUST_DIR "bad/hs256.jwk", NULL, FOTA_ERR_ALG, "kty 'oct'"},
    {TRUST_DIR "private/rel-2.pem", "bad\"kid", FOTA_ERR_FIELD, "key id"},
    {TRUST_DIR "private/does-not-exist.pem", NULL, FOTA_ERR_IO, "cannot open"},
};

START_TEST(test_signer_refusals)
{
	struct fota_signer *s = NULL;
	struct fota_error err = {0};

	ck_assert_int_eq(fota_signer_load(signer_bad[_i].path, signer_bad[_i].kid, &s, &err),
			 signer_bad[_i].code);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err.msg, signer_bad[_i].msg) != NULL, "'%s' lacks '%s'", err.msg,
		      signer_bad[_i].msg);
}
END_TEST

START_TEST(test_sign_argument_checks)
{
	struct fota_signer *s[2] = {signer(TRUST_DIR "private/rel-2.pem", NULL),
				    signer(TRUST_DIR "private/orch-1.pem", NULL)};
	struct fota_signer *dup[2] = {s[0], s[0]};
	struct fota_error err = {0};
	char *json = NULL;

	ck_assert_int_eq(fota_envelope_sign(s, 2, (const uint8_t *)"x", 1, 1, &json, &err),
			 FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "flattened"));
	ck_assert_int_eq(fota_envelope_sign(s, 0, (const uint8_t *)"x", 1, 0, &json, &err),
			 FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_envelope_sign(dup, 2, (const uint8_t *)"x", 1, 0, &json, &err),
			 FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "repeats key id 'rel-2'"));
	ck_assert_ptr_null(json);
	fota_signer_free(s[0]);
	fota_signer_free(s[1]);
	fota_signer_free(NULL);
}
END_TEST

static Suite *envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_rfc_vector_verifies, 0, (int)(sizeof(rfc) / sizeof(rfc[0])));
	tcase_add_loop_test(tc, test_rfc_vector_tamper_table, 0,
			    (int)(sizeof(rfc) / sizeof(rfc[0])));
	tcase_add_loop_test(tc, test_rfc_vector_without_kid_refused, 0,
			    (int)(sizeof(rfc) / sizeof(rfc[0])));
	tcase_add_loop_test(tc, test_sign_verify_tamper_table, 0,
			    (int)(sizeof(signed_cases) / sizeof(signed_cases[0])));
	tcase_add_loop_test(tc, test_bad_envelopes, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_loop_test(tc, test_strict_envelope, 0,
			    (int)(sizeof(strict_cases) / sizeof(strict_cases[0])));
	tcase_add_test(tc, test_envelope_nul_byte);
	tcase_add_test(tc, test_payload_without_verifying);
	tcase_add_test(tc, test_oversize);
	tcase_add_test(tc, test_role_separation);
	tcase_add_test(tc, test_threshold);
	tcase_add_test(tc, test_same_key_counted_once);
	tcase_add_test(tc, test_unknown_signer_skipped);
	tcase_add_test(tc, test_bad_signature_by_trusted_key);
	tcase_add_test(tc, test_flattened_and_general_agree);
	tcase_add_test(tc, test_protected_header_content);
	tcase_add_loop_test(tc, test_signer_refusals, 0,
			    (int)(sizeof(signer_bad) / sizeof(signer_bad[0])));
	tcase_add_test(tc, test_sign_argument_checks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(envelope_suite());
}
