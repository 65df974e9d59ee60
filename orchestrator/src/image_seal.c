/* SPDX-License-Identifier: Apache-2.0 */
/* Encrypted images in the store: the content key beside the image and the payload sealed
 * chunk by chunk (AES-256-GCM, fota/chunk_crypt.h) before anything serves it. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "fota/atomic_file.h"
#include "fota/digest.h"

#include "image_seal.h"

fota_err orch_content_key_new(uint8_t key[FOTA_CONTENT_KEY_LEN], struct fota_error *err)
{
	if (RAND_priv_bytes(key, FOTA_CONTENT_KEY_LEN) != 1)
		return fota_error_set(err, FOTA_ERR_IO, "no random bytes for a content key");
	return FOTA_OK;
}

static fota_err read_full(int fd, uint8_t *buf, size_t len, off_t off, const char *path,
			  struct fota_error *err)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fota_error_set(err, FOTA_ERR_IO, "read %s: %s", path,
					      n < 0 ? strerror(errno) : "short file");
		got += (size_t)n;
	}
	return FOTA_OK;
}

static fota_err write_full(int fd, const uint8_t *buf, size_t len, const char *path,
			   struct fota_error *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fota_error_set(err, FOTA_ERR_IO, "write %s: %s", path,
					      strerror(errno));
		done += (size_t)n;
	}
	return FOTA_OK;
}

fota_err orch_stage_seal(struct orch_stage *st, const uint8_t key[FOTA_CONTENT_KEY_LEN],
			 const char *image_id, enum fota_payload_kind kind, bool write_key,
			 struct fota_error *err)
{
	char plain[PATH_MAX + 32], sealed[PATH_MAX + 32], keyfile[PATH_MAX + 32];
	uint8_t *in = NULL, *out = NULL;
	int ifd = -1, ofd = -1;
	fota_err rc = FOTA_OK;

	snprintf(plain, sizeof(plain), "%s/image.bin", st->dir);
	snprintf(sealed, sizeof(sealed), "%s/image.sealed", st->dir);
	in = malloc(st->chunk_size);
	out = malloc((size_t)st->chunk_size + FOTA_CHUNK_TAG_LEN);
	if (!in || !out) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "no memory to seal the image");
		goto out;
	}
	ifd = open(plain, O_RDONLY | O_CLOEXEC);
	ofd = open(sealed, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (ifd < 0 || ofd < 0) {
		rc = fota_error_set(err, FOTA_ERR_IO, "cannot seal %s: %s", plain, strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < st->table.count && rc == FOTA_OK; i++) {
		uint32_t len = fota_chunk_len(st->size, st->chunk_size, i);

		rc = read_full(ifd, in, len, (off_t)((uint64_t)i * st->chunk_size), plain, err);
		if (rc == FOTA_OK)
			rc = fota_chunk_seal(key, image_id, (uint32_t)kind, i, in, len, out, err);
		if (rc == FOTA_OK)
			rc = write_full(ofd, out, (size_t)len + FOTA_CHUNK_TAG_LEN, sealed, err);
	}
	if (rc)
		goto out;
	close(ofd);
	ofd = -1;
	/* The plaintext copy goes: what the store serves and keeps is the ciphertext. */
	rc = fota_atomic_commit(sealed, plain, err);
	if (rc == FOTA_OK && write_key) {
		snprintf(keyfile, sizeof(keyfile), "%s/" ORCH_CONTENT_KEY_FILE, st->dir);
		rc = fota_atomic_write(keyfile, key, FOTA_CONTENT_KEY_LEN, 0600, err);
	}
out:
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0)
		close(ofd);
	if (rc)
		unlink(sealed);
	if (in)
		OPENSSL_cleanse(in, st->chunk_size);
	free(in);
	free(out);
	return rc;
}

