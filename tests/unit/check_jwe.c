/* SPDX-License-Identifier: Apache-2.0 */
/* JWE key wrap: round trip, another device's key, tampering, and the strict header rules. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fota/b64url.h"
#include "fota/jwe.h"
#include "testutil.h"

static EVP_PKEY *dev1, *dev2;
static uint8_t cek[32];
static char *jwe;

static void setup(void)
{
	struct fota_error err = {0};

	dev1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	dev2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(dev1);
	ck_assert_ptr_nonnull(dev2);
	ck_assert_int_eq(RAND_bytes(cek, sizeof(cek)), 1);
	ck_assert_msg(fota_jwe_wrap_key(dev1, cek, sizeof(cek), "dev-1", &jwe, &err) == FOTA_OK,
		      "%s", err.msg);
}

static void teardown(void)
{
	free(jwe);
	EVP_PKEY_free(dev1);
	EVP_PKEY_free(dev2);
}

static fota_err unwrap(EVP_PKEY *key, const char *s, struct fota_error *err)
{
	uint8_t out[64];
	size_t n = 99;
	fota_err rc = fota_jwe_unwrap_key(key, s, strlen(s), out, sizeof(out), &n, err);

	if (rc == FOTA_OK) {
		ck_assert_uint_eq(n, sizeof(cek));
		ck_assert_mem_eq(out, cek, sizeof(cek));
	} else {
		ck_assert_uint_eq(n, 0);
	}
	return rc;
}

START_TEST(test_round_trip)
{
	struct fota_error err = {0};
	uint8_t *hdr = NULL;
	size_t hlen = 0;
	const char *dot = strchr(jwe, '.');

	ck_assert_msg(unwrap(dev1, jwe, &err) == FOTA_OK, "%s", err.msg);
	/* The header is the documented one, with the ephemeral key and the device id. */
	ck_assert_int_eq(fota_b64url_decode(jwe, (size_t)(dot - jwe), &hdr, &hlen, &err), FOTA_OK);
	ck_assert_ptr_nonnull(strstr((char *)hdr, "\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\","
						  "\"kid\":\"dev-1\",\"epk\":{\"kty\":\"EC\","
						  "\"crv\":\"P-256\",\"x\":"));
	free(hdr);
}
END_TEST

/* Another device's key: what a device given someone else's key document sees. */
START_TEST(test_another_key_does_not_unwrap)
{
	struct fota_error err = {0};

	ck_assert_int_eq(unwrap(dev2, jwe, &err), FOTA_ERR_SIGNATURE);
	ck_assert_ptr_nonnull(strstr(err.msg, "content key does not unwrap"));
}
END_TEST

/* One character changed in each part: never a different key, always a reason. */
START_TEST(test_tampered_part)
{
	struct fota_error err = {0};
	char *t = strdup(jwe);
	char *p = t;
	fota_err rc;

	for (int i = 0; i < _i; i++)
		p = strchr(p, '.') + 1;
	/* The second character: in every part its 6 bits are all payload. */
	p[1] = p[1] == 'A' ? 'B' : 'A';
	rc = unwrap(dev1, t, &err);
	ck_assert_msg(rc != FOTA_OK, "part %d", _i);
	if (_i >= 1) /* the header may stop parsing instead */
		ck_assert_msg(strstr(err.msg, "content key does not unwrap") != NULL ||
				  strstr(err.msg, "bytes") != NULL,
			      "%s", err.msg);
	free(t);
}
END_TEST

/* The JWE with its protected header replaced by json (the rest kept). */
static char *with_header(const char *json)
{
	char *h = fota_b64url_encode((const uint8_t *)json, strlen(json));
	const char *rest = strchr(jwe, '.');
	size_t n = strlen(h) + strlen(rest) + 1;
	char *s = malloc(n);

	snprintf(s, n, "%s%s", h, rest);
	free(h);
	return s;
}

#define EPK                                                                                        \
	"\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"                                         \
	"\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":"                                   \
	"\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"

