/* SPDX-License-Identifier: Apache-2.0 */
/* The image store: staged, atomically renamed image directories, reopened with checks. */
#define _GNU_SOURCE /* renameat2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/atomic_file.h"
#include "fota/chunk_crypt.h"
#include "fota/digest.h"
#include "fota/envelope.h"
#include "fota/limits.h"

#include "stop.h"
#include "image_store.h"

#define COPY_BUF_BYTES (1024 * 1024)

static const char *const stage_files[] = {"image.bin", "table.bin", "manifest.jws"};

static fota_err path_join(char *buf, size_t size, const char *dir, const char *name,
			  struct fota_error *err)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "path %s/%s too long", dir, name);
	return FOTA_OK;
}

static fota_err copy_fd(int in, int out, const char *src, const char *dst, struct fota_error *err)
{
	uint8_t *buf = malloc(COPY_BUF_BYTES);
	fota_err rc = FOTA_OK;

	if (!buf)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the copy buffer");
	for (;;) {
		ssize_t n;
		ssize_t off = 0;

		/* Ctrl-C during a copy of gigabytes: stop here, the caller drops the stage. */
		if (orch_stop) {
			rc = fota_error_set(err, FOTA_ERR_STATE, "interrupted");
			goto out;
		}
		n = read(in, buf, COPY_BUF_BYTES);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fota_error_set(err, FOTA_ERR_IO, "read %s: %s", src, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = fota_error_set(err, FOTA_ERR_IO, "write %s: %s", dst,
						    strerror(errno));
				goto out;
			}
			off += w;
		}
	}
	if (fsync(out) != 0)
		rc = fota_error_set(err, FOTA_ERR_IO, "fsync %s: %s", dst, strerror(errno));
out:
	free(buf);
	return rc;
}

static void stage_remove(struct orch_stage *st)
{
	char path[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < sizeof(stage_files) / sizeof(stage_files[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", st->dir, stage_files[i]) <
		    (int)sizeof(path))
			unlink(path);
	}
	rmdir(st->dir);
}

fota_err orch_image_source_open(const char *src, uint32_t chunk_size, int *fd_out,
				struct fota_error *err)
{
	struct stat sb;
	uint64_t chunks;
	fota_err rc;
	int in;

	*fd_out = -1;
	if (chunk_size < FOTA_MIN_CHUNK_SIZE || chunk_size > FOTA_MAX_CHUNK_SIZE)
		return fota_error_set(err, FOTA_ERR_FIELD, "chunk size %u is outside %u..%u",
				      chunk_size, FOTA_MIN_CHUNK_SIZE, FOTA_MAX_CHUNK_SIZE);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fota_error_set(err, errno == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO,
				      "cannot open %s: %s", src, strerror(errno));
	if (fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = fota_error_set(err, FOTA_ERR_INVAL, "%s is not a regular file", src);
		goto fail;
	}
	if (sb.st_size == 0 || (uint64_t)sb.st_size > FOTA_MAX_IMAGE_SIZE) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
				    "%s has %lld bytes; an image has 1..%llu bytes", src,
				    (long long)sb.st_size, (unsigned long long)FOTA_MAX_IMAGE_SIZE);
		goto fail;
	}
	chunks = ((uint64_t)sb.st_size + chunk_size - 1) / chunk_size;
	if (chunks > FOTA_MAX_CHUNK_COUNT) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
				    "%s needs %llu chunks of %u bytes, over the limit of %u; use a "
				    "larger --chunk-size",
				    src, (unsigned long long)chunks, chunk_size,
				    FOTA_MAX_CHUNK_COUNT);
		goto fail;
	}
	*fd_out = in;
	return FOTA_OK;
fail:
	close(in);
	return rc;
}

fota_err orch_stage_new(const struct orch_config *cfg, const char *src, uint32_t chunk_size,
			struct orch_stage **out, struct fota_error *err)
{
	struct orch_stage *st = NULL;
	char copy[PATH_MAX + 32];
	int in = -1, outfd = -1;
	fota_err rc;

