/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for one image transfer: the table refusals say why exactly once, verified chunks
 * land in the checkpoint, forged ones do not, and a reopened transfer resumes. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/chunk_table.h"
#include "fota/digest.h"
#include "testutil.h"
#include "transfer.h"

#define CHUNK 1024u
#define SIZE 2500u /* three chunks, the last one short */
#define COUNT 3u

static char tmpdir[256];
static struct client_config cfg;
static struct fota_manifest manifest;
static uint8_t image[SIZE];
static uint8_t table[COUNT * FOTA_SHA256_LEN];
static const uint8_t image_id[FOTA_IMAGE_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_transfer");
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", tmpdir);
	cfg.sync_chunks = 1;
	for (size_t i = 0; i < SIZE; i++)
		image[i] = (uint8_t)(i * 7 + 3);
	for (uint32_t i = 0; i < COUNT; i++)
		fota_sha256(image + i * CHUNK, fota_chunk_len(SIZE, CHUNK, i),
			    table + i * FOTA_SHA256_LEN);
	memset(&manifest, 0, sizeof(manifest));
	manifest.size = SIZE;
	manifest.chunk_size = CHUNK;
	manifest.chunk_count = COUNT;
	fota_sha256(image, SIZE, manifest.sha256);
	fota_sha256(table, sizeof(table), manifest.table_sha256);
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

static struct fota_frame frame(uint32_t index)
{
	struct fota_frame f = {0};

	f.type = FOTA_FRAME_DATA;
	memcpy(f.image_id, image_id, FOTA_IMAGE_ID_LEN);
	f.index = index;
	f.count = COUNT;
	f.payload = image + index * CHUNK;
	f.payload_len = fota_chunk_len(SIZE, CHUNK, index);
	return f;
}

static const struct {
	size_t cut;  /* bytes dropped from the end of the table */
	size_t flip; /* 1 + index of a byte flipped, 0 for none */
	fota_err code;
	const char *msg;
} table_cases[] = {
    {0, 1, FOTA_ERR_DIGEST,
     "chunk table rejected: its SHA-256 does not match the signed table digest"},
    {0, sizeof(table), FOTA_ERR_DIGEST,
     "chunk table rejected: its SHA-256 does not match the signed table digest"},
    {1, 0, FOTA_ERR_FIELD, "chunk table rejected: 95 bytes, expected 3 * 32 = 96"},
    {sizeof(table), 0, FOTA_ERR_FIELD, "chunk table rejected: 0 bytes, expected 3 * 32 = 96"},
};

/* The refusal names the table once: the agent logs it as it stands. */
START_TEST(test_table_refusals)
{
	uint8_t bad[sizeof(table)];
	struct fota_error err = {0};
	struct transfer *t = (struct transfer *)1;

	memcpy(bad, table, sizeof(bad));
	if (table_cases[_i].flip)
		bad[table_cases[_i].flip - 1] ^= 0x01;
	ck_assert_int_eq(transfer_open(&cfg, &manifest, image_id, bad,
				       sizeof(bad) - table_cases[_i].cut, NULL, &t, &err),
			 table_cases[_i].code);
	ck_assert_str_eq(err.msg, table_cases[_i].msg);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_put_forged_resume)
{
	struct fota_error err = {0};
	struct transfer *t = NULL;
	struct fota_frame f;
	uint8_t forged[CHUNK];
	bool is_new = true;

	ck_assert_msg(transfer_open(&cfg, &manifest, image_id, table, sizeof(table), NULL, &t,
				    &err) == FOTA_OK,
		      "%s", err.msg);
	f = frame(1);
	ck_assert_int_eq(transfer_put(t, &f, &is_new, &err), FOTA_OK);
	ck_assert(is_new);
	ck_assert_int_eq(transfer_put(t, &f, &is_new, &err), FOTA_OK);
	ck_assert(!is_new); /* a repeat is no progress */
	/* A chunk that does not hash to its table entry is refused and leaves no trace. */
	f = frame(0);
	memcpy(forged, f.payload, CHUNK);
	forged[10] ^= 0xff;
	f.payload = forged;
	ck_assert_int_eq(transfer_put(t, &f, &is_new, &err), FOTA_ERR_DIGEST);
	ck_assert(!is_new);
	ck_assert_uint_eq(transfer_present(t), 1);
	transfer_free(t);

	/* Reopened from disk: chunk 1 is there, verified again, and the rest completes it. */
	t = NULL;
	ck_assert_int_eq(
	    transfer_open(&cfg, &manifest, image_id, table, sizeof(table), NULL, &t, &err),
	    FOTA_OK);
	ck_assert_uint_eq(transfer_recovered(t), 1);
	for (uint32_t i = 0; i < COUNT; i++) {
		f = frame(i);
		ck_assert_int_eq(transfer_put(t, &f, &is_new, &err), FOTA_OK);
		ck_assert(is_new == (i != 1));
	}
	ck_assert(transfer_complete(t));
	ck_assert_msg(transfer_verify(t, &err) == FOTA_OK, "%s", err.msg);
	transfer_discard(t);
}
END_TEST

static struct transfer *open_t(void)
{
	struct fota_error err = {0};
	struct transfer *t = NULL;

	ck_assert_msg(transfer_open(&cfg, &manifest, image_id, table, sizeof(table), NULL, &t,
				    &err) == FOTA_OK,
		      "%s", err.msg);
	return t;
}

static void put_ok(struct transfer *t, uint32_t index)
{
	struct fota_error err = {0};
	struct fota_frame f = frame(index);
	bool is_new = false;

	ck_assert_msg(transfer_put(t, &f, &is_new, &err) == FOTA_OK, "%s", err.msg);
}

/* Flips one byte of the staged data file at offset. */
static void flip_on_disk(const struct transfer *t, off_t offset)
{
	uint8_t b = 0;
	int fd = open(transfer_data_path(t), O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, offset), 1);
	b ^= 0x01;
	ck_assert_int_eq(pwrite(fd, &b, 1, offset), 1);
	close(fd);
}

