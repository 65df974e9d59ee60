/* SPDX-License-Identifier: Apache-2.0 */
/* Durable receive state: image data file + receive bitmap, with crash-safe ordering. */
#ifndef FOTA_CHECKPOINT_H
#define FOTA_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/chunk_table.h"
#include "fota/digest.h"
#include "fota/error.h"
#include "fota/request.h"

/*
 * Contract: a chunk is marked present in the on-disk bitmap only after its bytes are durable
 * (fdatasync of the data file precedes the atomic bitmap replace). A kill at any moment thus
 * never leaves a chunk marked present that is not on disk. Chunks are verified against the
 * table before they are written.
 */
struct fota_checkpoint;

struct fota_checkpoint_params {
	const char *dir;       /* state directory for the bitmap (and data, see below) */
	const char *name;      /* base name, e.g. the image id hex */
	const char *data_path; /* NULL: "<dir>/<name>.part"; else write there (an A/B slot) */
	uint64_t image_size;
	uint32_t chunk_size;
	const uint8_t *image_id; /* FOTA_IMAGE_ID_LEN bytes, recorded in the bitmap file */
	const struct fota_chunk_table *table; /* borrowed, must outlive the checkpoint */
};

/*
 * Opens or creates "<dir>/<name>.bitmap" and the data file. A bitmap for another image or
 * size is discarded. A torn or unreadable bitmap is moved aside to ".broken" and rebuilt by
 * re-verifying every chunk in the data file against the table. Chunks marked present are
 * re-verified too (hashing is cheap next to re-downloading), so a bitmap never lies.
 */
fota_err fota_checkpoint_open(const struct fota_checkpoint_params *p, struct fota_checkpoint **out,
			      struct fota_error *err);
void fota_checkpoint_free(struct fota_checkpoint *cp); /* NULL is a no-op; no implicit sync */

/* Verifies data against the table (FOTA_ERR_DIGEST: nothing written) and writes it. Already
 * present chunks are a successful no-op. Not durable until fota_checkpoint_sync(). */
fota_err fota_checkpoint_put(struct fota_checkpoint *cp, uint32_t index, const uint8_t *data,
			     size_t len, struct fota_error *err);

/* fdatasync the data, then atomically persist the bitmap (temp, fsync, rename, fsync dir).
 * Cheap no-op when nothing changed since the last sync. */
fota_err fota_checkpoint_sync(struct fota_checkpoint *cp, struct fota_error *err);

/* The same sync in two steps, for a caller that keeps receiving while the disk works:
 * fota_checkpoint_snapshot, on the thread that puts, takes the bitmap as it stands;
 * fota_checkpoint_commit, on any thread, makes the data durable and writes that bitmap. A
 * chunk put after the snapshot is not claimed by it. The caller keeps one snapshot from
 * being taken while its commit runs, and the checkpoint open (not discarded, not freed)
 * until the commit returned. taken is false when nothing changed (the commit is a no-op). */
struct fota_checkpoint_snapshot {
	uint8_t *file; /* the sealed bitmap file, allocated on first use */
	size_t len;
	bool taken;
};
fota_err fota_checkpoint_snapshot(struct fota_checkpoint *cp, struct fota_checkpoint_snapshot *s,
				  struct fota_error *err);
fota_err fota_checkpoint_commit(const struct fota_checkpoint *cp,
				const struct fota_checkpoint_snapshot *s, struct fota_error *err);
void fota_checkpoint_snapshot_clear(struct fota_checkpoint_snapshot *s);

bool fota_checkpoint_has(const struct fota_checkpoint *cp, uint32_t index);
uint32_t fota_checkpoint_present(const struct fota_checkpoint *cp);
uint32_t fota_checkpoint_count(const struct fota_checkpoint *cp);
bool fota_checkpoint_complete(const struct fota_checkpoint *cp);
/* Chunks found present (after re-verification) when the checkpoint was opened. */
uint32_t fota_checkpoint_recovered(const struct fota_checkpoint *cp);

/* Missing ranges starting the scan at index `from` (wrapping around), at most max_ranges
 * ranges and max_chunks chunks in all; returns the number of ranges written. */
size_t fota_checkpoint_missing(const struct fota_checkpoint *cp, uint32_t from,
			       struct fota_range *out, size_t max_ranges, uint32_t max_chunks);

/* Re-reads the data file and compares its SHA-256 with expected (FOTA_ERR_DIGEST). */
fota_err fota_checkpoint_verify_image(struct fota_checkpoint *cp, const uint8_t expected[32],
				      struct fota_error *err);
/* The same check for a caller that already hashed chunks 0 .. first - 1 into ctx: reads the
 * data file from chunk `first` on only; first == chunk count reads nothing. ctx is reset on
 * every return, so a second call starts from chunk 0 with a fresh ctx. */
fota_err fota_checkpoint_verify_image_from(struct fota_checkpoint *cp, struct fota_sha256_ctx *ctx,
					   uint32_t first, const uint8_t expected[32],
					   struct fota_error *err);

const char *fota_checkpoint_data_path(const struct fota_checkpoint *cp);

/* Deletes the bitmap (and the data file unless it is an external data_path). */
fota_err fota_checkpoint_discard(struct fota_checkpoint *cp, struct fota_error *err);

#endif
