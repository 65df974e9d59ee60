/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the trust store: both on-disk layouts, key formats, and every refusal. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fota/limits.h"
#include "fota/trust.h"
#include "testutil.h"

#define TRUST_DIR FOTA_TEST_DATA "/trust/"

START_TEST(test_roles)
{
	enum fota_role role = FOTA_ROLE__COUNT;
	struct fota_error err = {0};

	ck_assert_str_eq(fota_role_name(FOTA_ROLE_RELEASE), "release");
	ck_assert_str_eq(fota_role_name(FOTA_ROLE_ORCHESTRATOR), "orchestrator");
	ck_assert_int_eq(fota_role_parse("orchestrator", &role, &err), FOTA_OK);
	ck_assert_int_eq(role, FOTA_ROLE_ORCHESTRATOR);
	ck_assert_int_eq(fota_role_parse("Release", &role, &err), FOTA_ERR_FIELD);
	ck_assert_str_eq(err.msg, "unknown role 'Release' (release or orchestrator)");
	ck_assert_str_eq(fota_alg_name(FOTA_ALG_ES256), "ES256");
	ck_assert_str_eq(fota_alg_name(FOTA_ALG_EDDSA), "EdDSA");
}
END_TEST

static const char *const layouts[] = {TRUST_DIR "store", TRUST_DIR "keys.jwks"};

START_TEST(test_load_layouts)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_error err = {0};

	ck_assert_msg(fota_trust_load(trust, layouts[_i], &err) == FOTA_OK, "%s", err.msg);
	ck_assert_uint_eq(fota_trust_count(trust, FOTA_ROLE_RELEASE), 3);
	ck_assert_uint_eq(fota_trust_count(trust, FOTA_ROLE_ORCHESTRATOR), 1);
	ck_assert_uint_eq(fota_trust_threshold(trust, FOTA_ROLE_RELEASE), 1);
	/* Loading the same keys again collides on the key ids and changes nothing. */
	ck_assert_int_eq(fota_trust_load(trust, layouts[_i], &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "duplicate key id"));
	ck_assert_uint_eq(fota_trust_count(trust, FOTA_ROLE_RELEASE), 3);
	fota_trust_free(trust);
}
END_TEST

static const struct {
	const char *path;
	fota_err code;
	const char *msg;
} bad_loads[] = {
    {TRUST_DIR "bad/dup_kid.jwks", FOTA_ERR_INVAL, "keys[1]: duplicate key id 'k1'"},
    {TRUST_DIR "bad/no_role.jwks", FOTA_ERR_FIELD, "keys[0]: JWK has no \"fota_role\""},
    {TRUST_DIR "bad/bad_role.jwks", FOTA_ERR_FIELD, "unknown role 'admin'"},
    {TRUST_DIR "bad/no_keys.jwks", FOTA_ERR_NOT_FOUND, "no keys found"},
    {TRUST_DIR "bad/same_key", FOTA_ERR_INVAL, "key 'b' is the same key as 'a' (role release)"},
    {TRUST_DIR "bad/private_in_store", FOTA_ERR_FIELD, "leaked.pem: PEM holds a private key"},
    {TRUST_DIR "bad/empty", FOTA_ERR_NOT_FOUND, "no keys found"},
    {TRUST_DIR "bad", FOTA_ERR_NOT_FOUND, "neither a release/ nor an orchestrator/"},
    {TRUST_DIR "bad/p384.pem", FOTA_ERR_PARSE, "neither a directory nor JSON"},
    {TRUST_DIR "does-not-exist", FOTA_ERR_IO, "cannot open trust store"},
};

START_TEST(test_load_refusals)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_error err = {0};

	ck_assert_int_eq(fota_trust_load(trust, bad_loads[_i].path, &err), bad_loads[_i].code);
	ck_assert_int_eq(err.code, bad_loads[_i].code);
	ck_assert_msg(strstr(err.msg, bad_loads[_i].msg) != NULL, "'%s' lacks '%s'", err.msg,
		      bad_loads[_i].msg);
	/* A failed load leaves nothing half-loaded behind. */
	ck_assert_uint_eq(fota_trust_count(trust, FOTA_ROLE_RELEASE), 0);
	ck_assert_uint_eq(fota_trust_count(trust, FOTA_ROLE_ORCHESTRATOR), 0);
	fota_trust_free(trust);
}
END_TEST

static const struct {
	const char *file;
	int pem;
	const char *kid;
	fota_err code;
	const char *msg;
} adds[] = {
    {"store/release/rel-2.pem", 1, "k", FOTA_OK, ""},
    {"store/release/rel-ed25519.pem", 1, "k", FOTA_OK, ""},
    {"store/release/rel-es256.jwk", 0, "k", FOTA_OK, ""},
    {"store/release/rel-es256.jwk", 0, NULL, FOTA_ERR_FIELD, "JWK has no \"kid\""},
    {"store/release/rel-2.pem", 1, NULL, FOTA_ERR_INVAL, "explicit key id"},
    {"store/release/rel-2.pem", 1, "", FOTA_ERR_FIELD, "key id '' invalid"},
    {"store/release/rel-2.pem", 1, "a/b", FOTA_ERR_FIELD, "key id 'a/b' invalid"},
    {"bad/p384.pem", 1, "k", FOTA_ERR_ALG, "secp384r1, only P-256"},
    {"bad/rsa.pem", 1, "k", FOTA_ERR_ALG, "key type RSA not allowed"},
    {"private/orch-1.pem", 1, "k", FOTA_ERR_FIELD, "private key"},
    {"bad/not_on_curve.jwk", 0, NULL, FOTA_ERR_FIELD, "valid EC key"},
    {"bad/short_x.jwk", 0, NULL, FOTA_ERR_FIELD, "\"x\" is 31 bytes, 32 needed"},
    {"bad/alg_mismatch.jwk", 0, NULL, FOTA_ERR_ALG, "JWK alg 'ES256' does not fit"},
    {"bad/hs256.jwk", 0, NULL, FOTA_ERR_ALG, "kty 'oct'"},
    /* Private members are ignored: the public half is what gets trusted. */
    {"bad/mismatched_private.jwk", 0, NULL, FOTA_OK, ""},
};