	*out = NULL;
	rc = orch_image_source_open(src, chunk_size, &in, err);
	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the image stage");
		goto out;
	}
	st->chunk_size = chunk_size;
	rc = orch_state_path(cfg, st->images_dir, sizeof(st->images_dir), err, "images");
	if (rc)
		goto out;
	rc = fota_mkdirs(st->images_dir, 0755, err);
	if (rc)
		goto out;
	rc = path_join(st->dir, sizeof(st->dir), st->images_dir, ".staging-XXXXXX", err);
	if (rc)
		goto out;
	if (!mkdtemp(st->dir)) {
		rc = fota_error_set(err, FOTA_ERR_IO, "cannot create a staging directory in %s: %s",
				    st->images_dir, strerror(errno));
		st->dir[0] = '\0';
		goto out;
	}
	/* mkdtemp makes it 0700; the store is readable like the files in it. */
	chmod(st->dir, 0755);
	snprintf(copy, sizeof(copy), "%s/image.bin", st->dir);
	outfd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (outfd < 0) {
		rc =
		    fota_error_set(err, FOTA_ERR_IO, "cannot create %s: %s", copy, strerror(errno));
		goto out;
	}
	rc = copy_fd(in, outfd, src, copy, err);
	if (rc)
		goto out;
	/* Hashing the private copy, not the source, guarantees that what is signed is what
	 * is served even if the source changes meanwhile. */
	rc = fota_chunk_table_build_file(copy, chunk_size, &st->table, st->sha256, &st->size, err);
	if (rc)
		goto out;
	if (st->size == 0 || st->size > FOTA_MAX_IMAGE_SIZE ||
	    st->table.count != fota_chunk_count_for(st->size, chunk_size)) {
		rc = fota_error_set(err, FOTA_ERR_IO, "%s changed while it was copied", src);
		goto out;
	}
	*out = st;
	st = NULL;
out:
	if (in >= 0)
		close(in);
	if (outfd >= 0)
		close(outfd);
	orch_stage_free(st);
	return rc;
}

