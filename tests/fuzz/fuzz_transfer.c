/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for what follows a verified manifest: the chunk table frame and the data
 * frames, decoded and matched as the agent does, into a real checkpoint in a temporary
 * directory. The harness knows the image, so it signs nothing and builds honest frames itself;
 * the input is a script that mixes them with raw and mutated frames, syncs, restarts and
 * forged tables. Invariants: no chunk lands unless it is the image's own; a table that is not
 * the signed one is refused, saying so once; a complete transfer verifies. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/chunk.h"
#include "fota/chunk_table.h"
#include "fota/digest.h"
#include "fota/limits.h"
#include "transfer.h"

#define CHUNK FOTA_MIN_CHUNK_SIZE
#define MAX_COUNT 8u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	const uint8_t *in;
	size_t len, pos;
	struct client_config cfg;
	struct fota_manifest m;
	uint8_t image[MAX_COUNT * CHUNK];
	uint8_t table[MAX_COUNT * FOTA_SHA256_LEN];
	uint8_t id[FOTA_IMAGE_ID_LEN];
	struct transfer *t;
};

static uint8_t next(struct run *r)
{
	return r->pos < r->len ? r->in[r->pos++] : 0;
}

static uint16_t next16(struct run *r)
{
	uint16_t v = next(r);

	return (uint16_t)(v | next(r) << 8);
}

/* tmpfs when there is one: the checkpoint syncs often, and disks would make runs slow. */
static const char *state_dir(void)
{
	static char dir[256];

	if (dir[0] == '\0') {
		const char *base = getenv("TMPDIR");

		if (base == NULL)
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, sizeof(dir), "%s/fuzz_transfer.XXXXXX", base);
		if (mkdtemp(dir) == NULL)
			abort();
	}
	return dir;
}

static void fail_if(bool bad)
{
	if (bad)
		abort();
}

/* The agent's path for a frame already on this image's topic: decode, match image and
 * count, store. A chunk accepted as new must be the image's own bytes. */
static void deliver(struct run *r, const uint8_t *buf, size_t len)
{
	struct fota_error err = {0};
	struct fota_frame f;
	bool is_new = true;
	fota_err rc;

	if (fota_frame_decode(buf, len, &f, &err) != FOTA_OK) {
		fail_if(err.msg[0] == '\0');
		return;
	}
	if (f.type != FOTA_FRAME_DATA || memcmp(f.image_id, r->id, FOTA_IMAGE_ID_LEN) != 0 ||
	    f.count != r->m.chunk_count)
		return;
	rc = transfer_put(r->t, &f, &is_new, &err);
	if (rc != FOTA_OK) {
		fail_if(is_new || err.msg[0] == '\0');
		return;
	}
	if (is_new)
		fail_if(f.payload_len != fota_chunk_len(r->m.size, CHUNK, f.index) ||
			memcmp(f.payload, r->image + (size_t)f.index * CHUNK, f.payload_len) != 0);
}

static uint8_t *honest(const struct run *r, uint8_t type, uint32_t index, size_t *len)
{
	struct fota_frame f = {0};
	uint8_t *buf = NULL;

	f.type = type;
	memcpy(f.image_id, r->id, FOTA_IMAGE_ID_LEN);
	f.count = r->m.chunk_count;
	if (type == FOTA_FRAME_TABLE) {
		f.payload = r->table;
		f.payload_len = r->m.chunk_count * FOTA_SHA256_LEN;
	} else {
		f.index = index;
		f.payload = r->image + (size_t)index * CHUNK;
		f.payload_len = fota_chunk_len(r->m.size, CHUNK, index);
	}
	if (fota_frame_encode(&f, &buf, len, NULL) != FOTA_OK)
		abort();
	return buf;
}

/* Opens the transfer from a table frame, as start_transfer does. */
static fota_err open_from(struct run *r, const uint8_t *frame, size_t len, struct fota_error *err)
{
	struct fota_frame f;
	fota_err rc = fota_frame_decode(frame, len, &f, err);

	if (rc != FOTA_OK)
		return rc;
	if (f.type != FOTA_FRAME_TABLE)
		return FOTA_ERR_PARSE;
	rc = transfer_open(&r->cfg, &r->m, r->id, f.payload, f.payload_len, NULL, &r->t, err);
	/* The table code words its refusals; the transfer adds nothing to them. */
	if (rc != FOTA_OK)
		fail_if(r->t != NULL ||
			strstr(err->msg, "chunk table rejected: chunk table rejected") != NULL);
	return rc;
}

