/* SPDX-License-Identifier: Apache-2.0 */
/* Broker settings checked before connecting: URI forms, CA, certificate, key and their match. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fota/mqtt_check.h"
#include "testutil.h"

static char tmpdir[256];
static char ca[512], cert[512], key[512], other_key[512], garbage[512];

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

static void write_key(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/* A self-signed certificate with CN cn for k. */
static void write_cert(const char *path, EVP_PKEY *k, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(f);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
}

static void setup(void)
{
	EVP_PKEY *k, *k2;

	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_mqtt_check");
	tu_path(ca, sizeof(ca), tmpdir, "ca.crt");
	tu_path(cert, sizeof(cert), tmpdir, "dev-1.crt");
	tu_path(key, sizeof(key), tmpdir, "dev-1.key");
	tu_path(other_key, sizeof(other_key), tmpdir, "other.key");
	tu_path(garbage, sizeof(garbage), tmpdir, "garbage.pem");
	k = new_key();
	k2 = new_key();
	write_cert(ca, k2, "test CA");
	write_cert(cert, k, "dev-1");
	write_key(key, k);
	write_key(other_key, k2);
	tu_write_text(garbage, "not a PEM file\n");
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

static const struct uri_case {
	const char *uri;
	bool ok;
	bool tls;
	const char *host;
	unsigned port;
	const char *why; /* part of the error */
} uri_cases[] = {
    {"ssl://broker:8883", true, true, "broker", 8883, NULL},
    {"mqtts://broker", true, true, "broker", 8883, NULL},
    {"tcp://127.0.0.1:1883", true, false, "127.0.0.1", 1883, NULL},
    {"mqtt://broker", true, false, "broker", 1883, NULL},
    {"ssl://[::1]:9000", true, true, "::1", 9000, NULL},
    {"ssl://broker:8883/", true, true, "broker", 8883, NULL},
    {"localhost", false, false, NULL, 0, "has no scheme"},
    {"broker:8883", false, false, NULL, 0, "has no scheme"},
    {"http://localhost:1883", false, false, NULL, 0, "scheme 'http' is not an MQTT one"},
    {"ssl://", false, false, NULL, 0, "names no host"},
    {"ssl://:8883", false, false, NULL, 0, "names no host"},
    {"ssl://broker:0", false, false, NULL, 0, "port must be 1..65535"},
    {"ssl://broker:99999", false, false, NULL, 0, "port must be 1..65535"},
    {"ssl://broker:88x", false, false, NULL, 0, "port must be 1..65535"},
    {"ssl://[::1:8883", false, false, NULL, 0, "without ']'"},
    {"ssl://broker:8883/fota", false, false, NULL, 0, "unexpected '/fota'"},
};

START_TEST(test_uri)
{
	const struct uri_case *c = &uri_cases[_i];
	struct fota_mqtt_uri u;
	struct fota_error err = {0};
	fota_err rc = fota_mqtt_uri_parse(c->uri, &u, &err);

	if (c->ok) {
		ck_assert_msg(rc == FOTA_OK, "%s: %s", c->uri, err.msg);
		ck_assert_int_eq(u.tls, c->tls);
		ck_assert_str_eq(u.host, c->host);
		ck_assert_uint_eq(u.port, c->port);
		return;
	}
	ck_assert_int_eq(rc, FOTA_ERR_FIELD);
	ck_assert_msg(strstr(err.msg, c->why) != NULL, "%s: '%s' lacks '%s'", c->uri, err.msg,
		      c->why);
	ck_assert_msg(strstr(err.msg, c->uri) != NULL, "'%s' does not quote the uri", err.msg);
}
END_TEST

/* Which files a case uses: the names stand for the fixture's paths. */
static const char *file(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "ca") == 0)
		return ca;
	if (strcmp(name, "cert") == 0)
		return cert;
	if (strcmp(name, "key") == 0)
		return key;
	if (strcmp(name, "other_key") == 0)
		return other_key;
	if (strcmp(name, "garbage") == 0)
		return garbage;
	return name; /* a path that does not exist */
}

static const struct tls_case {
	const char *uri, *ca, *cert, *key;
	const char *why; /* NULL: accepted */
} tls_cases[] = {
    {"ssl://broker", "ca", "cert", "key", NULL},
    {"ssl://broker", "ca", NULL, NULL, NULL},
    {"tcp://broker", NULL, NULL, NULL, NULL},
    {"ssl://broker", NULL, "cert", "key", "no CA file is set"},
    {"ssl://broker", "/nonexistent/ca.crt", "cert", "key", "No such file or directory"},
    {"ssl://broker", "garbage", "cert", "key", "holds no PEM certificate"},
    {"ssl://broker", "ca", "cert", "/nonexistent/dev-1.key", "No such file or directory"},
    {"ssl://broker", "ca", "/nonexistent/dev-1.crt", "key", "No such file or directory"},
    {"ssl://broker", "ca", "cert", "other_key", "does not match certificate"},
    {"ssl://broker", "ca", "cert", "garbage", "holds no unencrypted PEM private key"},
    {"ssl://broker", "ca", "garbage", "key", "holds no PEM certificate"},
    {"ssl://broker", "ca", "cert", NULL, "certificate and key go together"},
    {"localhost", "ca", "cert", "key", "has no scheme"},
};

START_TEST(test_tls)
{
	const struct tls_case *c = &tls_cases[_i];
	struct fota_mqtt_config mc = {0};
	struct fota_error err = {0};
	char cn[65] = "junk";
	fota_err rc;

	mc.uri = c->uri;
	mc.client_id = "dev-1";
	mc.ca_file = file(c->ca);
	mc.cert_file = file(c->cert);
	mc.key_file = file(c->key);
	rc = fota_mqtt_check(&mc, cn, sizeof(cn), &err);
	if (c->why == NULL) {
		ck_assert_msg(rc == FOTA_OK, "case %d: %s", _i, err.msg);
		ck_assert_str_eq(cn, c->cert ? "dev-1" : "");
		return;
	}
	ck_assert_int_eq(rc, FOTA_ERR_FIELD);
	ck_assert_msg(strstr(err.msg, c->why) != NULL, "case %d: '%s' lacks '%s'", _i, err.msg,
		      c->why);
}
END_TEST

static Suite *mqtt_check_suite(void)
{
	Suite *s = suite_create("mqtt_check");
	TCase *tc = tcase_create("check");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_uri, 0, TU_N(uri_cases));
	tcase_add_loop_test(tc, test_tls, 0, TU_N(tls_cases));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(mqtt_check_suite());
}
