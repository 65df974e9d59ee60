/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the on-disk image store under <state>/images/. */
#ifndef ORCH_IMAGE_STORE_H
#define ORCH_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fota/chunk_table.h"
#include "fota/error.h"
#include "fota/manifest.h"

#include "config.h"

/* Default chunk payload for `image add`. With the 32-byte frame header a frame is 64 KiB + 32,
 * well clear of the 16 KiB TLS-record cliff, and 8 in flight stay under Paho's ~2 MiB
 * partial-write stall (MEASURED.md hazards 1 and 2). Re-measure before changing. */
#define ORCH_DEFAULT_CHUNK_SIZE 65536u

/*
 * Layout of one image, <state>/images/<image_id_hex>/:
 *   image.bin     the image bytes (a private copy, so later edits of the source do not matter);
 *                 of an encrypted image, its sealed chunks, with content.key (image_seal.h)
 *   table.bin     chunk hash table, chunk_count * 32 raw bytes
 *   manifest.jws  the signed manifest envelope, exactly as devices receive it
 * A directory appears complete or not at all: it is built under a staging name and renamed.
 */

/* An opened stored image: immutable, so one instance can serve several threads at once
 * (pread only). */
struct orch_image {
	char id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint8_t id_bin[FOTA_IMAGE_ID_LEN];
	struct fota_manifest manifest;
	uint8_t manifest_sha256[FOTA_SHA256_LEN]; /* of the envelope's decoded payload */
	char *manifest_jws;			  /* owned, NUL-terminated */
	size_t manifest_jws_len;
	uint8_t *table; /* owned, manifest.chunk_count * 32 bytes */
	size_t table_len;
	/* A delta payload's directory: manifest is the delta view of the image that offers it. */
	bool delta_payload;
	int fd; /* image.bin */
	char dir[PATH_MAX];
	ino_t dir_ino; /* taken before reading: a re-added manifest swaps the directory */
};

/* An image being added: copied into a staging directory and hashed from that copy. */
struct orch_stage {
	char dir[PATH_MAX];
	char images_dir[PATH_MAX];
	struct fota_chunk_table table;
	uint8_t sha256[FOTA_SHA256_LEN];
	uint64_t size;
	uint32_t chunk_size;
	int committed;
	int replaced; /* the image was stored already; its manifest and table were replaced */
};

/* Opens src as the bytes of an image, checking what every image must be: a regular file of
 * 1..FOTA_MAX_IMAGE_SIZE bytes in at most FOTA_MAX_CHUNK_COUNT chunks of chunk_size (itself
 * within the protocol's limits). *fd_out is the open file; the error says which rule failed. */
fota_err orch_image_source_open(const char *src, uint32_t chunk_size, int *fd_out,
				struct fota_error *err);
/* Copies src into a new staging directory and builds its chunk table and SHA-256 in one pass
 * over the copy. On failure the staging directory is removed. */
fota_err orch_stage_new(const struct orch_config *cfg, const char *src, uint32_t chunk_size,
			struct orch_stage **out, struct fota_error *err);
/* Writes table.bin and manifest.jws and renames the staging directory into place. If the
 * image id is stored already (same bytes), its directory is atomically exchanged for the new
 * one and st->replaced is set: the latest manifest for an image wins. */
fota_err orch_stage_commit(struct orch_stage *st, const char *manifest_jws, size_t len,
			   char id_out[FOTA_IMAGE_ID_HEX_LEN + 1], struct fota_error *err);
/* Removes the staging directory unless committed; NULL is a no-op. */
void orch_stage_free(struct orch_stage *st);

/* Opens a stored image, re-checking that its files agree with the manifest. */
fota_err orch_image_open(const struct orch_config *cfg, const char *id_hex, struct orch_image **out,
			 struct fota_error *err);
void orch_image_free(struct orch_image *img); /* NULL is a no-op */
/* False once the stored image directory was replaced (a newer manifest): reopen it. */
bool orch_image_current(const struct orch_image *img);

/* Bytes a stored chunk of an image with manifest m carries beyond its plaintext: the GCM tag
 * of an encrypted image (image_seal.h), else none. */
size_t orch_image_chunk_extra(const struct fota_manifest *m);

/* Bytes of chunk index as stored and sent: the plaintext, or for an encrypted image its
 * ciphertext || tag; buf must hold manifest.chunk_size + orch_image_chunk_extra. */
fota_err orch_image_read_chunk(const struct orch_image *img, uint32_t index, uint8_t *buf,
			       size_t *len, struct fota_error *err);

/* Calls fn for every stored image id (sorted); stops at the first non-zero return. */
typedef int (*orch_image_each_fn)(void *ctx, const char *id_hex);
fota_err orch_image_list(const struct orch_config *cfg, orch_image_each_fn fn, void *ctx,
			 struct fota_error *err);

#endif
