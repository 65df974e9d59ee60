/* SPDX-License-Identifier: Apache-2.0 */
/* Receive checkpoint: resume, torn bitmaps, corrupt data, forged chunks, and kill -9 at random. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fota/atomic_file.h"
#include "fota/checkpoint.h"
#include "fota/chunk_table.h"
#include "fota/digest.h"
#include "fota/limits.h"

#include "../../common/src/checkpoint_format.h"
#include "testutil.h"

#define CS 1024u

/* The image under test: its bytes, table and digest, rebuilt per test by the fixture. */
static char tmpdir[256];
static char state_dir[300];
static uint8_t *img;
static uint64_t img_size;
static uint32_t img_count;
static uint8_t img_sha[32];
static struct fota_chunk_table table;

static uint32_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Writes an image of `count` chunks, the last one short, and builds its table from the file. */
static void make_image(uint32_t count, uint32_t seed)
{
	struct fota_error err = {0};
	uint64_t size = 0;
	char path[512];
	FILE *f;

	free(img);
	fota_chunk_table_clear(&table);
	img_size = (uint64_t)count * CS - 300;
	img = malloc((size_t)img_size); /* test images are small: fits 32 bits */
	ck_assert_ptr_nonnull(img);
	rng_state = seed;
	for (uint64_t i = 0; i < img_size; i++)
		img[i] = (uint8_t)rng();
	snprintf(path, sizeof(path), "%s/image.bin", tmpdir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(img, 1, (size_t)img_size, f), img_size);
	fclose(f);
	ck_assert_int_eq(fota_chunk_table_build_file(path, CS, &table, img_sha, &size, &err),
			 FOTA_OK);
	ck_assert_uint_eq(size, img_size);
	img_count = table.count;
	ck_assert_uint_eq(img_count, count);
}

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_checkpoint");
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmpdir);
	make_image(10, 0x12345678u);
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
	free(img);
	img = NULL;
	fota_chunk_table_clear(&table);
}

static void state_path(char *out, size_t n, const char *suffix)
{
	snprintf(out, n, "%s/img%s", state_dir, suffix);
}

static struct fota_checkpoint_params params(const char *data_path)
{
	struct fota_checkpoint_params p = {0};

	p.dir = state_dir;
	p.name = "img";
	p.data_path = data_path;
	p.image_size = img_size;
	p.chunk_size = CS;
	p.image_id = img_sha;
	p.table = &table;
	return p;
}

static struct fota_checkpoint *open_cp(const char *data_path)
{
	struct fota_checkpoint_params p = params(data_path);
	struct fota_checkpoint *cp = NULL;
	struct fota_error err = {0};

	ck_assert_msg(fota_checkpoint_open(&p, &cp, &err) == FOTA_OK, "open: %s", err.msg);
	return cp;
}

static fota_err put(struct fota_checkpoint *cp, uint32_t i)
{
	struct fota_error err = {0};

	return fota_checkpoint_put(cp, i, img + (size_t)i * CS, fota_chunk_len(img_size, CS, i),
				   &err);
}

static void sync_cp(struct fota_checkpoint *cp)
{
	struct fota_error err = {0};

	ck_assert_msg(fota_checkpoint_sync(cp, &err) == FOTA_OK, "sync: %s", err.msg);
}

/*
 * Reads the bitmap file straight from disk (not through open, which would repair it) and
 * checks the contract: every chunk it marks present is on disk and matches the table.
 * Returns the number of marked chunks, or -1 when there is no bitmap file.
 */