START_TEST(test_add_keys)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_error err = {0};
	char path[512], *text;
	size_t len;
	fota_err rc;

	snprintf(path, sizeof(path), TRUST_DIR "%s", adds[_i].file);
	text = tu_read_text(path, &len);
	if (adds[_i].pem)
		rc = fota_trust_add_pem(trust, adds[_i].kid, FOTA_ROLE_RELEASE, text, len, &err);
	else
		rc = fota_trust_add_jwk(trust, adds[_i].kid, FOTA_ROLE_RELEASE, text, len, &err);
	ck_assert_msg(rc == adds[_i].code, "%s: got %d (%s)", adds[_i].file, rc, err.msg);
	if (rc != FOTA_OK)
		ck_assert_msg(strstr(err.msg, adds[_i].msg) != NULL, "'%s' lacks '%s'", err.msg,
			      adds[_i].msg);
	ck_assert_uint_eq(fota_trust_count(trust, FOTA_ROLE_RELEASE), rc == FOTA_OK ? 1 : 0);
	free(text);
	fota_trust_free(trust);
}
END_TEST

START_TEST(test_thresholds)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_error err = {0};

	ck_assert_int_eq(fota_trust_set_threshold(trust, FOTA_ROLE_RELEASE, 0, &err),
			 FOTA_ERR_INVAL);
	ck_assert_str_eq(err.msg, "threshold 0 out of range 1..8");
	ck_assert_int_eq(
	    fota_trust_set_threshold(trust, FOTA_ROLE_RELEASE, FOTA_MAX_SIGNATURES + 1, &err),
	    FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_trust_set_threshold(trust, FOTA_ROLE_ORCHESTRATOR, 2, &err), FOTA_OK);
	ck_assert_uint_eq(fota_trust_threshold(trust, FOTA_ROLE_ORCHESTRATOR), 2);
	ck_assert_uint_eq(fota_trust_threshold(trust, FOTA_ROLE_RELEASE), 1);
	fota_trust_free(trust);
	fota_trust_free(NULL);
}
END_TEST

START_TEST(test_same_key_twice)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_error err = {0};
	char *text;
	size_t len;

	text = tu_read_text(TRUST_DIR "store/release/rel-2.pem", &len);
	ck_assert_int_eq(fota_trust_add_pem(trust, "k0", FOTA_ROLE_RELEASE, text, len, &err),
			 FOTA_OK);
	/* Under another id, or in the other role, it is still one key. */
	ck_assert_int_eq(fota_trust_add_pem(trust, "k1", FOTA_ROLE_ORCHESTRATOR, text, len, &err),
			 FOTA_ERR_INVAL);
	ck_assert_str_eq(err.msg, "key 'k1' is the same key as 'k0' (role release)");
	ck_assert_int_eq(fota_trust_add_pem(trust, "k0", FOTA_ROLE_RELEASE, text, len, &err),
			 FOTA_ERR_INVAL);
	ck_assert_str_eq(err.msg, "duplicate key id 'k0'");
	free(text);
	fota_trust_free(trust);
}
END_TEST

START_TEST(test_capacity)
{
	struct fota_trust *trust = fota_trust_new();
	struct fota_error err = {0};

	for (int i = 0; i <= FOTA_MAX_TRUSTED_KEYS; i++) {
		EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		BIO *bio = BIO_new(BIO_s_mem());
		char kid[16], *pem;
		long len;

		ck_assert_ptr_nonnull(key);
		ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, key), 1);
		len = BIO_get_mem_data(bio, &pem);
		snprintf(kid, sizeof(kid), "k%d", i);
		ck_assert_int_eq(
		    fota_trust_add_pem(trust, kid, FOTA_ROLE_RELEASE, pem, (size_t)len, &err),
		    i < FOTA_MAX_TRUSTED_KEYS ? FOTA_OK : FOTA_ERR_TOO_BIG);
		BIO_free(bio);
		EVP_PKEY_free(key);
	}
	ck_assert_str_eq(err.msg, "trust store holds at most 64 keys");
	ck_assert_uint_eq(fota_trust_count(trust, FOTA_ROLE_RELEASE), FOTA_MAX_TRUSTED_KEYS);
	fota_trust_free(trust);
}
END_TEST

static Suite *trust_suite(void)
{
	Suite *s = suite_create("trust");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roles);
	tcase_add_loop_test(tc, test_load_layouts, 0, 2);
	tcase_add_loop_test(tc, test_load_refusals, 0,
			    (int)(sizeof(bad_loads) / sizeof(bad_loads[0])));
	tcase_add_loop_test(tc, test_add_keys, 0, (int)(sizeof(adds) / sizeof(adds[0])));
	tcase_add_test(tc, test_thresholds);
	tcase_add_test(tc, test_same_key_twice);
	tcase_add_test(tc, test_capacity);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(trust_suite());
}
