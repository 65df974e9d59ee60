/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for encrypted images in the store: the staged payload is replaced by its sealed
 * chunks (each opens with the content key, bound to the image id, kind and index), the key is
 * kept 0600 beside it, a stored chunk is read as ciphertext || tag, and the step add and
 * import share seals a payload and its delta under one fresh key. */
#include <check.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/chunk_crypt.h"

#include "config.h"
#include "image_seal.h"
#include "image_store.h"

#define CHUNK 1024u
#define SIZE (3u * CHUNK + 100u) /* four chunks, the last one short */

static char dir[] = "/tmp/check_image_seal.XXXXXX";
static char src[sizeof(dir) + 16];
static uint8_t plain[SIZE];
static struct orch_config cfg;

static void setup(void)
{
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/check_image_seal.XXXXXX")));
	for (size_t i = 0; i < SIZE; i++)
		plain[i] = (uint8_t)(i * 7 + 3);
	snprintf(src, sizeof(src), "%s/in.bin", dir);
	f = fopen(src, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(plain, 1, SIZE, f), SIZE);
	fclose(f);
	orch_config_init(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/state", dir);
}

static void teardown(void)
{
	char cmd[sizeof(dir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_seal_round_trip)
{
	struct fota_error err = {0};
	struct orch_stage *st = NULL;
	uint8_t key[FOTA_CONTENT_KEY_LEN], other[FOTA_CONTENT_KEY_LEN],
	    loaded[FOTA_CONTENT_KEY_LEN];
	uint8_t sealed[SIZE + 4 * FOTA_CHUNK_TAG_LEN], out[CHUNK];
	uint8_t table_before[4 * FOTA_SHA256_LEN];
	char id[FOTA_IMAGE_ID_HEX_LEN + 1], path[PATH_MAX + 64];
	struct stat sb;
	size_t off = 0;
	FILE *f;

	ck_assert_int_eq(orch_content_key_new(key, &err), FOTA_OK);
	ck_assert_int_eq(orch_content_key_new(other, &err), FOTA_OK);
	ck_assert_mem_ne(key, other, sizeof(key));
	ck_assert_int_eq(orch_stage_new(&cfg, src, CHUNK, &st, &err), FOTA_OK);
	ck_assert_uint_eq(st->table.count, 4);
	memcpy(table_before, st->table.hashes, sizeof(table_before));
	fota_hex_encode(st->sha256, FOTA_IMAGE_ID_LEN, id);
	ck_assert_int_eq(orch_stage_seal(st, key, id, FOTA_PAYLOAD_FULL, true, &err), FOTA_OK);
	/* The table and digest stay the plaintext's: the manifest signs those. */
	ck_assert_mem_eq(st->table.hashes, table_before, sizeof(table_before));

	snprintf(path, sizeof(path), "%s/image.bin", st->dir);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(sealed, 1, sizeof(sealed), f), sizeof(sealed));
	ck_assert_int_eq(fgetc(f), EOF);
	fclose(f);
	for (uint32_t i = 0; i < 4; i++) {
		uint32_t len = fota_chunk_len(SIZE, CHUNK, i);

		/* No plaintext is left in the store's copy. */
		ck_assert_mem_ne(sealed + off, plain + (size_t)i * CHUNK, len);
		ck_assert_int_eq(fota_chunk_open(key, id, FOTA_PAYLOAD_FULL, i, sealed + off,
						 len + FOTA_CHUNK_TAG_LEN, out, &err),
				 FOTA_OK);
		ck_assert_mem_eq(out, plain + (size_t)i * CHUNK, len);
		/* Bound to its place: another index or kind does not open it. */
		ck_assert_int_ne(fota_chunk_open(key, id, FOTA_PAYLOAD_DELTA, i, sealed + off,
						 len + FOTA_CHUNK_TAG_LEN, out, &err),
				 FOTA_OK);
		off += len + FOTA_CHUNK_TAG_LEN;
	}
	snprintf(path, sizeof(path), "%s/" ORCH_CONTENT_KEY_FILE, st->dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(sb.st_size, FOTA_CONTENT_KEY_LEN);
	orch_stage_free(st);

	/* Not committed: nothing stored, so no key to load. */
	ck_assert_int_eq(orch_content_key_load(&cfg, id, loaded, &err), FOTA_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no content key"));
}
END_TEST

START_TEST(test_stored_chunks_are_ciphertext)
{
	struct fota_error err = {0};
	struct orch_stage *st = NULL;
	struct orch_image *img = NULL;
	struct fota_manifest m;
	uint8_t key[FOTA_CONTENT_KEY_LEN], loaded[FOTA_CONTENT_KEY_LEN];
	uint8_t buf[CHUNK + FOTA_CHUNK_TAG_LEN], out[CHUNK];
	char id[FOTA_IMAGE_ID_HEX_LEN + 1], got[FOTA_IMAGE_ID_HEX_LEN + 1], path[PATH_MAX + 64];
	size_t len = 0;

	ck_assert_int_eq(orch_content_key_new(key, &err), FOTA_OK);
	ck_assert_int_eq(orch_stage_new(&cfg, src, CHUNK, &st, &err), FOTA_OK);
	fota_hex_encode(st->sha256, FOTA_IMAGE_ID_LEN, id);
	ck_assert_int_eq(orch_stage_seal(st, key, id, FOTA_PAYLOAD_FULL, true, &err), FOTA_OK);
	ck_assert_int_eq(orch_stage_commit(st, "{}", 2, got, &err), FOTA_OK);
	ck_assert_str_eq(got, id);
	orch_stage_free(st);
	ck_assert_int_eq(orch_content_key_load(&cfg, id, loaded, &err), FOTA_OK);
	ck_assert_mem_eq(loaded, key, sizeof(key));

	/* An opened image whose manifest says encrypted reads chunk 3 (the short one) as
	 * ciphertext || tag from its sealed offset. The manifest is filled in by hand: the
	 * read path trusts the struct, opening checks the files. */
	img = calloc(1, sizeof(*img));
	ck_assert_ptr_nonnull(img);
	memset(&m, 0, sizeof(m));
	m.size = SIZE;
	m.chunk_size = CHUNK;
	m.chunk_count = 4;
	m.encryption = FOTA_ENCRYPTION_A256GCM_CHUNK;
	img->manifest = m;
	snprintf(img->id, sizeof(img->id), "%s", id);
	snprintf(path, sizeof(path), "%s/images/%s/image.bin", cfg.state_dir, id);
	img->fd = open(path, O_RDONLY);
	ck_assert_int_ge(img->fd, 0);
	ck_assert_uint_eq(orch_image_chunk_extra(&img->manifest), FOTA_CHUNK_TAG_LEN);
	ck_assert_int_eq(orch_image_read_chunk(img, 3, buf, &len, &err), FOTA_OK);
	ck_assert_uint_eq(len, 100 + FOTA_CHUNK_TAG_LEN);
	ck_assert_int_eq(fota_chunk_open(key, id, FOTA_PAYLOAD_FULL, 3, buf, len, out, &err),
			 FOTA_OK);
	ck_assert_mem_eq(out, plain + 3 * CHUNK, 100);
	/* Tampered: refused by the tag, as a device would. */
	buf[5] ^= 1;
	ck_assert_int_eq(fota_chunk_open(key, id, FOTA_PAYLOAD_FULL, 3, buf, len, out, &err),
			 FOTA_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err.msg, "GCM tag mismatch"));
	orch_image_free(img);

	/* A key file of another length is refused, naming it. */
	snprintf(path, sizeof(path), "%s/images/%s/" ORCH_CONTENT_KEY_FILE, cfg.state_dir, id);
	ck_assert_int_eq(truncate(path, 16), 0);
	ck_assert_int_eq(orch_content_key_load(&cfg, id, loaded, &err), FOTA_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "32-byte key"));
}
END_TEST

/* Reads the whole staged image.bin of st into buf (exactly want bytes). */
static void read_staged(const struct orch_stage *st, uint8_t *buf, size_t want)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/image.bin", st->dir);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, want, f), want);
	ck_assert_int_eq(fgetc(f), EOF);
	fclose(f);
}

/* Reads the staged content.key of st; false if there is none. */
static bool read_staged_key(const struct orch_stage *st, uint8_t key[FOTA_CONTENT_KEY_LEN])
{
	char path[PATH_MAX + 64];
	struct stat sb;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" ORCH_CONTENT_KEY_FILE, st->dir);
	if (stat(path, &sb) != 0)
		return false;
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(key, 1, FOTA_CONTENT_KEY_LEN, f), FOTA_CONTENT_KEY_LEN);
	ck_assert_int_eq(fgetc(f), EOF);
	fclose(f);
	return true;
}