static int check_disk_contract(const char *data_path)
{
	struct fota__checkpoint_file f;
	struct fota_error err = {0};
	char bitmap[512], part[512];
	uint8_t *buf = NULL, chunk[CS];
	size_t len = 0;
	int marked = 0, fd;

	state_path(bitmap, sizeof(bitmap), ".bitmap");
	if (data_path == NULL)
		state_path(part, sizeof(part), ".part");
	else
		snprintf(part, sizeof(part), "%s", data_path);
	if (fota_read_file(bitmap, FOTA__CKPT_MAX_FILE_LEN, &buf, &len, &err) == FOTA_ERR_NOT_FOUND)
		return -1;
	ck_assert_msg(fota__checkpoint_parse(buf, len, &f, &err) == FOTA_OK, "bitmap: %s", err.msg);
	ck_assert_uint_eq(f.count, img_count);
	fd = open(part, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	for (uint32_t i = 0; i < f.count; i++) {
		uint32_t clen = fota_chunk_len(img_size, CS, i);

		if (!(f.bitmap[i / 8] & (0x80u >> (i % 8))))
			continue;
		ck_assert_int_eq(pread(fd, chunk, clen, (off_t)i * CS), (ssize_t)clen);
		ck_assert_msg(fota_chunk_table_check(&table, i, chunk, clen),
			      "chunk %u marked present but not on disk", i);
		marked++;
	}
	close(fd);
	free(buf);
	return marked;
}

START_TEST(test_fresh)
{
	struct fota_checkpoint *cp = open_cp(NULL);
	struct fota_range r[4];
	char part[512];
	struct stat st;

	ck_assert_uint_eq(fota_checkpoint_count(cp), 10);
	ck_assert_uint_eq(fota_checkpoint_present(cp), 0);
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 0);
	ck_assert(!fota_checkpoint_complete(cp));
	ck_assert(!fota_checkpoint_has(cp, 0));
	ck_assert(!fota_checkpoint_has(cp, 1000));
	state_path(part, sizeof(part), ".part");
	ck_assert_str_eq(fota_checkpoint_data_path(cp), part);
	/* Created at full size, and an empty bitmap is already on disk. */
	ck_assert_int_eq(stat(part, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)img_size);
	ck_assert_int_eq(check_disk_contract(NULL), 0);
	ck_assert_uint_eq(fota_checkpoint_missing(cp, 0, r, 4, 100), 1);
	ck_assert_uint_eq(r[0].first, 0);
	ck_assert_uint_eq(r[0].count, 10);
	fota_checkpoint_free(cp);
	fota_checkpoint_free(NULL);
}
END_TEST

START_TEST(test_resume)
{
	struct fota_error err = {0};
	struct fota_checkpoint *cp = open_cp(NULL);

	ck_assert_int_eq(put(cp, 0), FOTA_OK);
	ck_assert_int_eq(put(cp, 3), FOTA_OK);
	ck_assert_int_eq(put(cp, 9), FOTA_OK); /* the short last chunk */
	ck_assert(fota_checkpoint_has(cp, 3));
	ck_assert_uint_eq(fota_checkpoint_present(cp), 3);
	sync_cp(cp);
	ck_assert_int_eq(check_disk_contract(NULL), 3);
	fota_checkpoint_free(cp);

	cp = open_cp(NULL);
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 3);
	ck_assert_uint_eq(fota_checkpoint_present(cp), 3);
	ck_assert(fota_checkpoint_has(cp, 0) && fota_checkpoint_has(cp, 3) &&
		  fota_checkpoint_has(cp, 9));
	ck_assert(!fota_checkpoint_has(cp, 1));
	for (uint32_t i = 0; i < img_count; i++)
		ck_assert_int_eq(put(cp, i), FOTA_OK); /* present ones are a no-op */
	ck_assert(fota_checkpoint_complete(cp));
	sync_cp(cp);
	ck_assert_int_eq(fota_checkpoint_verify_image(cp, img_sha, &err), FOTA_OK);
	fota_checkpoint_free(cp);

	cp = open_cp(NULL);
	ck_assert(fota_checkpoint_complete(cp));
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 10);
	fota_checkpoint_free(cp);
}
END_TEST

START_TEST(test_unsynced_not_durable)
{
	struct fota_checkpoint *cp = open_cp(NULL);

	ck_assert_int_eq(put(cp, 0), FOTA_OK);
	sync_cp(cp);
	ck_assert_int_eq(put(cp, 1), FOTA_OK);
	ck_assert(fota_checkpoint_has(cp, 1));
	/* Free does not sync: chunk 1 was never marked on disk, so it is not claimed later. */
	fota_checkpoint_free(cp);
	ck_assert_int_eq(check_disk_contract(NULL), 1);
	cp = open_cp(NULL);
	ck_assert(fota_checkpoint_has(cp, 0));
	ck_assert(!fota_checkpoint_has(cp, 1));
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 1);
	fota_checkpoint_free(cp);
}
END_TEST

