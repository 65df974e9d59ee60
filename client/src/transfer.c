/* SPDX-License-Identifier: Apache-2.0 */
/* One image transfer over the checkpoint store, with sync batching and byte accounting. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fota/atomic_file.h"
#include "fota/checkpoint.h"
#include "fota/chunk_table.h"
#include "fota/digest.h"
#include "transfer.h"

/* The checkpoint's syncs run on a thread of their own, so that the thread that receives (Paho's)
 * keeps reading while the disk works: a blocked reader makes the broker queue this device's
 * frames in its own memory. One snapshot is committed at a time. */
struct syncer {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool busy; /* snap handed over, its commit not returned yet */
	bool quit;
	struct fota_checkpoint_snapshot snap;
	/* The first commit that failed: every later put and sync returns it, as a failed
	 * synchronous sync was returned by the put that ran it. */
	bool failed;
	fota_err rc;
	struct fota_error err;
};

struct transfer {
	const struct client_config *cfg;
	const struct fota_manifest *manifest;
	struct fota_chunk_table table;
	struct fota_checkpoint *cp;
	uint8_t image_sha256[FOTA_SHA256_LEN];
	/* SHA-256 of chunks 0 .. prefix_next - 1, fed from the frames as they arrived in order,
	 * so that the whole-image check reads back only what came out of order (or before a
	 * restart: this state lives in memory only). NULL: no memory, the check reads it all. */
	struct fota_sha256_ctx *prefix;
	uint32_t prefix_next;
	uint32_t unsynced;
	uint64_t unsynced_bytes;
	uint32_t cursor;
	/* The counter file mapped shared: a store per frame instead of a pwrite, and as
	 * before it outlives a killed process (the page cache holds it) but is never synced.
	 * NULL: not kept on disk. */
	uint64_t *rx_map;
	uint64_t rx_bytes;
	char rx_path[CLIENT_PATH_MAX + 64];
	/* Encrypted payloads: the content key, where the AAD places the frames, and one chunk of
	 * plaintext (allocated with the key). */
	bool has_key;
	uint8_t key[FOTA_CONTENT_KEY_LEN];
	char key_image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint32_t key_kind;
	uint8_t *plain;
	struct syncer sync;
};

/* The counter file only accounts; losing it loses a statistic, never data. */
static void map_rx_counter(struct transfer *t)
{
	struct stat st;
	void *map;
	int fd = open(t->rx_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 ||
	    (st.st_size < (off_t)sizeof(uint64_t) && ftruncate(fd, sizeof(uint64_t)) != 0)) {
		close(fd);
		return;
	}
	map = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd); /* the mapping keeps the file */
	if (map == MAP_FAILED)
		return;
	t->rx_map = map;
	/* A file shorter than the counter was zero-filled by ftruncate: that reads as 0. */
	t->rx_bytes = *t->rx_map;
}

/* By bytes, so small chunks do not mean an fsync storm; sync_chunks, when set, also counts. */
static bool sync_due(const struct transfer *t)
{
	const struct client_config *c = t->cfg;

	return (c->sync_bytes != 0 && t->unsynced_bytes >= c->sync_bytes) ||
	       (c->sync_chunks != 0 && t->unsynced >= c->sync_chunks);
}

static bool sync_over_twice(const struct transfer *t)
{
	const struct client_config *c = t->cfg;

	return (c->sync_bytes != 0 && t->unsynced_bytes >= 2 * (uint64_t)c->sync_bytes) ||
	       (c->sync_chunks != 0 && t->unsynced >= 2 * (uint64_t)c->sync_chunks);
}