static void reopen(struct run *r)
{
	struct fota_error err = {0};
	size_t len;
	uint8_t *frame = honest(r, FOTA_FRAME_TABLE, 0, &len);

	transfer_free(r->t);
	r->t = NULL;
	fail_if(open_from(r, frame, len, &err) != FOTA_OK);
	free(frame);
}

/* A table frame whose payload differs from the signed table in one byte, or is cut. */
static void forged_table(struct run *r)
{
	struct fota_error err = {0};
	struct transfer *keep = r->t;
	size_t len, at;
	uint8_t *frame = honest(r, FOTA_FRAME_TABLE, 0, &len);
	uint8_t how = next(r);

	at = FOTA_FRAME_HEADER_LEN + next16(r) % (len - FOTA_FRAME_HEADER_LEN);
	if (how & 1)
		frame[at] ^= (uint8_t)(how | 1);
	else
		len = at; /* decodes as a short payload or not at all */
	transfer_free(keep);
	r->t = NULL;
	if (open_from(r, frame, len, &err) == FOTA_OK)
		abort(); /* any change to the table must be refused */
	free(frame);
	reopen(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	struct fota_error err = {0};
	uint32_t count, seed;
	size_t len;
	uint8_t *frame;

	memset(&r, 0, sizeof(r));
	r.in = data;
	r.len = size;
	snprintf(r.cfg.state_dir, sizeof(r.cfg.state_dir), "%s", state_dir());
	count = 1 + next(&r) % MAX_COUNT;
	r.m.chunk_size = CHUNK;
	r.m.size = (uint64_t)(count - 1) * CHUNK + 1 + next16(&r) % CHUNK;
	r.m.chunk_count = count;
	r.cfg.sync_chunks = 1 + next(&r) % 4;
	seed = next(&r);
	for (size_t i = 0; i < r.m.size; i++) {
		seed = seed * 1103515245u + 12345u;
		r.image[i] = (uint8_t)(seed >> 16);
	}
	for (uint32_t i = 0; i < count; i++)
		fota_sha256(r.image + (size_t)i * CHUNK, fota_chunk_len(r.m.size, CHUNK, i),
			    r.table + (size_t)i * FOTA_SHA256_LEN);
	fota_sha256(r.image, (size_t)r.m.size, r.m.sha256);
	fota_sha256(r.table, (size_t)count * FOTA_SHA256_LEN, r.m.table_sha256);
	memcpy(r.id, r.m.sha256, FOTA_IMAGE_ID_LEN);

	frame = honest(&r, FOTA_FRAME_TABLE, 0, &len);
	fail_if(open_from(&r, frame, len, &err) != FOTA_OK);
	free(frame);
	while (r.pos < r.len) {
		uint8_t op = next(&r) % 8;

		switch (op) {
		case 0: /* the image's own chunk */
		case 1: /* the same, one byte changed anywhere in the frame */
			frame = honest(&r, FOTA_FRAME_DATA, next(&r) % count, &len);
			if (op == 1)
				frame[next16(&r) % len] ^= (uint8_t)(next(&r) | 1);
			deliver(&r, frame, len);
			free(frame);
			break;
		case 2: { /* raw bytes from the input */
			size_t n = next16(&r);

			if (n > r.len - r.pos)
				n = r.len - r.pos;
			deliver(&r, r.in + r.pos, n);
			r.pos += n;
			break;
		}
		case 3:
			fail_if(transfer_sync(r.t, &err) != FOTA_OK);
			break;
		case 4: /* the agent restarts */
			reopen(&r);
			break;
		case 5: {
			struct fota_range ranges[FOTA_MAX_REQUEST_RANGES];
			uint32_t window = 1 + next(&r), limit = next(&r) % (count + 2);
			size_t n = transfer_next_missing(r.t, ranges, FOTA_MAX_REQUEST_RANGES,
							 window, limit);
			uint64_t asked = 0;

			for (size_t i = 0; i < n; i++) {
				fail_if(ranges[i].count == 0 ||
					(uint64_t)ranges[i].first + ranges[i].count > count);
				asked += ranges[i].count;
			}
			fail_if(asked > window || (n > 0 && transfer_complete(r.t)));
			break;
		}
		case 6:
			forged_table(&r);
			break;
		default: /* everything, in order */
			for (uint32_t i = 0; i < count; i++) {
				frame = honest(&r, FOTA_FRAME_DATA, i, &len);
				deliver(&r, frame, len);
				free(frame);
			}
			fail_if(!transfer_complete(r.t));
			break;
		}
		fail_if(transfer_present(r.t) > count);
	}
	if (transfer_complete(r.t))
		fail_if(transfer_verify(r.t, &err) != FOTA_OK);
	transfer_discard(r.t);
	return 0;
}