START_TEST(test_put_refuses)
{
	struct fota_error err = {0};
	struct fota_checkpoint *cp = open_cp(NULL);
	uint8_t forged[CS], zero[CS] = {0}, ondisk[CS];
	char part[512];
	int fd;

	memcpy(forged, img + 2 * CS, CS);
	forged[100] ^= 0x01;
	ck_assert_int_eq(fota_checkpoint_put(cp, 2, forged, CS, &err), FOTA_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err.msg, "chunk 2 does not match the chunk table"));
	ck_assert(!fota_checkpoint_has(cp, 2));
	ck_assert_uint_eq(fota_checkpoint_present(cp), 0);
	/* A good chunk at the wrong index is forged too. */
	ck_assert_int_eq(fota_checkpoint_put(cp, 2, img + 3 * CS, CS, &err), FOTA_ERR_DIGEST);
	sync_cp(cp);
	/* Nothing reached the data file. */
	state_path(part, sizeof(part), ".part");
	fd = open(part, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, ondisk, CS, 2 * CS), CS);
	ck_assert_mem_eq(ondisk, zero, CS);
	close(fd);

	ck_assert_int_eq(fota_checkpoint_put(cp, 2, img + 2 * CS, 1000, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "chunk 2 is 1000 bytes, expected 1024"));
	ck_assert_int_eq(fota_checkpoint_put(cp, 9, img + 9 * CS, CS, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "expected 724"));
	ck_assert_int_eq(fota_checkpoint_put(cp, 10, img, CS, &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "chunk index 10 >= count 10"));
	ck_assert_int_eq(fota_checkpoint_present(cp), 0);
	fota_checkpoint_free(cp);
	ck_assert_int_eq(check_disk_contract(NULL), 0);
}
END_TEST

/* Ways a bitmap file gets damaged; each must be detected, moved aside, and rebuilt. */
enum damage {
	TRUNCATE_HALF,
	FLIP_BITMAP_BYTE,
	FLIP_HEADER_BYTE,
	EMPTY_FILE,
	OVERSIZED,
	DROP_DIGEST
};

static void damage_bitmap(enum damage how)
{
	char path[512];
	uint8_t b;
	int fd;

	state_path(path, sizeof(path), ".bitmap");
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	switch (how) {
	case TRUNCATE_HALF:
		ck_assert_int_eq(ftruncate(fd, (off_t)fota__checkpoint_file_len(img_count) / 2), 0);
		break;
	case FLIP_BITMAP_BYTE:
	case FLIP_HEADER_BYTE: {
		off_t off = how == FLIP_BITMAP_BYTE ? FOTA__CKPT_HEADER_LEN + 1 : 21;

		ck_assert_int_eq(pread(fd, &b, 1, off), 1);
		b ^= 0x40;
		ck_assert_int_eq(pwrite(fd, &b, 1, off), 1);
		break;
	}
	case EMPTY_FILE:
		ck_assert_int_eq(ftruncate(fd, 0), 0);
		break;
	case OVERSIZED:
		ck_assert_int_eq(ftruncate(fd, FOTA__CKPT_MAX_FILE_LEN + 1), 0);
		break;
	case DROP_DIGEST:
		ck_assert_int_eq(ftruncate(fd, (off_t)fota__checkpoint_file_len(img_count) - 32),
				 0);
		break;
	}
	close(fd);
}

START_TEST(test_torn_bitmap)
{
	struct fota_checkpoint *cp = open_cp(NULL);
	const uint32_t have[] = {1, 2, 8, 9};
	char broken[512];

	for (size_t k = 0; k < 4; k++)
		ck_assert_int_eq(put(cp, have[k]), FOTA_OK);
	sync_cp(cp);
	fota_checkpoint_free(cp);
	damage_bitmap((enum damage)_i);

	cp = open_cp(NULL);
	state_path(broken, sizeof(broken), ".bitmap.broken");
	ck_assert_msg(access(broken, F_OK) == 0, "damaged bitmap not moved aside");
	/* Rebuilt by re-verifying every chunk of the data file. */
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 4);
	for (size_t k = 0; k < 4; k++)
		ck_assert(fota_checkpoint_has(cp, have[k]));
	ck_assert(!fota_checkpoint_has(cp, 0));
	fota_checkpoint_free(cp);
	/* ... and the rebuilt bitmap is on disk, sound. */
	ck_assert_int_eq(check_disk_contract(NULL), 4);
}
END_TEST

