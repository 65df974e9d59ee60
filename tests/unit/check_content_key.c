/* SPDX-License-Identifier: Apache-2.0 */
/* The device's side of a key document: only a verified one for this device, wrapped to this
 * device's key, gives a content key; anything else leaves the key in use as it was. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "content_key.h"
#include "fota/jwe.h"
#include "fota/key_doc.h"
#include "testutil.h"

static char tmpdir[256], key1[300], key2[300];
static EVP_PKEY *dev1, *dev2;
static struct fota_trust *trust;
static const uint8_t cek[FOTA_CONTENT_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
/* image.sha256 of the image, whose first 8 bytes are the key document's image id */
static const uint8_t image_sha[FOTA_SHA256_LEN] = {0x8f, 0x43, 0x43, 0x46, 0x64, 0x8f, 0x6b, 0x96};

static void write_key(EVP_PKEY *k, const char *path)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_content_key");
	tu_path(key1, sizeof(key1), tmpdir, "dev-1.key");
	tu_path(key2, sizeof(key2), tmpdir, "dev-2.key");
	dev1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	dev2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	write_key(dev1, key1);
	write_key(dev2, key2);
	trust = tu_trust();
}

static void teardown(void)
{
	fota_trust_free(trust);
	EVP_PKEY_free(dev1);
	EVP_PKEY_free(dev2);
	tu_tmpdir_remove(tmpdir);
}

/* A key document for device, wrapped to `to`, signed by signer. */
static char *doc(const char *device, EVP_PKEY *to, uint64_t seq, const char *signer)
{
	struct fota_key_doc k = {.seq = seq};
	struct fota_error err = {0};
	char *jwe = NULL, *json = NULL, *env;

	snprintf(k.device, sizeof(k.device), "%s", device);
	snprintf(k.image_id, sizeof(k.image_id), "8f434346648f6b96");
	ck_assert_int_eq(fota_jwe_wrap_key(to, cek, sizeof(cek), device, &jwe, &err), FOTA_OK);
	snprintf(k.jwe, sizeof(k.jwe), "%s", jwe);
	ck_assert_int_eq(fota_key_doc_to_json(&k, &json, &err), FOTA_OK);
	env = tu_sign(signer, json);
	free(jwe);
	free(json);
	return env;
}

static fota_err accept(struct content_key *ck, const char *key_path, char *env,
		       struct fota_error *err)
{
	fota_err rc = content_key_accept(ck, trust, "dev-1", key_path, (const uint8_t *)env,
					 strlen(env), err);

	free(env);
	return rc;
}

START_TEST(test_accept_and_clear)
{
	struct content_key ck = {0};
	struct fota_error err = {0};
	uint8_t other[FOTA_SHA256_LEN] = {0x8f};

	ck_assert_msg(accept(&ck, key1, doc("dev-1", dev1, 4, "orch-1"), &err) == FOTA_OK, "%s",
		      err.msg);
	ck_assert(ck.has);
	ck_assert_mem_eq(ck.key, cek, sizeof(cek));
	ck_assert_uint_eq(ck.seq, 4);
	ck_assert(content_key_for(&ck, image_sha));
	ck_assert(!content_key_for(&ck, other));
	content_key_clear(&ck);
	ck_assert(!ck.has);
	ck_assert(!content_key_for(&ck, image_sha));
	for (size_t i = 0; i < sizeof(ck.key); i++)
		ck_assert_uint_eq(ck.key[i], 0);
	/* An older delivery than the last one used is refused even after the key is gone. */
	ck_assert_int_eq(accept(&ck, key1, doc("dev-1", dev1, 3, "orch-1"), &err),
			 FOTA_ERR_ROLLBACK);
}
END_TEST

/* A later job for the same image (a campaign's retry) opens the held document again after the
 * key was wiped; once the orchestrator clears the document there is nothing to reopen. */
START_TEST(test_reopen_after_clear)
{
	struct content_key ck = {0};
	struct fota_error err = {0};

	ck_assert_int_eq(content_key_reopen(&ck, trust, "dev-1", key1, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_int_eq(accept(&ck, key1, doc("dev-1", dev1, 4, "orch-1"), &err), FOTA_OK);
	content_key_clear(&ck);
	ck_assert(!content_key_for(&ck, image_sha));
	ck_assert_msg(content_key_reopen(&ck, trust, "dev-1", key1, &err) == FOTA_OK, "%s",
		      err.msg);
	ck_assert(content_key_for(&ck, image_sha));
	ck_assert_mem_eq(ck.key, cek, sizeof(cek));
	ck_assert_uint_eq(ck.seq, 4);
	/* reopened means verified and unwrapped again: another device's key cannot */
	content_key_clear(&ck);
	ck_assert_int_eq(content_key_reopen(&ck, trust, "dev-1", key2, &err), FOTA_ERR_SIGNATURE);
	ck_assert(!ck.has);
	content_key_forget(&ck);
	ck_assert_int_eq(content_key_reopen(&ck, trust, "dev-1", key1, &err), FOTA_ERR_NOT_FOUND);
	ck_assert(!ck.has);
}
END_TEST

/* Each ignored document leaves the key in use untouched, and says why. */
START_TEST(test_ignored)
{
	struct content_key ck = {0};
	struct fota_error err = {0};

	ck_assert_int_eq(accept(&ck, key1, doc("dev-1", dev1, 4, "orch-1"), &err), FOTA_OK);
	/* dev-2's key document handed to dev-1 (another device's wrapped key) */
	ck_assert_int_eq(accept(&ck, key1, doc("dev-1", dev2, 5, "orch-1"), &err),
			 FOTA_ERR_SIGNATURE);
	ck_assert_ptr_nonnull(strstr(err.msg, "content key does not unwrap"));
	/* the right document, but this device holds another key */
	ck_assert_int_eq(accept(&ck, key2, doc("dev-1", dev1, 5, "orch-1"), &err),
			 FOTA_ERR_SIGNATURE);
	ck_assert_ptr_nonnull(strstr(err.msg, "content key does not unwrap"));
	ck_assert_int_eq(accept(&ck, key1, doc("dev-2", dev1, 5, "orch-1"), &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "names device 'dev-2', this is 'dev-1'"));
	ck_assert_int_eq(accept(&ck, key1, doc("dev-1", dev1, 5, "rel-2"), &err),
			 FOTA_ERR_WRONG_ROLE);
	ck_assert_int_eq(accept(&ck, "/nonexistent/key.pem", doc("dev-1", dev1, 5, "orch-1"), &err),
			 FOTA_ERR_IO);
	ck_assert(ck.has);
	ck_assert_uint_eq(ck.seq, 4);
	ck_assert_mem_eq(ck.key, cek, sizeof(cek));
}
END_TEST

static Suite *content_key_suite(void)
{
	Suite *s = suite_create("content_key");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_accept_and_clear);
	tcase_add_test(tc, test_ignored);
	tcase_add_test(tc, test_reopen_after_clear);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(content_key_suite());
}
