/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk frame codec: a total, bounds-checked decoder for bytes straight off the broker. */
#include <stdlib.h>
#include <string.h>

#include "fota/chunk.h"

/* Largest payload any frame may carry: one chunk, or a full table of 32-byte hashes. */
#define MAX_PAYLOAD (FOTA_MAX_FRAME_BYTES - FOTA_FRAME_HEADER_LEN)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Shared by decoder and encoder so both sides refuse the same things. */
static fota_err check_fields(uint8_t type, uint32_t index, uint32_t count, uint32_t payload_len,
			     struct fota_error *err)
{
	if (type != FOTA_FRAME_DATA && type != FOTA_FRAME_TABLE)
		return fota_error_set(err, FOTA_ERR_PARSE, "frame rejected: unknown type %u",
				      (unsigned)type);
	if (count == 0)
		return fota_error_set(err, FOTA_ERR_FIELD, "frame rejected: chunk count 0");
	if (count > FOTA_MAX_CHUNK_COUNT)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "frame rejected: chunk count %u > limit %u", count,
				      FOTA_MAX_CHUNK_COUNT);
	if (payload_len > MAX_PAYLOAD)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "frame rejected: payload length %u > limit %u", payload_len,
				      (unsigned)MAX_PAYLOAD);
	if (type == FOTA_FRAME_TABLE) {
		if (index != 0)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "frame rejected: table frame index %u, expected 0",
					      index);
		if ((uint64_t)payload_len != (uint64_t)count * FOTA_SHA256_LEN)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "frame rejected: table payload %u bytes, expected "
					      "%u * 32 = %llu",
					      payload_len, count,
					      (unsigned long long)count * FOTA_SHA256_LEN);
		return FOTA_OK;
	}
	if (index >= count)
		return fota_error_set(err, FOTA_ERR_FIELD, "frame rejected: index %u >= count %u",
				      index, count);
	if (payload_len == 0)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "frame rejected: data frame %u has an empty payload", index);
	if (payload_len > FOTA_MAX_DATA_PAYLOAD)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "frame rejected: chunk of %u bytes > limit %u", payload_len,
				      FOTA_MAX_DATA_PAYLOAD);
	return FOTA_OK;
}

fota_err fota_frame_decode(const uint8_t *buf, size_t len, struct fota_frame *out,
			   struct fota_error *err)
{
	struct fota_frame f;
	uint32_t magic, reserved;
	uint16_t hdr_len;
	fota_err rc;

	if (buf == NULL && len != 0)
		return fota_error_set(err, FOTA_ERR_INVAL, "frame rejected: no buffer");
	if (len < FOTA_FRAME_HEADER_LEN)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "frame rejected: %zu bytes, shorter than the %u-byte header",
				      len, FOTA_FRAME_HEADER_LEN);
	if (len > MAX_PAYLOAD + FOTA_MAX_FRAME_HEADER_LEN)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "frame rejected: %zu bytes > limit %u",
				      len, (unsigned)(MAX_PAYLOAD + FOTA_MAX_FRAME_HEADER_LEN));
	magic = get32(buf);
	if (magic != FOTA_FRAME_MAGIC)
		return fota_error_set(err, FOTA_ERR_PARSE, "frame rejected: bad magic 0x%08x",
				      magic);
	/*
	 * Version 0 never existed. Later versions promise to keep the first 32 bytes as they are
	 * and only append header fields (an incompatible layout would take a new magic), so an
	 * old device can still take a newer frame and skip what it does not know.
	 */
	if (buf[4] < FOTA_FRAME_VERSION)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "frame rejected: unsupported frame version %u",
				      (unsigned)buf[4]);
	hdr_len = get16(buf + 6);
	if (hdr_len < FOTA_FRAME_HEADER_LEN || hdr_len > FOTA_MAX_FRAME_HEADER_LEN)
		return fota_error_set(
		    err, FOTA_ERR_PARSE, "frame rejected: header length %u outside %u..%u",
		    (unsigned)hdr_len, FOTA_FRAME_HEADER_LEN, FOTA_MAX_FRAME_HEADER_LEN);
	if (hdr_len > len)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "frame rejected: header length %u but frame is %zu bytes",
				      (unsigned)hdr_len, len);
	reserved = get32(buf + 28);
	if (reserved != 0)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "frame rejected: reserved field 0x%08x is not zero",
				      reserved);

	memset(&f, 0, sizeof(f));
	f.type = buf[5];
	memcpy(f.image_id, buf + 8, FOTA_IMAGE_ID_LEN);
	f.index = get32(buf + 16);
	f.count = get32(buf + 20);
	f.payload_len = get32(buf + 24);
	rc = check_fields(f.type, f.index, f.count, f.payload_len, err);
	if (rc != FOTA_OK)
		return rc;
	if ((size_t)f.payload_len != len - hdr_len)
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "frame rejected: payload length %u but %zu bytes follow",
				      f.payload_len, len - hdr_len);
	f.payload = buf + hdr_len;
	*out = f;
	return FOTA_OK;
}

void fota_frame_encode_header(const struct fota_frame *f, uint8_t hdr[FOTA_FRAME_HEADER_LEN])
{
	put32(hdr, FOTA_FRAME_MAGIC);
	hdr[4] = FOTA_FRAME_VERSION;
	hdr[5] = f->type;
	put16(hdr + 6, FOTA_FRAME_HEADER_LEN);
	memcpy(hdr + 8, f->image_id, FOTA_IMAGE_ID_LEN);
	put32(hdr + 16, f->index);
	put32(hdr + 20, f->count);
	put32(hdr + 24, f->payload_len);
	put32(hdr + 28, 0);
}

fota_err fota_frame_encode(const struct fota_frame *f, uint8_t **out, size_t *out_len,
			   struct fota_error *err)
{
	uint8_t *buf;
	size_t n;
	fota_err rc;

	rc = check_fields(f->type, f->index, f->count, f->payload_len, err);
	if (rc != FOTA_OK)
		return rc;
	if (f->payload == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "frame has no payload buffer");
	n = FOTA_FRAME_HEADER_LEN + (size_t)f->payload_len;
	buf = malloc(n);
	if (buf == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for a %zu-byte frame", n);
	fota_frame_encode_header(f, buf);
	memcpy(buf + FOTA_FRAME_HEADER_LEN, f->payload, f->payload_len);
	*out = buf;
	*out_len = n;
	return FOTA_OK;
}
