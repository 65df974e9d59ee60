/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private header: the decode chain between the verified staged payload and the installer.
 *
 * The payload the device receives (image.size / image.sha256 in the manifest) need not be the
 * image it installs (image.decoded_size / image.decoded_sha256): it may be compressed, and
 * later a delta or encrypted. The chain turns one into the other, streaming, in bounded
 * memory: the payload is read in DECODE_BLOCK pieces, each stage works from its input buffer
 * into a DECODE_BLOCK output buffer, and the last buffer is written sequentially to the output
 * and hashed on the way. The output never grows past decoded_size, and it counts only when its
 * SHA-256 is decoded_sha256.
 *
 * A chain with no stage is the identity: the payload is the image, and it is installed where
 * it was staged (for ab-slot, the chunks were written into the slot itself). Nothing is copied.
 */
#ifndef FOTA_CLIENT_DECODE_H
#define FOTA_CLIENT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/manifest.h"

/* Every buffer of the chain, and the read and write size. */
#define DECODE_BLOCK (64u * 1024u)
/* Most stages one chain can hold (decryption, delta, decompression and room for one more). */
#define DECODE_MAX_STAGES 4

/*
 * One streaming stage. step consumes from in[0..in_len) and produces into out[0..out_cap),
 * saying how much of each it used; it is called again while it consumes or produces. With
 * in_len 0 after the payload ended it flushes. end is called once the payload ended and every
 * buffer is empty: FOTA_OK only when the stage's stream is complete.
 */
struct decode_stage {
	const char *name;
	fota_err (*step)(struct decode_stage *s, const uint8_t *in, size_t in_len, size_t *consumed,
			 uint8_t *out, size_t out_cap, size_t *produced, struct fota_error *err);
	fota_err (*end)(struct decode_stage *s, struct fota_error *err);
	void (*free)(struct decode_stage *s);
};

struct decode_chain {
	struct decode_stage *stages[DECODE_MAX_STAGES];
	int n;
	uint64_t out_size;		     /* the image's size: output beyond it is refused */
	uint8_t out_sha256[FOTA_SHA256_LEN]; /* the image's digest */
};

/* True when the manifest's payload is the image itself: the chain has no stage. */
bool decode_payload_is_image(const struct fota_manifest *m);

/* The image a delta payload applies to: base_fd (the caller's, read with pread only) holds
 * it in its first size bytes. */
struct decode_base {
	int fd;
	uint64_t size;
};

/* Opens path (a file or block device) read-only as the base of a delta and hashes its first
 * size bytes: FOTA_ERR_DIGEST, saying so, unless their SHA-256 is sha256 (the manifest's
 * from_sha256), so a delta is never applied to anything but its own base. One pass over the
 * base in DECODE_BLOCK reads. decode_base_close closes it (a closed base is a no-op). */
fota_err decode_base_open(const char *path, uint64_t size, const uint8_t sha256[FOTA_SHA256_LEN],
			  struct decode_base *out, struct fota_error *err);
void decode_base_close(struct decode_base *b);

/* Builds the chain the manifest's payload needs (none for a plain image): decompression, or
 * for a delta (from_sha256) the delta stage over base alone, which decompresses its own zstd
 * streams. FOTA_ERR_INCOMPATIBLE when this agent has no stage for it, or a delta comes without
 * a base or with a compression other than zstd. */
fota_err decode_chain_for(const struct fota_manifest *m, const struct decode_base *base,
			  struct decode_chain *c, struct fota_error *err);
/* True when the payload is the image (no stage). */
bool decode_chain_is_identity(const struct decode_chain *c);
void decode_chain_clear(struct decode_chain *c);

/* Called after each write with the bytes written so far (a test hook for power cuts). */
typedef void (*decode_progress_fn)(void *ctx, uint64_t written);

/*
 * Runs the payload at payload_path through the chain into out_path: a file created (or
 * truncated), or, with in_place, an existing file or block device written from offset 0 and
 * never truncated (the inactive slot). The output is made durable. FOTA_ERR_DIGEST when the
 * output's size or SHA-256 is not the image's (checked before a byte past the size is written),
 * FOTA_ERR_TOO_BIG when a stage would need more memory than it may take, FOTA_ERR_PARSE when a
 * stage finds its input malformed or truncated, FOTA_ERR_IO on I/O. A run that was cut off is
 * simply run again: the payload is never changed.
 */
fota_err decode_chain_run(struct decode_chain *c, const char *payload_path, const char *out_path,
			  bool in_place, decode_progress_fn progress, void *progress_ctx,
			  struct fota_error *err);

/* The same over a payload in memory, into a sink, for tests and fuzzing: write gets every
 * output piece; returns the sink's error, if any. */
typedef fota_err (*decode_write_fn)(void *ctx, const uint8_t *p, size_t len,
				    struct fota_error *err);
fota_err decode_chain_run_mem(struct decode_chain *c, const uint8_t *payload, size_t len,
			      decode_write_fn write, void *write_ctx, struct fota_error *err);

#endif