/* Chunks that arrive in order are hashed on arrival: the whole-image check reads back only
 * what came after the first chunk out of order, and still catches a change there. */
START_TEST(test_prefix_hashed_in_order)
{
	struct fota_error err = {0};
	struct transfer *t = open_t();

	for (uint32_t i = 0; i < COUNT; i++)
		put_ok(t, i);
	ck_assert_uint_eq(transfer_hashed_in_order(t), COUNT);
	ck_assert_msg(transfer_verify(t, &err) == FOTA_OK, "%s", err.msg);
	transfer_discard(t);

	/* 0, 2, 1: the prefix stops at chunk 1 (chunk 2 came first and is not hashed again). */
	t = open_t();
	put_ok(t, 0);
	put_ok(t, 2);
	put_ok(t, 1);
	ck_assert_uint_eq(transfer_hashed_in_order(t), 2);
	flip_on_disk(t, 2 * CHUNK + 5);
	ck_assert_int_eq(transfer_verify(t, &err), FOTA_ERR_DIGEST);
	/* The prefix was spent by the first check: the second one reads everything. */
	flip_on_disk(t, 2 * CHUNK + 5);
	ck_assert_uint_eq(transfer_hashed_in_order(t), 0);
	ck_assert_msg(transfer_verify(t, &err) == FOTA_OK, "%s", err.msg);
	transfer_discard(t);
}
END_TEST

/* The hash state lives in memory: after a restart the check reads the whole image again,
 * so a chunk that changed on disk while the agent was down is caught. */
START_TEST(test_prefix_not_trusted_after_resume)
{
	struct fota_error err = {0};
	struct transfer *t = open_t();

	put_ok(t, 0);
	put_ok(t, 1);
	transfer_free(t);
	t = open_t();
	ck_assert_uint_eq(transfer_recovered(t), 2);
	put_ok(t, 2);
	ck_assert_uint_eq(transfer_hashed_in_order(t), 0);
	ck_assert(transfer_complete(t));
	flip_on_disk(t, 5);
	ck_assert_int_eq(transfer_verify(t, &err), FOTA_ERR_DIGEST);
	transfer_discard(t);
}
END_TEST

/* Durability counts bytes: with sync_bytes of two chunks and no sync_chunks, one chunk is
 * not yet durable (a reopen finds nothing), two are. */
START_TEST(test_sync_by_bytes)
{
	struct transfer *t;

	cfg.sync_chunks = 0;
	cfg.sync_bytes = 2 * CHUNK;
	t = open_t();
	put_ok(t, 0);
	transfer_free(t);
	t = open_t();
	ck_assert_uint_eq(transfer_recovered(t), 0);
	put_ok(t, 0);
	put_ok(t, 1);
	transfer_free(t);
	t = open_t();
	ck_assert_uint_eq(transfer_recovered(t), 2);
	transfer_discard(t);
}
END_TEST

/* Checkpoint syncs run behind the receiver, on a thread of their own: a sync that fails there
 * is still this transfer's error, returned by a later put or sync, never dropped. Here the
 * checkpoint's directory is gone, so the bitmap cannot be written. */