fota_err orch_stages_seal_under(struct orch_stage *st, struct orch_stage *dst,
				const uint8_t key[FOTA_CONTENT_KEY_LEN], struct fota_error *err)
{
	char id[FOTA_IMAGE_ID_HEX_LEN + 1];
	fota_err rc;

	/* The id a device knows both payloads by is the full payload's, from its plaintext. */
	fota_hex_encode(st->sha256, FOTA_IMAGE_ID_LEN, id);
	rc = orch_stage_seal(st, key, id, FOTA_PAYLOAD_FULL, true, err);
	if (rc == FOTA_OK && dst)
		rc = orch_stage_seal(dst, key, id, FOTA_PAYLOAD_DELTA, false, err);
	return rc;
}

fota_err orch_stages_seal(struct orch_stage *st, struct orch_stage *dst, struct fota_error *err)
{
	uint8_t key[FOTA_CONTENT_KEY_LEN];
	fota_err rc = orch_content_key_new(key, err);

	if (rc == FOTA_OK)
		rc = orch_stages_seal_under(st, dst, key, err);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

fota_err orch_content_key_load(const struct orch_config *cfg, const char *id_hex,
			       uint8_t key[FOTA_CONTENT_KEY_LEN], struct fota_error *err)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	fota_err rc = orch_state_path(cfg, path, sizeof(path), err,
				      "images/%s/" ORCH_CONTENT_KEY_FILE, id_hex);

	if (rc == FOTA_OK)
		rc = fota_read_file(path, FOTA_CONTENT_KEY_LEN, &buf, &len, err);
	if (rc == FOTA_ERR_NOT_FOUND)
		return fota_error_set(err, rc, "image %s has no content key (not encrypted)",
				      id_hex);
	if (rc == FOTA_OK && len != FOTA_CONTENT_KEY_LEN)
		rc = fota_error_set(err, FOTA_ERR_IO, "%s is not a %u-byte key", path,
				    FOTA_CONTENT_KEY_LEN);
	if (rc == FOTA_OK)
		memcpy(key, buf, FOTA_CONTENT_KEY_LEN);
	if (buf)
		OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

fota_err orch_import_content_key(const struct orch_config *cfg, const struct fota_manifest *m,
				 uint8_t key[FOTA_CONTENT_KEY_LEN], bool *kept,
				 struct fota_error *err)
{
	char id[FOTA_IMAGE_ID_HEX_LEN + 1];
	struct orch_image *stored = NULL;
	const struct fota_manifest *sm;
	fota_err rc;

	*kept = false;
	fota_hex_encode(m->sha256, FOTA_IMAGE_ID_LEN, id);
	rc = orch_image_open(cfg, id, &stored, err);
	if (rc == FOTA_ERR_NOT_FOUND)
		return orch_content_key_new(key, err);
	/* Its key may be in use, so a new one is no way around a damaged directory. */
	if (rc) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err ? err->msg : "");
		return fota_error_set(
		    err, rc, "image %s is imported already and cannot be read: %s", id, why);
	}
	sm = &stored->manifest;
	if (sm->encryption == FOTA_ENCRYPTION_NONE) {
		orch_image_free(stored);
		return orch_content_key_new(key, err);
	}
	/* The same key, nonces (kind, index) and plaintext make the same ciphertext; other
	 * plaintext under them would give away both, and the key's integrity. */
	if (memcmp(sm->sha256, m->sha256, FOTA_SHA256_LEN) != 0)
		rc = fota_error_set(err, FOTA_ERR_INVAL,
				    "image %s is imported already with other bytes under that id",
				    id);
	else if (sm->has_delta &&
		 (!m->has_delta || memcmp(sm->delta.sha256, m->delta.sha256, FOTA_SHA256_LEN) != 0))
		rc = fota_error_set(
		    err, FOTA_ERR_INVAL,
		    "image %s is imported already, encrypted, with a delta payload "
		    "this manifest %s; its content key stays for the devices that may "
		    "have it, and seals no other delta payload",
		    id, m->has_delta ? "replaces by another" : "does not offer");
	else
		rc = orch_content_key_load(cfg, id, key, err);
	*kept = rc == FOTA_OK;
	orch_image_free(stored);
	return rc;
}