static void *syncer_main(void *arg)
{
	struct transfer *t = arg;
	struct syncer *y = &t->sync;

	pthread_mutex_lock(&y->lock);
	for (;;) {
		struct fota_error err = {0};
		fota_err rc;

		while (!y->busy && !y->quit)
			pthread_cond_wait(&y->cond, &y->lock);
		if (!y->busy)
			break; /* quit, with nothing handed over */
		pthread_mutex_unlock(&y->lock);
		rc = fota_checkpoint_commit(t->cp, &y->snap, &err);
		pthread_mutex_lock(&y->lock);
		if (rc != FOTA_OK && !y->failed) {
			y->failed = true;
			y->rc = rc;
			y->err = err;
		}
		y->busy = false;
		pthread_cond_broadcast(&y->cond);
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

/* Caller holds y->lock. Waits for the commit under way, if any. */
static void syncer_idle(struct syncer *y)
{
	while (y->busy)
		pthread_cond_wait(&y->cond, &y->lock);
}

/* Caller holds y->lock. The first failed commit, as this call's own error. */
static fota_err syncer_failure(const struct syncer *y, struct fota_error *err)
{
	if (!y->failed)
		return FOTA_OK;
	if (err != NULL)
		*err = y->err;
	return y->rc;
}

/* Hands the bitmap as it stands to the sync thread and returns without waiting for the disk.
 * While a commit is under way, more is received unsynced, up to twice sync_due's amount;
 * then the receiver waits, which bounds what a power cut can cost. */
static fota_err sync_behind(struct transfer *t, bool over_twice, struct fota_error *err)
{
	struct syncer *y = &t->sync;
	fota_err rc;

	if (!y->started) {
		if (pthread_create(&y->thread, NULL, syncer_main, t) != 0)
			return transfer_sync(t, err); /* no thread: the same sync, in line */
		y->started = true;
	}
	pthread_mutex_lock(&y->lock);
	rc = syncer_failure(y, err);
	if (rc == FOTA_OK && y->busy && !over_twice) {
		pthread_mutex_unlock(&y->lock);
		return FOTA_OK; /* the next put hands it over */
	}
	syncer_idle(y);
	rc = syncer_failure(y, err);
	if (rc == FOTA_OK)
		rc = fota_checkpoint_snapshot(t->cp, &y->snap, err);
	if (rc == FOTA_OK) {
		t->unsynced = 0;
		t->unsynced_bytes = 0;
		y->busy = y->snap.taken;
		pthread_cond_broadcast(&y->cond);
	}
	pthread_mutex_unlock(&y->lock);
	return rc;
}

/* Lets the commit under way finish, then ends the thread: before the checkpoint is freed or
 * discarded, which the commit reads. */
static void syncer_stop(struct transfer *t)
{
	struct syncer *y = &t->sync;

	if (!y->started)
		return;
	pthread_mutex_lock(&y->lock);
	y->quit = true;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->lock);
	pthread_join(y->thread, NULL);
	y->started = false;
}

fota_err transfer_open(const struct client_config *cfg, const struct fota_manifest *m,
		       const uint8_t image_id[FOTA_IMAGE_ID_LEN], const uint8_t *table,
		       size_t table_len, const char *data_path, struct transfer **out,
		       struct fota_error *err)
{
	struct fota_checkpoint_params p = {0};
	char dir[CLIENT_PATH_MAX + 16], name[FOTA_IMAGE_ID_HEX_LEN + 1];
	struct transfer *t;
	fota_err rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "transfer: out of memory");
	t->cfg = cfg;
	t->manifest = m;
	pthread_mutex_init(&t->sync.lock, NULL);
	pthread_cond_init(&t->sync.cond, NULL);
	t->prefix = fota_sha256_new();
	memcpy(t->image_sha256, m->sha256, sizeof(t->image_sha256));
	rc = fota_chunk_table_from_bytes(table, table_len, m->chunk_count, m->table_sha256,
					 &t->table, err);
	if (rc != FOTA_OK)
		goto fail; /* the message already says "chunk table rejected: " */
	snprintf(dir, sizeof(dir), "%s/transfer", cfg->state_dir);
	rc = fota_mkdirs(dir, 0700, err);
	if (rc != FOTA_OK)
		goto fail;
	fota_hex_encode(image_id, FOTA_IMAGE_ID_LEN, name);
	p.dir = dir;
	p.name = name;
	p.data_path = data_path;
	p.image_size = m->size;
	p.chunk_size = m->chunk_size;
	p.image_id = image_id;
	p.table = &t->table;
	rc = fota_checkpoint_open(&p, &t->cp, err);
	if (rc != FOTA_OK)
		goto fail;
	snprintf(t->rx_path, sizeof(t->rx_path), "%s/%s.rx", dir, name);
	map_rx_counter(t);
	*out = t;
	return FOTA_OK;
fail:
	fota_sha256_free(t->prefix);
	fota_chunk_table_clear(&t->table);
	pthread_cond_destroy(&t->sync.cond);
	pthread_mutex_destroy(&t->sync.lock);
	free(t);
	return rc;
}

