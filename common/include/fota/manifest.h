/* SPDX-License-Identifier: Apache-2.0 */
/* Image manifest (what the release key signs): JSON <-> struct, validation, device checks. */
#ifndef FOTA_MANIFEST_H
#define FOTA_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

#define FOTA_MANIFEST_SCHEMA "fota-manifest/1"
/* Decoded manifest payload limit (the envelope limit applies before decoding). */
#define FOTA_MAX_MANIFEST_BYTES (16 * 1024)

enum fota_install_method { FOTA_INSTALL_FILE = 0, FOTA_INSTALL_AB_SLOT, FOTA_INSTALL_SCRIPT };
enum fota_compression { FOTA_COMPRESSION_NONE = 0, FOTA_COMPRESSION_ZSTD };
/* image.encryption: how the payloads' chunks are encrypted (fota/chunk_crypt.h) and how their
 * content key reaches a device (fota/jwe.h). One scheme so far. */
enum fota_encryption { FOTA_ENCRYPTION_NONE = 0, FOTA_ENCRYPTION_A256GCM_CHUNK };

struct fota_param {
	char key[FOTA_MAX_NAME_LEN + 1];
	char value[FOTA_MAX_PARAM_LEN + 1];
};

/* A delta payload offered next to the full one (image.delta): it turns the image whose SHA-256
 * is from_sha256 (from_size bytes) into this manifest's image. chunk_size is the image's. */
struct fota_manifest_delta {
	uint8_t from_sha256[FOTA_SHA256_LEN];
	uint64_t from_size;
	uint64_t size;
	uint8_t sha256[FOTA_SHA256_LEN];
	uint32_t chunk_count;
	uint8_t table_sha256[FOTA_SHA256_LEN];
	enum fota_compression compression;
};

struct fota_manifest {
	uint64_t sequence; /* monotonic, anti-rollback */
	int64_t created;   /* Unix seconds */
	int64_t expires;
	char vendor[FOTA_MAX_NAME_LEN + 1];
	char model[FOTA_MAX_NAME_LEN + 1];
	char hw_revisions[FOTA_MAX_LIST_ITEMS][FOTA_MAX_VERSION_LEN + 1];
	size_t n_hw_revisions; /* 0 = any hardware revision */
	char accepts_versions[FOTA_MAX_LIST_ITEMS][FOTA_MAX_VERSION_LEN + 1];
	size_t n_accepts_versions; /* 0 = from any current version */
	char name[FOTA_MAX_NAME_LEN + 1];
	char version[FOTA_MAX_VERSION_LEN + 1];
	uint64_t size;
	uint8_t sha256[FOTA_SHA256_LEN];
	uint32_t chunk_size;
	uint32_t chunk_count;
	uint8_t table_sha256[FOTA_SHA256_LEN]; /* digest of the chunk hash table */
	enum fota_compression compression;
	bool has_delta_base;
	uint8_t from_sha256[FOTA_SHA256_LEN];
	/* The image the payload decodes to; present exactly when the payload is not the image
	 * (compression other than none, or a delta). */
	uint64_t decoded_size;
	uint8_t decoded_sha256[FOTA_SHA256_LEN];
	bool has_delta; /* image.delta: a delta payload next to the full one */
	struct fota_manifest_delta delta;
	/* NONE when image.encryption is absent; otherwise every chunk of both payloads travels
	 * sealed (ciphertext || tag), while sizes, digests and the chunk tables stay over the
	 * plaintext. */
	enum fota_encryption encryption;
	enum fota_install_method install_method;
	struct fota_param install_params[FOTA_MAX_PARAMS];
	size_t n_install_params;
	bool reboot;
	uint32_t confirm_timeout_s;
	bool allow_downgrade; /* the release key's explicit downgrade allowance */
};

/* Parses and validates a manifest payload (exact bytes, need not be NUL-terminated). Every
 * field is checked against docs/manifest.md; unknown names listed in "critical" are refused.
 * Error messages name the field: "manifest rejected: chunk_count 9 != ceil(size/chunk_size) 8". */
fota_err fota_manifest_parse(const uint8_t *json, size_t len, struct fota_manifest *out,
			     struct fota_error *err);

/* Serializes (validating first); *out is malloc'd, NUL-terminated (caller frees). */
fota_err fota_manifest_to_json(const struct fota_manifest *m, char **out, struct fota_error *err);

/* Internal consistency and limits, as parse applies them. */
fota_err fota_manifest_validate(const struct fota_manifest *m, struct fota_error *err);

/* What the device knows about itself when judging a manifest. */
struct fota_device_info {
	const char *vendor;
	const char *model;
	const char *hw_revision;
	const char *current_version; /* NULL or "" when nothing is installed yet */
	uint64_t installed_sequence;
	int64_t now;
};

/* Expiry, anti-rollback (sequence <= installed refused unless allow_downgrade) and
 * compatibility, in that order; message e.g. "manifest rejected: sequence 41 <= installed 42". */
fota_err fota_manifest_check_device(const struct fota_manifest *m,
				    const struct fota_device_info *dev, struct fota_error *err);

/* True when the payload (size, sha256, the chunks) is not the image itself: compressed or a
 * delta, so decoded_size and decoded_sha256 name the image. */
bool fota_manifest_payload_encoded(const struct fota_manifest *m);
/* The image the device installs, as opposed to the payload it receives (size, sha256): the
 * same bytes for a plain payload. */
uint64_t fota_manifest_image_size(const struct fota_manifest *m);
const uint8_t *fota_manifest_image_sha256(const struct fota_manifest *m);

/* The manifest as seen by one who receives its delta payload (m->has_delta): size, sha256,
 * chunk_count, table_sha256 and compression are the delta's, from_sha256 its base, and
 * decoded_size / decoded_sha256 the image; has_delta is false (the view names one payload).
 * Everything a receiver checks a payload against (chunk table, digests, decode chain) works
 * on the view as on a manifest whose only payload is the delta. */
void fota_manifest_delta_view(const struct fota_manifest *m, struct fota_manifest *view);

/* Install parameter by key, NULL if absent. */
const char *fota_manifest_param(const struct fota_manifest *m, const char *key);

const char *fota_install_method_name(enum fota_install_method m);
const char *fota_compression_name(enum fota_compression c);
/* "none" or "A256GCM-chunk". */
const char *fota_encryption_name(enum fota_encryption e);

#endif
