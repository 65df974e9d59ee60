/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk frame codec: every frame file under tests/data/chunk decodes to a frame or the reason. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/atomic_file.h"
#include "fota/chunk.h"
#include "fota/chunk_crypt.h"
#include "testutil.h"

static const uint8_t test_id[FOTA_IMAGE_ID_LEN] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

struct frame_case {
	const char *file;
	fota_err code;
	const char *reason; /* substring of the error message, or NULL when OK */
	uint8_t type;
	uint32_t index, count, payload_len, header_len;
};

static const struct frame_case cases[] = {
    {"data-ok.frame", FOTA_OK, NULL, FOTA_FRAME_DATA, 2, 5, 100, 32},
    {"table-ok.frame", FOTA_OK, NULL, FOTA_FRAME_TABLE, 0, 3, 96, 32},
    {"long-header.frame", FOTA_OK, NULL, FOTA_FRAME_DATA, 4, 5, 100, 48},
    {"newer-version.frame", FOTA_OK, NULL, FOTA_FRAME_DATA, 0, 1, 10, 40},
    {"bad-magic.frame", FOTA_ERR_PARSE, "bad magic 0x464f5442", 0, 0, 0, 0, 0},
    {"bad-version.frame", FOTA_ERR_PARSE, "unsupported frame version 0", 0, 0, 0, 0, 0},
    {"bad-type.frame", FOTA_ERR_PARSE, "unknown type 3", 0, 0, 0, 0, 0},
    {"index-eq-count.frame", FOTA_ERR_FIELD, "index 7 >= count 7", 0, 0, 0, 0, 0},
    {"short-payload.frame", FOTA_ERR_PARSE, "payload length 100 but 90 bytes follow", 0, 0, 0, 0,
     0},
    {"long-payload.frame", FOTA_ERR_PARSE, "payload length 90 but 100 bytes follow", 0, 0, 0, 0, 0},
    {"truncated-header.frame", FOTA_ERR_PARSE, "20 bytes, shorter than the 32-byte header", 0, 0, 0,
     0, 0},
    {"reserved-nonzero.frame", FOTA_ERR_PARSE, "reserved field 0x00000001", 0, 0, 0, 0, 0},
    {"count-zero.frame", FOTA_ERR_FIELD, "chunk count 0", 0, 0, 0, 0, 0},
    {"count-too-big.frame", FOTA_ERR_TOO_BIG, "chunk count 40000 > limit 32768", 0, 0, 0, 0, 0},
    {"header-too-short.frame", FOTA_ERR_PARSE, "header length 16 outside 32..256", 0, 0, 0, 0, 0},
    {"header-too-long.frame", FOTA_ERR_PARSE, "header length 300 outside 32..256", 0, 0, 0, 0, 0},
    {"header-past-end.frame", FOTA_ERR_PARSE, "header length 64 but frame is 32 bytes", 0, 0, 0, 0,
     0},
    {"empty-data.frame", FOTA_ERR_FIELD, "data frame 2 has an empty payload", 0, 0, 0, 0, 0},
    {"table-bad-len.frame", FOTA_ERR_FIELD, "table payload 64 bytes, expected 3 * 32 = 96", 0, 0, 0,
     0, 0},
    {"table-index.frame", FOTA_ERR_FIELD, "table frame index 1, expected 0", 0, 0, 0, 0, 0},
};

static uint8_t *load(const char *name, size_t *len)
{
	char path[512];
	struct fota_error err = {0};
	uint8_t *buf = NULL;

	snprintf(path, sizeof(path), "%s/chunk/%s", FOTA_TEST_DATA, name);
	ck_assert_msg(fota_read_file(path, 1 << 20, &buf, len, &err) == FOTA_OK, "%s: %s", path,
		      err.msg);
	return buf;
}

START_TEST(test_decode_files)
{
	const struct frame_case *c = &cases[_i];
	struct fota_error err = {0};
	struct fota_frame f;
	size_t len = 0;
	uint8_t *buf = load(c->file, &len);
	fota_err rc = fota_frame_decode(buf, len, &f, &err);

	ck_assert_msg(rc == c->code, "%s: got %d (%s), want %d", c->file, rc, err.msg, c->code);
	if (c->code == FOTA_OK) {
		ck_assert_uint_eq(f.type, c->type);
		ck_assert_uint_eq(f.index, c->index);
		ck_assert_uint_eq(f.count, c->count);
		ck_assert_uint_eq(f.payload_len, c->payload_len);
		ck_assert_mem_eq(f.image_id, test_id, FOTA_IMAGE_ID_LEN);
		/* The payload is the tail of the buffer, whatever the header length. */
		ck_assert_ptr_eq(f.payload, buf + c->header_len);
		ck_assert_uint_eq(c->header_len + f.payload_len, len);
	} else {
		ck_assert_msg(strstr(err.msg, c->reason) != NULL, "%s: message \"%s\" lacks \"%s\"",
			      c->file, err.msg, c->reason);
		ck_assert_msg(strstr(err.msg, "frame rejected") != NULL, "%s", err.msg);
	}
	free(buf);
}
END_TEST