void transfer_free(struct transfer *t)
{
	if (t == NULL)
		return;
	syncer_stop(t);
	/* A sync that came due while the thread was busy is owed: as before the thread, every
	 * chunk counted into a due sync is durable once t is gone. */
	if (sync_due(t) && !t->sync.failed)
		fota_checkpoint_sync(t->cp, NULL);
	fota_checkpoint_snapshot_clear(&t->sync.snap);
	pthread_cond_destroy(&t->sync.cond);
	pthread_mutex_destroy(&t->sync.lock);
	OPENSSL_cleanse(t->key, sizeof(t->key));
	if (t->plain != NULL)
		OPENSSL_cleanse(t->plain, t->manifest->chunk_size);
	free(t->plain);
	fota_checkpoint_free(t->cp);
	fota_sha256_free(t->prefix);
	fota_chunk_table_clear(&t->table);
	if (t->rx_map != NULL)
		munmap(t->rx_map, sizeof(uint64_t));
	free(t);
}

fota_err transfer_set_content_key(struct transfer *t, const uint8_t key[FOTA_CONTENT_KEY_LEN],
				  const char *image_id_hex, uint32_t kind, struct fota_error *err)
{
	if (image_id_hex == NULL || strlen(image_id_hex) != FOTA_IMAGE_ID_HEX_LEN)
		return fota_error_set(err, FOTA_ERR_INVAL, "content key: bad image id");
	if (t->plain == NULL) {
		t->plain = malloc(t->manifest->chunk_size);
		if (t->plain == NULL)
			return fota_error_set(err, FOTA_ERR_NOMEM, "content key: out of memory");
	}
	memcpy(t->key, key, sizeof(t->key));
	memcpy(t->key_image_id, image_id_hex, sizeof(t->key_image_id));
	t->key_kind = kind;
	t->has_key = true;
	return FOTA_OK;
}

bool transfer_has_content_key(const struct transfer *t)
{
	return t->has_key;
}

/* Opens a sealed frame into t->plain; *plain is the frame the table check then sees. */
static fota_err open_frame(struct transfer *t, const struct fota_frame *f, struct fota_frame *plain,
			   struct fota_error *err)
{
	if (!t->has_key)
		return fota_error_set(err, FOTA_ERR_STATE, "chunk %u: no content key", f->index);
	if (f->payload_len < FOTA_CHUNK_TAG_LEN ||
	    f->payload_len - FOTA_CHUNK_TAG_LEN > t->manifest->chunk_size)
		return fota_error_set(err, FOTA_ERR_DIGEST,
				      "chunk %u: %u bytes cannot be a sealed chunk", f->index,
				      f->payload_len);
	*plain = *f;
	plain->payload_len = f->payload_len - FOTA_CHUNK_TAG_LEN;
	plain->payload = t->plain;
	return fota_chunk_open(t->key, t->key_image_id, t->key_kind, f->index, f->payload,
			       f->payload_len, t->plain, err);
}

fota_err transfer_put(struct transfer *t, const struct fota_frame *f, bool *is_new,
		      struct fota_error *err)
{
	struct fota_frame opened;
	fota_err rc;