START_TEST(test_corrupt_data_cleared)
{
	struct fota_checkpoint *cp = open_cp(NULL);
	char part[512];
	uint8_t b = 0xff;
	int fd;

	for (uint32_t i = 0; i < 5; i++)
		ck_assert_int_eq(put(cp, i), FOTA_OK);
	sync_cp(cp);
	fota_checkpoint_free(cp);

	/* The bitmap is valid, but the bytes behind chunk 2 went bad on disk. */
	state_path(part, sizeof(part), ".part");
	fd = open(part, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &b, 1, 2 * CS + 17), 1);
	close(fd);

	cp = open_cp(NULL);
	ck_assert(!fota_checkpoint_has(cp, 2));
	ck_assert(fota_checkpoint_has(cp, 1) && fota_checkpoint_has(cp, 3));
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 4);
	fota_checkpoint_free(cp);
	/* The correction is persisted at once, so the file itself stops claiming chunk 2. */
	ck_assert_int_eq(check_disk_contract(NULL), 4);
	cp = open_cp(NULL);
	ck_assert_int_eq(put(cp, 2), FOTA_OK);
	ck_assert_uint_eq(fota_checkpoint_present(cp), 5);
	fota_checkpoint_free(cp);
}
END_TEST

START_TEST(test_other_image_discarded)
{
	struct fota_checkpoint_params p;
	struct fota_checkpoint *cp = open_cp(NULL);
	struct fota_error err = {0};
	uint8_t other_id[32];
	char broken[512];

	ck_assert_int_eq(put(cp, 4), FOTA_OK);
	sync_cp(cp);
	fota_checkpoint_free(cp);

	memcpy(other_id, img_sha, sizeof(other_id));
	other_id[0] ^= 0xff;
	p = params(NULL);
	p.image_id = other_id;
	ck_assert_int_eq(fota_checkpoint_open(&p, &cp, &err), FOTA_OK);
	ck_assert_uint_eq(fota_checkpoint_present(cp), 0);
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 0);
	fota_checkpoint_free(cp);
	/* A sound file about another image is not damage: nothing is moved aside. */
	state_path(broken, sizeof(broken), ".bitmap.broken");
	ck_assert_int_eq(access(broken, F_OK), -1);
	ck_assert_int_eq(check_disk_contract(NULL), 0);
}
END_TEST

START_TEST(test_external_slot)
{
	struct fota_error err = {0};
	struct fota_checkpoint *cp;
	char slot[512], bitmap[512];
	const off_t slot_size = (off_t)img_size + 8192;
	uint8_t tail[16];
	struct stat st;
	int fd;

	/* A slot larger than the image, with old content beyond it that must survive. */
	snprintf(slot, sizeof(slot), "%s/slot-b.img", tmpdir);
	fd = open(slot, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, slot_size), 0);
	ck_assert_int_eq(pwrite(fd, "old slot content", 16, slot_size - 16), 16);
	close(fd);

	cp = open_cp(slot);
	ck_assert_str_eq(fota_checkpoint_data_path(cp), slot);
	for (uint32_t i = 0; i < img_count; i++)
		ck_assert_int_eq(put(cp, i), FOTA_OK);
	sync_cp(cp);
	ck_assert_int_eq(check_disk_contract(slot), 10);
	ck_assert_int_eq(fota_checkpoint_verify_image(cp, img_sha, &err), FOTA_OK);
	ck_assert_int_eq(fota_checkpoint_discard(cp, &err), FOTA_OK);
	ck_assert_int_eq(put(cp, 0), FOTA_ERR_STATE);
	ck_assert_int_eq(fota_checkpoint_sync(cp, &err), FOTA_ERR_STATE);
	fota_checkpoint_free(cp);

	ck_assert_int_eq(stat(slot, &st), 0);
	ck_assert_int_eq(st.st_size, slot_size);
	fd = open(slot, O_RDONLY);
	ck_assert_int_eq(pread(fd, tail, 16, slot_size - 16), 16);
	ck_assert_mem_eq(tail, "old slot content", 16);
	close(fd);
	state_path(bitmap, sizeof(bitmap), ".bitmap");
	ck_assert_int_eq(access(bitmap, F_OK), -1);
}
END_TEST

/* Images up to FOTA_MAX_IMAGE_SIZE (16 GiB) are allowed, so chunk offsets pass 2 GiB and 4 GiB;
 * on a 32-bit device (armhf) a 32-bit off_t would wrap them onto other chunks. The data file
 * is sparse: only the two chunks written take space. */