/* The shared step of `image add --encrypt` and `image import`: one fresh key seals the full
 * payload and the delta payload, both bound to the full payload's id, each by its kind; only
 * the full payload's directory keeps the key; a second call makes another key. */
START_TEST(test_stages_seal_both_payloads)
{
	static const uint8_t delta_plain[CHUNK + 5] = {1, 2, 3};
	struct fota_error err = {0};
	struct orch_stage *st = NULL, *dst = NULL, *again = NULL;
	uint8_t key[FOTA_CONTENT_KEY_LEN], key2[FOTA_CONTENT_KEY_LEN];
	uint8_t sealed[SIZE + 4 * FOTA_CHUNK_TAG_LEN], out[CHUNK];
	uint8_t dsealed[sizeof(delta_plain) + 2 * FOTA_CHUNK_TAG_LEN];
	char id[FOTA_IMAGE_ID_HEX_LEN + 1], dsrc[sizeof(dir) + 16];
	uint8_t sha_before[FOTA_SHA256_LEN];
	FILE *f;

	snprintf(dsrc, sizeof(dsrc), "%s/delta.bin", dir);
	f = fopen(dsrc, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(delta_plain, 1, sizeof(delta_plain), f), sizeof(delta_plain));
	fclose(f);
	ck_assert_int_eq(orch_stage_new(&cfg, src, CHUNK, &st, &err), FOTA_OK);
	ck_assert_int_eq(orch_stage_new(&cfg, dsrc, CHUNK, &dst, &err), FOTA_OK);
	memcpy(sha_before, st->sha256, sizeof(sha_before));
	fota_hex_encode(st->sha256, FOTA_IMAGE_ID_LEN, id);
	ck_assert_int_eq(orch_stages_seal(st, dst, &err), FOTA_OK);
	ck_assert_mem_eq(st->sha256, sha_before, sizeof(sha_before));
	ck_assert(read_staged_key(st, key));
	ck_assert(!read_staged_key(dst, key2));

	read_staged(st, sealed, sizeof(sealed));
	ck_assert_int_eq(fota_chunk_open(key, id, FOTA_PAYLOAD_FULL, 0, sealed,
					 CHUNK + FOTA_CHUNK_TAG_LEN, out, &err),
			 FOTA_OK);
	ck_assert_mem_eq(out, plain, CHUNK);
	read_staged(dst, dsealed, sizeof(dsealed));
	ck_assert_int_eq(fota_chunk_open(key, id, FOTA_PAYLOAD_DELTA, 1,
					 dsealed + CHUNK + FOTA_CHUNK_TAG_LEN,
					 5 + FOTA_CHUNK_TAG_LEN, out, &err),
			 FOTA_OK);
	ck_assert_mem_eq(out, delta_plain + CHUNK, 5);
	ck_assert_int_ne(fota_chunk_open(key, id, FOTA_PAYLOAD_FULL, 1,
					 dsealed + CHUNK + FOTA_CHUNK_TAG_LEN,
					 5 + FOTA_CHUNK_TAG_LEN, out, &err),
			 FOTA_OK);

	/* Without a delta, and a fresh key each time. */
	ck_assert_int_eq(orch_stage_new(&cfg, src, CHUNK, &again, &err), FOTA_OK);
	ck_assert_int_eq(orch_stages_seal(again, NULL, &err), FOTA_OK);
	ck_assert(read_staged_key(again, key2));
	ck_assert_mem_ne(key, key2, sizeof(key));
	orch_stage_free(st);
	orch_stage_free(dst);
	orch_stage_free(again);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image_seal");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_seal_round_trip);
	tcase_add_test(tc, test_stored_chunks_are_ciphertext);
	tcase_add_test(tc, test_stages_seal_both_payloads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