	*is_new = false;
	/* Count before anything can fail: bytes that crossed the network are what we report. */
	t->rx_bytes += f->payload_len;
	if (t->rx_map != NULL)
		*t->rx_map = t->rx_bytes;
	if (fota_checkpoint_has(t->cp, f->index))
		return FOTA_OK;
	/* The GCM tag first, then the signed table hash on the plaintext (checkpoint_put). */
	if (t->manifest->encryption != FOTA_ENCRYPTION_NONE) {
		rc = open_frame(t, f, &opened, err);
		if (rc != FOTA_OK)
			return rc;
		f = &opened;
	}
	rc = fota_checkpoint_put(t->cp, f->index, f->payload, f->payload_len, err);
	if (rc != FOTA_OK)
		return rc;
	*is_new = true;
	/* Only bytes that passed the table check join the prefix; a chunk that skipped ahead
	 * stops it, and the check reads from there on. */
	if (t->prefix != NULL && f->index == t->prefix_next) {
		fota_sha256_update(t->prefix, f->payload, f->payload_len);
		t->prefix_next++;
	}
	t->unsynced++;
	t->unsynced_bytes += f->payload_len;
	/* The last chunk syncs in line: what follows (the image check, the install) needs it. */
	if (fota_checkpoint_complete(t->cp))
		return transfer_sync(t, err);
	if (sync_due(t))
		return sync_behind(t, sync_over_twice(t), err);
	return FOTA_OK;
}

fota_err transfer_sync(struct transfer *t, struct fota_error *err)
{
	struct syncer *y = &t->sync;
	fota_err rc;

	pthread_mutex_lock(&y->lock);
	syncer_idle(y);
	rc = syncer_failure(y, err);
	pthread_mutex_unlock(&y->lock);
	if (rc != FOTA_OK)
		return rc;
	t->unsynced = 0;
	t->unsynced_bytes = 0;
	return fota_checkpoint_sync(t->cp, err);
}

bool transfer_complete(const struct transfer *t)
{
	return fota_checkpoint_complete(t->cp);
}

uint32_t transfer_present(const struct transfer *t)
{
	return fota_checkpoint_present(t->cp);
}

uint32_t transfer_count(const struct transfer *t)
{
	return fota_checkpoint_count(t->cp);
}

uint32_t transfer_recovered(const struct transfer *t)
{
	return fota_checkpoint_recovered(t->cp);
}

uint64_t transfer_rx_bytes(const struct transfer *t)
{
	return t->rx_bytes;
}

size_t transfer_next_missing(struct transfer *t, struct fota_range *out, size_t max,
			     uint32_t window, uint32_t limit)
{
	size_t n, kept = 0;

	if (limit > fota_checkpoint_count(t->cp))
		limit = fota_checkpoint_count(t->cp);
	if (t->cursor >= limit)
		t->cursor = 0;
	n = fota_checkpoint_missing(t->cp, t->cursor, out, max, window);
	/* Keep what lies below the limit; the scan wraps, so later ranges may be low again. */
	for (size_t i = 0; i < n; i++) {
		if (out[i].first >= limit)
			continue;
		if ((uint64_t)out[i].first + out[i].count > limit)
			out[i].count = limit - out[i].first;
		out[kept++] = out[i];
	}
	if (kept > 0) {
		uint64_t end = (uint64_t)out[kept - 1].first + out[kept - 1].count;

		t->cursor = end >= limit ? 0 : (uint32_t)end;
	}
	return kept;
}

fota_err transfer_verify(struct transfer *t, struct fota_error *err)
{
	uint32_t first = t->prefix_next;

	if (t->prefix == NULL)
		return fota_checkpoint_verify_image(t->cp, t->image_sha256, err);
	/* The prefix is spent either way (the call resets it): a second check reads it all. */
	t->prefix_next = 0;
	return fota_checkpoint_verify_image_from(t->cp, t->prefix, first, t->image_sha256, err);
}

uint32_t transfer_hashed_in_order(const struct transfer *t)
{
	return t->prefix_next;
}

const char *transfer_data_path(const struct transfer *t)
{
	return fota_checkpoint_data_path(t->cp);
}

void transfer_discard(struct transfer *t)
{
	if (t == NULL)
		return;
	syncer_stop(t); /* a commit under way would write the bitmap again */
	fota_checkpoint_discard(t->cp, NULL);
	unlink(t->rx_path);
	transfer_free(t);
}