START_TEST(test_beyond_4gib)
{
	const uint32_t cs = FOTA_MAX_CHUNK_SIZE;
	const uint64_t size = 5ull * 1024 * 1024 * 1024 + 4096;
	const uint32_t mid = 2048, last = 5120; /* at 2 GiB (sign bit) and 5 GiB (past 4 GiB) */
	struct fota_checkpoint_params p = params(NULL);
	struct fota_chunk_table big = {0};
	struct fota_checkpoint *cp = NULL;
	struct fota_error err = {0};
	uint8_t *a = malloc(cs), *b = malloc(4096);
	char part[512];
	struct stat st;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	memset(a, 0xa5, cs);
	memset(b, 0x5a, 4096);
	big.count = fota_chunk_count_for(size, cs);
	ck_assert_uint_eq(big.count, last + 1);
	ck_assert_uint_eq(fota_chunk_len(size, cs, last), 4096);
	big.hashes = calloc(big.count, sizeof(*big.hashes));
	ck_assert_ptr_nonnull(big.hashes);
	fota_sha256(a, cs, big.hashes[mid]);
	fota_sha256(b, 4096, big.hashes[last]);
	p.image_size = size;
	p.chunk_size = cs;
	p.table = &big;

	ck_assert_msg(fota_checkpoint_open(&p, &cp, &err) == FOTA_OK, "open: %s", err.msg);
	ck_assert_msg(fota_checkpoint_put(cp, mid, a, cs, &err) == FOTA_OK, "put: %s", err.msg);
	ck_assert_msg(fota_checkpoint_put(cp, last, b, 4096, &err) == FOTA_OK, "put: %s", err.msg);
	ck_assert_msg(fota_checkpoint_sync(cp, &err) == FOTA_OK, "sync: %s", err.msg);
	fota_checkpoint_free(cp);
	state_path(part, sizeof(part), ".part");
	ck_assert_int_eq(stat(part, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, size);

	/* Reopening re-reads both chunks from their offsets and hashes them. */
	cp = NULL;
	ck_assert_msg(fota_checkpoint_open(&p, &cp, &err) == FOTA_OK, "reopen: %s", err.msg);
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 2);
	ck_assert(fota_checkpoint_has(cp, mid));
	ck_assert(fota_checkpoint_has(cp, last));
	fota_checkpoint_free(cp);
	fota_chunk_table_clear(&big);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_discard_internal)
{
	struct fota_error err = {0};
	struct fota_checkpoint *cp = open_cp(NULL);
	char part[512], bitmap[512];

	ck_assert_int_eq(put(cp, 0), FOTA_OK);
	sync_cp(cp);
	ck_assert_int_eq(fota_checkpoint_discard(cp, &err), FOTA_OK);
	fota_checkpoint_free(cp);
	state_path(part, sizeof(part), ".part");
	state_path(bitmap, sizeof(bitmap), ".bitmap");
	ck_assert_int_eq(access(part, F_OK), -1);
	ck_assert_int_eq(access(bitmap, F_OK), -1);
}
END_TEST

START_TEST(test_verify_image)
{
	struct fota_error err = {0};
	struct fota_checkpoint *cp = open_cp(NULL);
	char part[512];
	uint8_t b = 0;
	int fd;

	ck_assert_int_eq(put(cp, 0), FOTA_OK);
	/* Incomplete: zeros where chunks are missing do not hash to the image. */
	ck_assert_int_eq(fota_checkpoint_verify_image(cp, img_sha, &err), FOTA_ERR_DIGEST);
	for (uint32_t i = 1; i < img_count; i++)
		ck_assert_int_eq(put(cp, i), FOTA_OK);
	sync_cp(cp);
	ck_assert_int_eq(fota_checkpoint_verify_image(cp, img_sha, &err), FOTA_OK);

	/* One byte changed on disk after the chunks were checked. */
	state_path(part, sizeof(part), ".part");
	fd = open(part, O_RDWR);
	ck_assert_int_eq(pread(fd, &b, 1, 5000), 1);
	b ^= 0x80;
	ck_assert_int_eq(pwrite(fd, &b, 1, 5000), 1);
	close(fd);
	ck_assert_int_eq(fota_checkpoint_verify_image(cp, img_sha, &err), FOTA_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err.msg, "image SHA-256 mismatch"));

	/* A data file cut short is an I/O error saying where it ends. */
	fd = open(part, O_RDWR);
	ck_assert_int_eq(ftruncate(fd, 3000), 0);
	close(fd);
	ck_assert_int_eq(fota_checkpoint_verify_image(cp, img_sha, &err), FOTA_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "ends at byte 3000"));
	fota_checkpoint_free(cp);
}
END_TEST

/* A caller that hashed a prefix itself has only the rest read back; the digest still covers
 * every byte, and a change on disk past the prefix is still caught. */