fota_err orch_stage_commit(struct orch_stage *st, const char *manifest_jws, size_t len,
			   char id_out[FOTA_IMAGE_ID_HEX_LEN + 1], struct fota_error *err)
{
	char path[PATH_MAX + 32];
	char final[PATH_MAX + 32];
	fota_err rc;

	fota_hex_encode(st->sha256, FOTA_IMAGE_ID_LEN, id_out);
	snprintf(path, sizeof(path), "%s/table.bin", st->dir);
	rc = fota_atomic_write(path, st->table.hashes, (size_t)st->table.count * FOTA_SHA256_LEN,
			       0644, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/manifest.jws", st->dir);
	rc = fota_atomic_write(path, manifest_jws, len, 0644, err);
	if (rc)
		return rc;
	rc = path_join(final, sizeof(final), st->images_dir, id_out, err);
	if (rc)
		return rc;
	/* rename() refuses a non-empty target: the same bytes are stored already. */
	if (rename(st->dir, final) == 0) {
		st->committed = 1;
		return fota_fsync_parent(final, err);
	}
	if (errno != ENOTEMPTY && errno != EEXIST)
		return fota_error_set(err, FOTA_ERR_IO, "rename %s to %s: %s", st->dir, final,
				      strerror(errno));
	/* Same bytes, new manifest (another sequence, target or method): swap the directories
	 * in one step so readers see the old or the new manifest, never neither. */
	if (renameat2(AT_FDCWD, st->dir, AT_FDCWD, final, RENAME_EXCHANGE) != 0)
		return fota_error_set(err, FOTA_ERR_IO, "replace %s: %s", final, strerror(errno));
	st->replaced = 1;
	st->committed = 1;
	stage_remove(st); /* now holds the previous manifest */
	return fota_fsync_parent(final, err);
}

void orch_stage_free(struct orch_stage *st)
{
	if (!st)
		return;
	if (!st->committed && st->dir[0])
		stage_remove(st);
	fota_chunk_table_clear(&st->table);
	free(st);
}

static bool id_valid(const char *id)
{
	size_t i;

	if (strlen(id) != FOTA_IMAGE_ID_HEX_LEN)
		return false;
	for (i = 0; i < FOTA_IMAGE_ID_HEX_LEN; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	}
	return true;
}

fota_err orch_image_open(const struct orch_config *cfg, const char *id_hex, struct orch_image **out,
			 struct fota_error *err)
{
	struct orch_image *img = NULL;
	char dir[PATH_MAX];
	char path[PATH_MAX + 32];
	uint8_t *jws = NULL, *payload = NULL;
	size_t jws_len = 0, payload_len = 0;
	uint8_t digest[FOTA_SHA256_LEN];
	struct stat sb;
	fota_err rc;

	*out = NULL;
	if (!id_valid(id_hex))
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "'%s' is not an image id (16 lower-case hex digits)", id_hex);
	rc = orch_state_path(cfg, dir, sizeof(dir), err, "images/%s", id_hex);
	if (rc)
		return rc;
	img = calloc(1, sizeof(*img));
	if (!img)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for image %s", id_hex);
	img->fd = -1;
	memcpy(img->id, id_hex, FOTA_IMAGE_ID_HEX_LEN + 1);
	memcpy(img->dir, dir, sizeof(img->dir));
	if (stat(dir, &sb) != 0) {
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "image %s is not in the store %s",
				    id_hex, cfg->state_dir);
		goto out;
	}
	img->dir_ino = sb.st_ino;
	fota_hex_decode(id_hex, img->id_bin, FOTA_IMAGE_ID_LEN, NULL);

	snprintf(path, sizeof(path), "%s/manifest.jws", dir);
	rc = fota_read_file(path, FOTA_MAX_ENVELOPE_BYTES, &jws, &jws_len, err);
	if (rc == FOTA_ERR_NOT_FOUND) {
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "image %s is not in the store %s",
				    id_hex, cfg->state_dir);
		goto out;
	}
	if (rc)
		goto out;
	rc = fota_envelope_payload((const char *)jws, jws_len, FOTA_MAX_ENVELOPE_BYTES, &payload,
				   &payload_len, err);
	if (rc) {
		fota_error_prefix(err, path);
		goto out;
	}
	fota_sha256(payload, payload_len, img->manifest_sha256);
	rc = fota_manifest_parse(payload, payload_len, &img->manifest, err);
	if (rc) {
		fota_error_prefix(err, path);
		goto out;
	}
	/* The directory of a delta payload holds the release manifest that offers it: the image
	 * is then the manifest's delta view, so chunks, table and repairs are the delta's. */
	if (img->manifest.has_delta &&
	    fota_digest_equal(img->manifest.delta.sha256, img->id_bin, FOTA_IMAGE_ID_LEN)) {
		struct fota_manifest full = img->manifest;

		fota_manifest_delta_view(&full, &img->manifest);
		img->delta_payload = true;
	}
	if (!fota_digest_equal(img->manifest.sha256, img->id_bin, FOTA_IMAGE_ID_LEN)) {
		rc = fota_error_set(err, FOTA_ERR_DIGEST, "%s describes another image than %s",
				    path, id_hex);
		goto out;
	}
	img->manifest_jws = (char *)jws;
	img->manifest_jws_len = jws_len;
	jws = NULL;

	snprintf(path, sizeof(path), "%s/table.bin", dir);
	rc = fota_read_file(path, (size_t)FOTA_MAX_CHUNK_COUNT * FOTA_SHA256_LEN, &img->table,
			    &img->table_len, err);
	if (rc)
		goto out;
	fota_sha256(img->table, img->table_len, digest);
	if (img->table_len != (size_t)img->manifest.chunk_count * FOTA_SHA256_LEN ||
	    !fota_digest_equal(digest, img->manifest.table_sha256, FOTA_SHA256_LEN)) {
		rc = fota_error_set(err, FOTA_ERR_DIGEST,
				    "%s does not match the manifest's table digest", path);
		goto out;
	}

	snprintf(path, sizeof(path), "%s/image.bin", dir);
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(img->fd, &sb) != 0 ||
	    (uint64_t)sb.st_size !=
		img->manifest.size +
		    (uint64_t)img->manifest.chunk_count * orch_image_chunk_extra(&img->manifest)) {
		rc = fota_error_set(err, FOTA_ERR_IO, "%s has %lld bytes, the manifest says %llu%s",
				    path, (long long)sb.st_size,
				    (unsigned long long)img->manifest.size,
				    img->manifest.encryption ? " and a tag per chunk" : "");
		goto out;
	}
	*out = img;
	img = NULL;