static const struct {
	const char *header;
	fota_err code;
	const char *msg;
} bad_headers[] = {
    {"{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\"," EPK "}", FOTA_ERR_ALG,
     "alg 'ECDH-ES' is not ECDH-ES+A256KW"},
    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128GCM\"," EPK "}", FOTA_ERR_ALG,
     "enc 'A128GCM' is not A256GCM"},
    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"," EPK "}", FOTA_ERR_CRITICAL,
     "header member 'zip' is not understood"},
    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}", FOTA_ERR_FIELD, "epk missing"},
    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"OKP\",\"crv\":"
     "\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}}",
     FOTA_ERR_ALG, "epk is not a P-256 key"},
    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\",\"crv\":"
     "\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":"
     "\"x_FEzRu9m36HLN_tue659LNpXX6pCyStikYjKIWI5a0\"}}",
     FOTA_ERR_FIELD, "epk: JWK does not describe a valid EC key"},
    {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\",\"crv\":"
     "\"P-256\",\"d\":\"AAAA\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":"
     "\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}}",
     FOTA_ERR_CRITICAL, "epk member 'd' is not understood"},
    {"{\"alg\":\"ECDH-ES+A256KW\",\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK "}",
     FOTA_ERR_PARSE, "duplicate member 'alg'"},
    {"[1]", FOTA_ERR_PARSE, "not a JSON object"},
};

START_TEST(test_bad_header)
{
	struct fota_error err = {0};
	char *s = with_header(bad_headers[_i].header);

	ck_assert_msg(unwrap(dev1, s, &err) == bad_headers[_i].code, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, bad_headers[_i].msg) != NULL, "%s", err.msg);
	ck_assert_msg(strncmp(err.msg, "wrapped key rejected: ", 22) == 0, "%s", err.msg);
	free(s);
}
END_TEST

/* An epk that is a valid point works up to the key agreement: the JWE is still not for us. */
START_TEST(test_foreign_epk)
{
	struct fota_error err = {0};
	char *s = with_header("{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," EPK "}");

	ck_assert_int_eq(unwrap(dev1, s, &err), FOTA_ERR_SIGNATURE);
	ck_assert_ptr_nonnull(strstr(err.msg, "content key does not unwrap"));
	free(s);
}
END_TEST

START_TEST(test_shape_and_limits)
{
	struct fota_error err = {0};
	char big[FOTA_MAX_JWE_BYTES + 2];
	uint8_t out[16];
	size_t n;
	char *six = malloc(strlen(jwe) + 3);

	ck_assert_int_eq(unwrap(dev1, "a.b.c.d", &err), FOTA_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "4 parts, a compact JWE has 5"));
	sprintf(six, "%s.x", jwe);
	ck_assert_int_eq(unwrap(dev1, six, &err), FOTA_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "more than 5 parts"));
	free(six);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(unwrap(dev1, big, &err), FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "2049 bytes > limit 2048"));
	/* Room for less than the key: refused, not truncated. */
	ck_assert_int_eq(fota_jwe_unwrap_key(dev1, jwe, strlen(jwe), out, sizeof(out), &n, &err),
			 FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "key of 32 bytes, room for 16"));
	/* The public half is enough to wrap, never to unwrap. */
	ck_assert_int_eq(fota_jwe_wrap_key(dev1, cek, 0, "dev-1", &six, &err), FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_jwe_wrap_key(dev1, cek, sizeof(cek), "a/b", &six, &err),
			 FOTA_ERR_INVAL);
}
END_TEST

/* Two wraps of the same key differ (fresh ephemeral key and IV) and both unwrap. */
START_TEST(test_fresh_each_time)
{
	struct fota_error err = {0};
	char *again = NULL;

	ck_assert_int_eq(fota_jwe_wrap_key(dev1, cek, sizeof(cek), "dev-1", &again, &err), FOTA_OK);
	ck_assert_str_ne(again, jwe);
	ck_assert_int_eq(unwrap(dev1, again, &err), FOTA_OK);
	free(again);
}
END_TEST

static Suite *jwe_suite(void)
{
	Suite *s = suite_create("jwe");
	TCase *tc = tcase_create("ecdh-es+a256kw");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_another_key_does_not_unwrap);
	tcase_add_loop_test(tc, test_tampered_part, 0, 5);
	tcase_add_loop_test(tc, test_bad_header, 0,
			    (int)(sizeof(bad_headers) / sizeof(bad_headers[0])));
	tcase_add_test(tc, test_foreign_epk);
	tcase_add_test(tc, test_shape_and_limits);
	tcase_add_test(tc, test_fresh_each_time);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(jwe_suite());
}