START_TEST(test_sync_failure_reported)
{
	char dir[512], gone[512];
	struct fota_error err = {0};
	struct fota_frame f = frame(0);
	struct transfer *t = open_t();
	bool is_new = false;
	fota_err put_rc, sync_rc;

	cfg.sync_chunks = 1;
	snprintf(dir, sizeof(dir), "%s/transfer", tmpdir);
	snprintf(gone, sizeof(gone), "%s/gone", tmpdir);
	ck_assert_int_eq(rename(dir, gone), 0);
	put_rc = transfer_put(t, &f, &is_new, &err);
	sync_rc = transfer_sync(t, &err);
	ck_assert_msg(put_rc != FOTA_OK || sync_rc != FOTA_OK, "the failed sync was dropped");
	/* The message names the bitmap that could not be written. */
	ck_assert_msg(strstr(err.msg, "/transfer/") != NULL, "%s", err.msg);
	ck_assert_int_eq(rename(gone, dir), 0);
	transfer_discard(t);
}
END_TEST

/* An encrypted payload: a frame waits for the key, a sealed chunk is opened and then checked
 * against the signed table, and one sealed for another place or altered is dropped. */
START_TEST(test_encrypted)
{
	static const char id[] = "0102030405060708";
	uint8_t key[FOTA_CONTENT_KEY_LEN], sealed[COUNT][CHUNK + FOTA_CHUNK_TAG_LEN];
	struct fota_error err = {0};
	struct transfer *t = NULL;
	struct fota_frame f;
	bool is_new = false;

	memset(key, 0x5a, sizeof(key));
	for (uint32_t i = 0; i < COUNT; i++)
		ck_assert_int_eq(fota_chunk_seal(key, id, FOTA_PAYLOAD_DELTA, i, image + i * CHUNK,
						 fota_chunk_len(SIZE, CHUNK, i), sealed[i], &err),
				 FOTA_OK);
	manifest.encryption = FOTA_ENCRYPTION_A256GCM_CHUNK;
	ck_assert_msg(transfer_open(&cfg, &manifest, image_id, table, sizeof(table), NULL, &t,
				    &err) == FOTA_OK,
		      "%s", err.msg);
	f = frame(0);
	f.payload = sealed[0];
	f.payload_len += FOTA_CHUNK_TAG_LEN;
	ck_assert_int_eq(transfer_put(t, &f, &is_new, &err), FOTA_ERR_STATE);
	ck_assert_str_eq(err.msg, "chunk 0: no content key");
	ck_assert(!transfer_has_content_key(t));
	ck_assert_int_eq(transfer_set_content_key(t, key, id, FOTA_PAYLOAD_DELTA, &err), FOTA_OK);
	/* Chunk 1 sealed as chunk 0's place: the tag, not the table, refuses it. */
	f = frame(1);
	f.payload = sealed[0];
	f.payload_len = CHUNK + FOTA_CHUNK_TAG_LEN;
	ck_assert_int_eq(transfer_put(t, &f, &is_new, &err), FOTA_ERR_DIGEST);
	ck_assert_str_eq(err.msg, "chunk 1: GCM tag mismatch");
	sealed[1][7] ^= 0x01;
	f.payload = sealed[1];
	ck_assert_int_eq(transfer_put(t, &f, &is_new, &err), FOTA_ERR_DIGEST);
	ck_assert_str_eq(err.msg, "chunk 1: GCM tag mismatch");
	sealed[1][7] ^= 0x01;
	ck_assert_int_eq(transfer_present(t), 0);
	for (uint32_t i = 0; i < COUNT; i++) {
		f = frame(i);
		f.payload = sealed[i];
		f.payload_len += FOTA_CHUNK_TAG_LEN;
		ck_assert_msg(transfer_put(t, &f, &is_new, &err) == FOTA_OK, "%s", err.msg);
		ck_assert(is_new);
	}
	/* What was stored is the plaintext image. */
	ck_assert(transfer_complete(t));
	ck_assert_msg(transfer_verify(t, &err) == FOTA_OK, "%s", err.msg);
	transfer_free(t);
}
END_TEST

static Suite *transfer_suite(void)
{
	Suite *s = suite_create("transfer");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_table_refusals, 0, TU_N(table_cases));
	tcase_add_test(tc, test_put_forged_resume);
	tcase_add_test(tc, test_prefix_hashed_in_order);
	tcase_add_test(tc, test_prefix_not_trusted_after_resume);
	tcase_add_test(tc, test_sync_by_bytes);
	tcase_add_test(tc, test_sync_failure_reported);
	tcase_add_test(tc, test_encrypted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(transfer_suite());
}