START_TEST(test_roundtrip)
{
	uint8_t payload[3000];
	struct fota_frame f = {0}, g;
	struct fota_error err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	f.type = FOTA_FRAME_DATA;
	memcpy(f.image_id, test_id, sizeof(test_id));
	f.index = 17;
	f.count = 41;
	f.payload_len = sizeof(payload);
	f.payload = payload;
	ck_assert_int_eq(fota_frame_encode(&f, &buf, &len, &err), FOTA_OK);
	ck_assert_uint_eq(len, FOTA_FRAME_HEADER_LEN + sizeof(payload));
	/* Network byte order as documented. */
	ck_assert_mem_eq(buf, "FOTA\x01\x01\x00\x20", 8);
	ck_assert_mem_eq(buf + 20, "\x00\x00\x00\x29\x00\x00\x0b\xb8\x00\x00\x00\x00", 12);
	ck_assert_int_eq(fota_frame_decode(buf, len, &g, &err), FOTA_OK);
	ck_assert_uint_eq(g.type, f.type);
	ck_assert_uint_eq(g.index, f.index);
	ck_assert_uint_eq(g.count, f.count);
	ck_assert_uint_eq(g.payload_len, f.payload_len);
	ck_assert_mem_eq(g.image_id, f.image_id, FOTA_IMAGE_ID_LEN);
	ck_assert_mem_eq(g.payload, payload, sizeof(payload));
	free(buf);
}
END_TEST

START_TEST(test_encode_refuses)
{
	uint8_t payload[64] = {0};
	struct fota_frame f = {0};
	struct fota_error err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;

	f.type = FOTA_FRAME_DATA;
	f.index = 3;
	f.count = 3;
	f.payload_len = sizeof(payload);
	f.payload = payload;
	ck_assert_int_eq(fota_frame_encode(&f, &buf, &len, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_null(buf); /* nothing allocated on refusal */
	ck_assert_ptr_nonnull(strstr(err.msg, "index 3 >= count 3"));
	f.index = 0;
	f.type = FOTA_FRAME_TABLE;
	f.count = 3; /* needs 96 bytes */
	ck_assert_int_eq(fota_frame_encode(&f, &buf, &len, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "expected 3 * 32 = 96"));
	f.count = 2;
	ck_assert_int_eq(fota_frame_encode(&f, &buf, &len, &err), FOTA_OK);
	ck_assert_uint_eq(buf[5], FOTA_FRAME_TABLE);
	free(buf);
}
END_TEST

START_TEST(test_limits)
{
	/* A frame header that claims the largest allowed table, the largest sealed chunk, and one
	 * byte more. */
	size_t big = FOTA_FRAME_HEADER_LEN + FOTA_MAX_CHUNK_COUNT * 32u;
	uint8_t *buf = calloc(1, FOTA_MAX_FRAME_BYTES + FOTA_MAX_FRAME_HEADER_LEN);
	struct fota_frame f = {0};
	struct fota_error err = {0};

	ck_assert_ptr_nonnull(buf);
	f.type = FOTA_FRAME_TABLE;
	f.count = FOTA_MAX_CHUNK_COUNT;
	f.payload_len = FOTA_MAX_CHUNK_COUNT * 32u;
	fota_frame_encode_header(&f, buf);
	ck_assert_int_eq(fota_frame_decode(buf, big, &f, &err), FOTA_OK);
	ck_assert_uint_eq(f.count, FOTA_MAX_CHUNK_COUNT);

	f.type = FOTA_FRAME_DATA;
	f.count = 2;
	f.payload_len = FOTA_MAX_CHUNK_SIZE + FOTA_CHUNK_TAG_LEN;
	fota_frame_encode_header(&f, buf);
	ck_assert_int_eq(fota_frame_decode(buf, FOTA_MAX_FRAME_BYTES, &f, &err), FOTA_OK);
	f.payload_len = FOTA_MAX_CHUNK_SIZE + FOTA_CHUNK_TAG_LEN + 1;
	fota_frame_encode_header(&f, buf);
	ck_assert_int_eq(fota_frame_decode(buf, FOTA_MAX_FRAME_BYTES + 1, &f, &err),
			 FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "> limit"));

	ck_assert_int_eq(
	    fota_frame_decode(buf, FOTA_MAX_FRAME_BYTES + FOTA_MAX_FRAME_HEADER_LEN, &f, &err),
	    FOTA_ERR_TOO_BIG);
	ck_assert_int_eq(fota_frame_decode(NULL, 0, &f, &err), FOTA_ERR_PARSE);
	free(buf);
}
END_TEST

static Suite *chunk_suite(void)
{
	Suite *s = suite_create("chunk");
	TCase *tc = tcase_create("frame");

	tcase_add_loop_test(tc, test_decode_files, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(chunk_suite());
}