START_TEST(test_verify_image_from)
{
	struct fota_error err = {0};
	struct fota_checkpoint *cp = open_cp(NULL);
	struct fota_sha256_ctx *ctx = fota_sha256_new();
	char part[512];
	uint8_t b = 0;
	int fd;

	ck_assert_ptr_nonnull(ctx);
	for (uint32_t i = 0; i < img_count; i++)
		ck_assert_int_eq(put(cp, i), FOTA_OK);
	sync_cp(cp);
	for (uint32_t first = 0; first <= img_count; first++) {
		fota_sha256_update(ctx, img,
				   (size_t)first * CS < img_size ? (size_t)first * CS
								 : (size_t)img_size);
		ck_assert_int_eq(fota_checkpoint_verify_image_from(cp, ctx, first, img_sha, &err),
				 FOTA_OK);
	}
	/* A prefix hashed from other bytes than the image fails, though the disk is right. */
	fota_sha256_update(ctx, "x", 1);
	ck_assert_int_eq(fota_checkpoint_verify_image_from(cp, ctx, 0, img_sha, &err),
			 FOTA_ERR_DIGEST);
	/* ctx was reset by the failure: the full check from 0 passes with it. */
	ck_assert_int_eq(fota_checkpoint_verify_image_from(cp, ctx, 0, img_sha, &err), FOTA_OK);

	state_path(part, sizeof(part), ".part");
	fd = open(part, O_RDWR);
	ck_assert_int_eq(pread(fd, &b, 1, 5000), 1);
	b ^= 0x80;
	ck_assert_int_eq(pwrite(fd, &b, 1, 5000), 1);
	close(fd);
	fota_sha256_update(ctx, img, 4 * CS);
	ck_assert_int_eq(fota_checkpoint_verify_image_from(cp, ctx, 4, img_sha, &err),
			 FOTA_ERR_DIGEST);
	ck_assert_int_eq(fota_checkpoint_verify_image_from(cp, ctx, img_count + 1, img_sha, &err),
			 FOTA_ERR_FIELD);
	fota_sha256_free(ctx);
	fota_checkpoint_free(cp);
}
END_TEST

struct missing_case {
	uint32_t present; /* bit i: chunk i present (10 chunks) */
	uint32_t from;
	size_t max_ranges;
	uint32_t max_chunks;
	size_t n;
	struct fota_range want[4];
};

static const struct missing_case missing_cases[] = {
    {0x000, 0, 8, 100, 1, {{0, 10}}},
    {0x000, 4, 8, 100, 2, {{4, 6}, {0, 4}}},
    {0x08c, 0, 8, 100, 3, {{0, 2}, {4, 3}, {8, 2}}},
    {0x08c, 5, 8, 100, 4, {{5, 2}, {8, 2}, {0, 2}, {4, 1}}},
    {0x08c, 0, 2, 100, 2, {{0, 2}, {4, 3}}},
    {0x08c, 0, 8, 3, 2, {{0, 2}, {4, 1}}},
    {0x08c, 5, 3, 5, 3, {{5, 2}, {8, 2}, {0, 1}}},
    {0x3ff, 0, 8, 100, 0, {{0, 0}}},
    {0x1f8, 9, 8, 100, 2, {{9, 1}, {0, 3}}},
    {0x000, 15, 8, 100, 1, {{0, 10}}},
    {0x000, 0, 0, 100, 0, {{0, 0}}},
    {0x000, 0, 8, 0, 0, {{0, 0}}},
    {0x1ff, 3, 8, 100, 1, {{9, 1}}},
    {0x000, 0, 8, 1, 1, {{0, 1}}},
    {0x001, 0, 8, 100, 1, {{1, 9}}},
};

START_TEST(test_missing)
{
	const struct missing_case *c = &missing_cases[_i];
	struct fota_checkpoint *cp = open_cp(NULL);
	struct fota_range out[8];
	size_t n;

	for (uint32_t i = 0; i < img_count; i++)
		if (c->present & (1u << i))
			ck_assert_int_eq(put(cp, i), FOTA_OK);
	memset(out, 0xee, sizeof(out));
	n = fota_checkpoint_missing(cp, c->from, out, c->max_ranges, c->max_chunks);
	ck_assert_uint_eq(n, c->n);
	for (size_t k = 0; k < n; k++) {
		ck_assert_msg(out[k].first == c->want[k].first && out[k].count == c->want[k].count,
			      "case %d range %zu: got [%u,%u] want [%u,%u]", _i, k, out[k].first,
			      out[k].count, c->want[k].first, c->want[k].count);
	}
	/* Nothing past the ranges written is touched. */
	ck_assert_uint_eq(out[n].first, 0xeeeeeeeeu);
	fota_checkpoint_free(cp);
}
END_TEST