out:
	free(jws);
	free(payload);
	orch_image_free(img);
	return rc;
}

bool orch_image_current(const struct orch_image *img)
{
	struct stat sb;

	return stat(img->dir, &sb) == 0 && sb.st_ino == img->dir_ino;
}

void orch_image_free(struct orch_image *img)
{
	if (!img)
		return;
	if (img->fd >= 0)
		close(img->fd);
	free(img->manifest_jws);
	free(img->table);
	free(img);
}

size_t orch_image_chunk_extra(const struct fota_manifest *m)
{
	return m->encryption != FOTA_ENCRYPTION_NONE ? FOTA_CHUNK_TAG_LEN : 0;
}

fota_err orch_image_read_chunk(const struct orch_image *img, uint32_t index, uint8_t *buf,
			       size_t *len, struct fota_error *err)
{
	size_t extra = orch_image_chunk_extra(&img->manifest), want, got = 0;
	off_t off;

	if (index >= img->manifest.chunk_count)
		return fota_error_set(err, FOTA_ERR_INVAL, "chunk %u beyond chunk count %u", index,
				      img->manifest.chunk_count);
	want = fota_chunk_len(img->manifest.size, img->manifest.chunk_size, index) + extra;
	off = (off_t)((uint64_t)index * (img->manifest.chunk_size + extra));
	while (got < want) {
		ssize_t n = pread(img->fd, buf + got, want - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fota_error_set(err, FOTA_ERR_IO, "read chunk %u of image %s: %s",
					      index, img->id, strerror(errno));
		if (n == 0)
			return fota_error_set(err, FOTA_ERR_IO,
					      "image %s is shorter than its manifest", img->id);
		got += (size_t)n;
	}
	*len = got;
	return FOTA_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

fota_err orch_image_list(const struct orch_config *cfg, orch_image_each_fn fn, void *ctx,
			 struct fota_error *err)
{
	char dir[PATH_MAX];
	char **ids = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = NULL;
	fota_err rc;

	rc = orch_state_path(cfg, dir, sizeof(dir), err, "images");
	if (rc)
		return rc;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return FOTA_OK;
		return fota_error_set(err, FOTA_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (!id_valid(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **tmp = realloc(ids, ncap * sizeof(*ids));

			if (!tmp) {
				rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory to list %s",
						    dir);
				goto out;
			}
			ids = tmp;
			cap = ncap;
		}
		ids[n] = strdup(de->d_name);
		if (!ids[n]) {
			rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory to list %s", dir);
			goto out;
		}
		n++;
	}
	if (n)
		qsort(ids, n, sizeof(*ids), cmp_str);
	for (i = 0; i < n; i++) {
		if (fn(ctx, ids[i]) != 0)
			break;
	}
out:
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	closedir(d);
	return rc;
}