START_TEST(test_sync_noop)
{
	struct fota_checkpoint *cp = open_cp(NULL);
	char bitmap[512];
	struct stat a, b;

	state_path(bitmap, sizeof(bitmap), ".bitmap");
	ck_assert_int_eq(stat(bitmap, &a), 0);
	sync_cp(cp); /* nothing changed since open */
	ck_assert_int_eq(stat(bitmap, &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(put(cp, 5), FOTA_OK);
	ck_assert_int_eq(put(cp, 5), FOTA_OK);
	sync_cp(cp);
	ck_assert_int_eq(stat(bitmap, &b), 0);
	ck_assert_uint_ne(a.st_ino, b.st_ino); /* replaced by rename */
	fota_checkpoint_free(cp);
}
END_TEST

START_TEST(test_params)
{
	struct fota_checkpoint_params p = params(NULL);
	struct fota_checkpoint *cp = NULL;
	struct fota_chunk_table small = {0};
	struct fota_error err = {0};
	char stale[512];
	FILE *f;

	p.name = "../escape";
	ck_assert_int_eq(fota_checkpoint_open(&p, &cp, &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a plain file name"));
	p = params(NULL);
	p.chunk_size = 100;
	ck_assert_int_eq(fota_checkpoint_open(&p, &cp, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "chunk size 100"));
	p = params(NULL);
	p.image_size = img_size + CS; /* one chunk more than the table has */
	ck_assert_int_eq(fota_checkpoint_open(&p, &cp, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "chunk table has 10 entries, image needs 11"));
	p = params(NULL);
	p.table = &small;
	ck_assert_int_eq(fota_checkpoint_open(&p, &cp, &err), FOTA_ERR_FIELD);
	p = params(NULL);
	p.table = NULL;
	ck_assert_int_eq(fota_checkpoint_open(&p, &cp, &err), FOTA_ERR_INVAL);
	ck_assert_ptr_null(cp);

	/* Temps of a bitmap write interrupted by a crash are swept on open. */
	ck_assert_int_eq(fota_mkdirs(state_dir, 0700, &err), FOTA_OK);
	state_path(stale, sizeof(stale), ".bitmap.tmp.4242.7");
	f = fopen(stale, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	cp = open_cp(NULL);
	ck_assert_int_eq(access(stale, F_OK), -1);
	fota_checkpoint_free(cp);
}
END_TEST

/*
 * kill -9 at random moments while chunks are put and synced. After every kill the bitmap on
 * disk must be sound and claim only chunks that are on disk; then the next round resumes.
 */
#define CRASH_CHUNKS 2048u
#define CRASH_ROUNDS 10

static void crash_child(int ready_fd, uint32_t round)
{
	struct fota_checkpoint_params p = params(NULL);
	struct fota_checkpoint *cp = NULL;
	uint32_t *order = malloc(CRASH_CHUNKS * sizeof(*order));
	uint32_t batch = 1 + round % 6, n = 0;

	if (order == NULL || fota_checkpoint_open(&p, &cp, NULL) != FOTA_OK)
		_exit(2);
	if (write(ready_fd, "r", 1) != 1)
		_exit(2);
	/* A different order each round, so kills land on chunks all over the image. */
	rng_state = 0x9e3779b9u * (round + 1);
	for (uint32_t i = 0; i < CRASH_CHUNKS; i++)
		order[i] = i;
	for (uint32_t i = CRASH_CHUNKS - 1; i > 0; i--) {
		uint32_t j = rng() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (uint32_t k = 0; k < CRASH_CHUNKS; k++) {
		uint32_t i = order[k];

		if (fota_checkpoint_has(cp, i))
			continue;
		if (put(cp, i) != FOTA_OK)
			_exit(3);
		if (++n % batch == 0 && fota_checkpoint_sync(cp, NULL) != FOTA_OK)
			_exit(4);
	}
	if (fota_checkpoint_sync(cp, NULL) != FOTA_OK)
		_exit(4);
	_exit(0);
}

START_TEST(test_crash_resume)
{
	static const unsigned delays_us[CRASH_ROUNDS] = {500,	2000,  3500,  5000,  8000,
							 12000, 20000, 30000, 45000, 70000};
	struct fota_error err = {0};
	struct fota_checkpoint *cp;
	int last = 0, killed = 0;

	make_image(CRASH_CHUNKS, 0xc0ffee);
	for (uint32_t round = 0; round < CRASH_ROUNDS; round++) {
		int fds[2], status = 0, marked;
		char c;
		pid_t pid;

		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			crash_child(fds[1], round);
		}
		close(fds[1]);
		/* Time the kill from when the child starts putting, with a little jitter. */
		if (read(fds[0], &c, 1) == 1) {
			struct timespec ts;

			rng_state = 0x1234567u + round;
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(delays_us[round] + rng() % 1000) * 1000L;
			nanosleep(&ts, NULL);
		}
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		close(fds[0]);
		if (WIFSIGNALED(status))
			killed++;
		else
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				      "child failed with status %d", status);

		marked = check_disk_contract(NULL);
		/* Durable chunks are never lost, and nothing unsound was ever marked. */
		ck_assert_int_ge(marked, last);
		last = marked;
	}
	ck_assert_msg(killed > 0, "no round was interrupted");

	/* The survivor resumes from what is on disk and completes the image. */
	cp = open_cp(NULL);
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), (uint32_t)last);
	for (uint32_t i = 0; i < CRASH_CHUNKS; i++)
		ck_assert_int_eq(put(cp, i), FOTA_OK);
	sync_cp(cp);
	ck_assert(fota_checkpoint_complete(cp));
	ck_assert_int_eq(fota_checkpoint_verify_image(cp, img_sha, &err), FOTA_OK);
	fota_checkpoint_free(cp);
	ck_assert_int_eq(check_disk_contract(NULL), (int)CRASH_CHUNKS);
}
END_TEST

/* The two-step sync: a snapshot claims the chunks put before it and no later one, and its
 * commit, run after more puts (as a sync thread does), makes exactly those durable. */
START_TEST(test_snapshot_commit)
{
	struct fota_checkpoint_snapshot snap = {0};
	struct fota_error err = {0};
	struct fota_checkpoint *cp = open_cp(NULL);

	ck_assert_int_eq(put(cp, 0), FOTA_OK);
	ck_assert_int_eq(put(cp, 1), FOTA_OK);
	ck_assert_int_eq(fota_checkpoint_snapshot(cp, &snap, &err), FOTA_OK);
	ck_assert(snap.taken);
	ck_assert_int_eq(put(cp, 2), FOTA_OK); /* after the snapshot: not claimed by it */
	ck_assert_msg(fota_checkpoint_commit(cp, &snap, &err) == FOTA_OK, "commit: %s", err.msg);
	ck_assert_int_eq(check_disk_contract(NULL), 2);
	fota_checkpoint_free(cp);
	cp = open_cp(NULL);
	ck_assert_uint_eq(fota_checkpoint_recovered(cp), 2);
	/* Nothing changed since the reopen: a snapshot is a no-op, and so is its commit. */
	ck_assert_int_eq(fota_checkpoint_snapshot(cp, &snap, &err), FOTA_OK);
	ck_assert(!snap.taken);
	ck_assert_int_eq(fota_checkpoint_commit(cp, &snap, &err), FOTA_OK);
	fota_checkpoint_snapshot_clear(&snap);
	fota_checkpoint_free(cp);
}
END_TEST

static Suite *checkpoint_suite(void)
{
	Suite *s = suite_create("checkpoint");
	TCase *tc = tcase_create("checkpoint");
	TCase *crash = tcase_create("crash");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fresh);
	tcase_add_test(tc, test_resume);
	tcase_add_test(tc, test_unsynced_not_durable);
	tcase_add_test(tc, test_snapshot_commit);
	tcase_add_test(tc, test_put_refuses);
	tcase_add_loop_test(tc, test_torn_bitmap, TRUNCATE_HALF, DROP_DIGEST + 1);
	tcase_add_test(tc, test_corrupt_data_cleared);
	tcase_add_test(tc, test_other_image_discarded);
	tcase_add_test(tc, test_external_slot);
	tcase_add_test(tc, test_beyond_4gib);
	tcase_add_test(tc, test_discard_internal);
	tcase_add_test(tc, test_verify_image);
	tcase_add_test(tc, test_verify_image_from);
	tcase_add_loop_test(tc, test_missing, 0,
			    (int)(sizeof(missing_cases) / sizeof(missing_cases[0])));
	tcase_add_test(tc, test_sync_noop);
	tcase_add_test(tc, test_params);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(crash, setup, teardown);
	tcase_set_timeout(crash, 60);
	tcase_add_test(crash, test_crash_resume);
	suite_add_tcase(s, crash);
	return s;
}

int main(void)
{
	return tu_run(checkpoint_suite());
}
