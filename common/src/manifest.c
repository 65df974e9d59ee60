/* SPDX-License-Identifier: Apache-2.0 */
/* Image manifest: strict JSON parsing, validation against docs/manifest.md, device checks. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/manifest.h"
#include "fota/timeutil.h"
#include "json.h"

#define PFX "manifest rejected: "

/* Probation longer than a week would leave a broken image in place for too long. */
#define MAX_CONFIRM_TIMEOUT_S (7u * 24 * 3600)

/* Copies a required string of 1..max bytes into dst, which holds max + 1. */
static fota_err copy_string(const cJSON *obj, const char *path, size_t max, char *dst,
			    struct fota_error *err)
{
	const char *s;
	fota_err rc = fota__json_get_string(obj, path, true, 1, max, &s, PFX, err);

	if (rc == FOTA_OK)
		memcpy(dst, s, strlen(s) + 1);
	return rc;
}

/* Manifest model. */

/* Every member this version understands; "critical" may only name these. */
static const char *const known_members[] = {
    "schema",
    "sequence",
    "created",
    "expires",
    "target",
    "target.vendor",
    "target.model",
    "target.hw_revisions",
    "accepts_versions",
    "image",
    "image.name",
    "image.version",
    "image.size",
    "image.sha256",
    "image.chunk_size",
    "image.chunk_count",
    "image.table_sha256",
    "image.compression",
    "image.from_sha256",
    "image.decoded_size",
    "image.decoded_sha256",
    "image.delta",
    "image.delta.from_sha256",
    "image.delta.from_size",
    "image.delta.size",
    "image.delta.sha256",
    "image.delta.chunk_count",
    "image.delta.table_sha256",
    "image.delta.compression",
    "image.encryption",
    "image.encryption.alg",
    "image.encryption.key_wrap",
    "install",
    "install.method",
    "install.params",
    "reboot",
    "confirm_timeout_s",
    "allow_downgrade",
    "critical",
};

static const char *const method_names[] = {
    [FOTA_INSTALL_FILE] = "file",
    [FOTA_INSTALL_AB_SLOT] = "ab-slot",
    [FOTA_INSTALL_SCRIPT] = "script",
};

static const char *const compression_names[] = {
    [FOTA_COMPRESSION_NONE] = "none",
    [FOTA_COMPRESSION_ZSTD] = "zstd",
};

static const char *const encryption_names[] = {
    [FOTA_ENCRYPTION_NONE] = "none",
    [FOTA_ENCRYPTION_A256GCM_CHUNK] = "A256GCM-chunk",
};

/* The one key wrap the one encryption scheme uses. */
static const char *const key_wrap_names[] = {"ECDH-ES+A256KW"};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *fota_install_method_name(enum fota_install_method m)
{
	if ((unsigned)m >= N_ELEMS(method_names))
		return "unknown";
	return method_names[m];
}

bool fota_manifest_payload_encoded(const struct fota_manifest *m)
{
	return m->compression != FOTA_COMPRESSION_NONE || m->has_delta_base;
}

uint64_t fota_manifest_image_size(const struct fota_manifest *m)
{
	return fota_manifest_payload_encoded(m) ? m->decoded_size : m->size;
}

const uint8_t *fota_manifest_image_sha256(const struct fota_manifest *m)
{
	return fota_manifest_payload_encoded(m) ? m->decoded_sha256 : m->sha256;
}

void fota_manifest_delta_view(const struct fota_manifest *m, struct fota_manifest *view)
{
	*view = *m;
	view->size = m->delta.size;
	memcpy(view->sha256, m->delta.sha256, FOTA_SHA256_LEN);
	view->chunk_count = m->delta.chunk_count;
	memcpy(view->table_sha256, m->delta.table_sha256, FOTA_SHA256_LEN);
	view->compression = m->delta.compression;
	view->has_delta_base = true;
	memcpy(view->from_sha256, m->delta.from_sha256, FOTA_SHA256_LEN);
	view->decoded_size = fota_manifest_image_size(m);
	memcpy(view->decoded_sha256, fota_manifest_image_sha256(m), FOTA_SHA256_LEN);
	view->has_delta = false;
	memset(&view->delta, 0, sizeof(view->delta));
}

const char *fota_encryption_name(enum fota_encryption e)
{
	if ((unsigned)e >= N_ELEMS(encryption_names))
		return "unknown";
	return encryption_names[e];
}

const char *fota_compression_name(enum fota_compression c)
{
	if ((unsigned)c >= N_ELEMS(compression_names))
		return "unknown";
	return compression_names[c];
}

/* Install parameter keys: an identifier, so hooks can export them as environment names. */
static bool param_key_valid(const char *k)
{
	size_t n = strnlen(k, FOTA_MAX_NAME_LEN + 1);

	if (n == 0 || n > FOTA_MAX_NAME_LEN)
		return false;
	if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static fota_err parse_critical(const cJSON *root, struct fota_error *err)
{
	const cJSON *list, *it;
	const char *s;
	char path[32];
	size_t i = 0;
	fota_err rc =
	    fota__json_get_array(root, "critical", false, FOTA_MAX_LIST_ITEMS, &list, PFX, err);

	if (rc != FOTA_OK || list == NULL)
		return rc;
	cJSON_ArrayForEach(it, list)
	{
		bool known = false;

		snprintf(path, sizeof(path), "critical[%zu]", i++);
		rc = fota__json_string_value(it, path, 1, FOTA_MAX_NAME_LEN, &s, PFX, err);
		if (rc != FOTA_OK)
			return rc;
		for (size_t k = 0; k < N_ELEMS(known_members) && !known; k++)
			known = strcmp(s, known_members[k]) == 0;
		if (!known)
			return fota_error_set(err, FOTA_ERR_CRITICAL,
					      PFX "unknown critical field '%s'", s);
	}
	return FOTA_OK;
}

static fota_err parse_list(const cJSON *obj, const char *path,
			   char dst[FOTA_MAX_LIST_ITEMS][FOTA_MAX_VERSION_LEN + 1], size_t *n,
			   struct fota_error *err)
{
	const cJSON *list, *it;
	const char *s;
	char ipath[64];
	fota_err rc = fota__json_get_array(obj, path, true, FOTA_MAX_LIST_ITEMS, &list, PFX, err);

	if (rc != FOTA_OK)
		return rc;
	*n = 0;
	cJSON_ArrayForEach(it, list)
	{
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, *n);
		rc = fota__json_string_value(it, ipath, 1, FOTA_MAX_VERSION_LEN, &s, PFX, err);
		if (rc != FOTA_OK)
			return rc;
		memcpy(dst[(*n)++], s, strlen(s) + 1);
	}
	return FOTA_OK;
}

static fota_err parse_target(const cJSON *root, struct fota_manifest *m, struct fota_error *err)
{
	const cJSON *t;
	fota_err rc = fota__json_get_object(root, "target", true, &t, PFX, err);

	if (rc == FOTA_OK)
		rc = copy_string(t, "target.vendor", FOTA_MAX_NAME_LEN, m->vendor, err);
	if (rc == FOTA_OK)
		rc = copy_string(t, "target.model", FOTA_MAX_NAME_LEN, m->model, err);
	if (rc == FOTA_OK)
		rc = parse_list(t, "target.hw_revisions", m->hw_revisions, &m->n_hw_revisions, err);
	return rc;
}

/* image.delta: a delta payload next to the full one, in the image's chunk size. */
static fota_err parse_delta(const cJSON *im, struct fota_manifest *m, struct fota_error *err)
{
	const cJSON *d = NULL;
	struct fota_manifest_delta *dl = &m->delta;
	uint64_t v;
	int e = 0;
	fota_err rc = fota__json_get_object(im, "image.delta", false, &d, PFX, err);

	if (rc != FOTA_OK || d == NULL)
		return rc;
	if (m->has_delta_base)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.delta and image.from_sha256 exclude each other");
	m->has_delta = true;
	rc = fota__json_get_hex(d, "image.delta.from_sha256", true, NULL, dl->from_sha256,
				FOTA_SHA256_LEN, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_uint(d, "image.delta.from_size", 1, FOTA_MAX_IMAGE_SIZE,
					 &dl->from_size, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_uint(d, "image.delta.size", 1, FOTA_MAX_IMAGE_SIZE, &dl->size,
					 PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_hex(d, "image.delta.sha256", true, NULL, dl->sha256,
					FOTA_SHA256_LEN, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_uint(d, "image.delta.chunk_count", 1, FOTA_MAX_CHUNK_COUNT, &v,
					 PFX, err);
	if (rc != FOTA_OK)
		return rc;
	dl->chunk_count = (uint32_t)v;
	rc = fota__json_get_hex(d, "image.delta.table_sha256", true, NULL, dl->table_sha256,
				FOTA_SHA256_LEN, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_enum(d, "image.delta.compression", compression_names,
					 N_ELEMS(compression_names), "none or zstd", &e, PFX, err);
	dl->compression = (enum fota_compression)e;
	return rc;
}

/* image.encryption: {"alg":"A256GCM-chunk","key_wrap":"ECDH-ES+A256KW"}; "none" is what its
 * absence means, so it is not written out as an alg. */
static fota_err parse_encryption(const cJSON *im, struct fota_manifest *m, struct fota_error *err)
{
	const cJSON *en = NULL;
	int e = 0;
	fota_err rc = fota__json_get_object(im, "image.encryption", false, &en, PFX, err);

	if (rc != FOTA_OK || en == NULL)
		return rc;
	rc = fota__json_get_enum(en, "image.encryption.alg", encryption_names + 1,
				 N_ELEMS(encryption_names) - 1, "A256GCM-chunk", &e, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	m->encryption = (enum fota_encryption)(e + 1);
	return fota__json_get_enum(en, "image.encryption.key_wrap", key_wrap_names,
				   N_ELEMS(key_wrap_names), "ECDH-ES+A256KW", &e, PFX, err);
}

static fota_err parse_image(const cJSON *root, struct fota_manifest *m, struct fota_error *err)
{
	const cJSON *im;
	uint64_t v;
	int e = 0;
	fota_err rc = fota__json_get_object(root, "image", true, &im, PFX, err);

	if (rc != FOTA_OK)
		return rc;
	rc = copy_string(im, "image.name", FOTA_MAX_NAME_LEN, m->name, err);
	if (rc == FOTA_OK)
		rc = copy_string(im, "image.version", FOTA_MAX_VERSION_LEN, m->version, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_uint(im, "image.size", 1, FOTA_MAX_IMAGE_SIZE, &m->size, PFX,
					 err);
	if (rc == FOTA_OK)
		rc = fota__json_get_hex(im, "image.sha256", true, NULL, m->sha256, FOTA_SHA256_LEN,
					PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_uint(im, "image.chunk_size", FOTA_MIN_CHUNK_SIZE,
					 FOTA_MAX_CHUNK_SIZE, &v, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	m->chunk_size = (uint32_t)v;
	rc = fota__json_get_uint(im, "image.chunk_count", 1, FOTA_MAX_CHUNK_COUNT, &v, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	m->chunk_count = (uint32_t)v;
	rc = fota__json_get_hex(im, "image.table_sha256", true, NULL, m->table_sha256,
				FOTA_SHA256_LEN, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_enum(im, "image.compression", compression_names,
					 N_ELEMS(compression_names), "none or zstd", &e, PFX, err);
	if (rc != FOTA_OK)
		return rc;
	m->compression = (enum fota_compression)e;
	rc = fota__json_get_hex(im, "image.from_sha256", false, &m->has_delta_base, m->from_sha256,
				FOTA_SHA256_LEN, PFX, err);
	if (rc == FOTA_OK)
		rc = parse_delta(im, m, err);
	if (rc == FOTA_OK)
		rc = parse_encryption(im, m, err);
	if (rc != FOTA_OK)
		return rc;
	if (!fota_manifest_payload_encoded(m)) {
		if (cJSON_GetObjectItemCaseSensitive(im, "decoded_size") ||
		    cJSON_GetObjectItemCaseSensitive(im, "decoded_sha256"))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "image.decoded_size and image.decoded_sha256 are "
						  "only for a compressed or delta payload");
		return FOTA_OK;
	}
	rc = fota__json_get_uint(im, "image.decoded_size", 1, FOTA_MAX_IMAGE_SIZE, &m->decoded_size,
				 PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_hex(im, "image.decoded_sha256", true, NULL, m->decoded_sha256,
					FOTA_SHA256_LEN, PFX, err);
	return rc;
}

static fota_err parse_install(const cJSON *root, struct fota_manifest *m, struct fota_error *err)
{
	const cJSON *in = NULL, *params = NULL, *it;
	const char *s;
	char path[96];
	int e = 0;
	fota_err rc = fota__json_get_object(root, "install", true, &in, PFX, err);

	if (rc == FOTA_OK)
		rc = fota__json_get_enum(in, "install.method", method_names, N_ELEMS(method_names),
					 "file, ab-slot or script", &e, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_object(in, "install.params", false, &params, PFX, err);
	if (rc != FOTA_OK || params == NULL)
		goto done;
	cJSON_ArrayForEach(it, params)
	{
		struct fota_param *p;

		if (m->n_install_params == FOTA_MAX_PARAMS)
			return fota_error_set(err, FOTA_ERR_TOO_BIG,
					      PFX "install.params has more than %d members",
					      FOTA_MAX_PARAMS);
		if (!param_key_valid(it->string))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "install.params name '%.64s' is not "
						  "[A-Za-z][A-Za-z0-9_.-]{0,63}",
					      it->string);
		snprintf(path, sizeof(path), "install.params.%s", it->string);
		rc = fota__json_string_value(it, path, 1, FOTA_MAX_PARAM_LEN, &s, PFX, err);
		if (rc != FOTA_OK)
			return rc;
		p = &m->install_params[m->n_install_params++];
		memcpy(p->key, it->string, strlen(it->string) + 1);
		memcpy(p->value, s, strlen(s) + 1);
	}
done:
	m->install_method = (enum fota_install_method)e;
	return rc;
}

fota_err fota_manifest_parse(const uint8_t *json, size_t len, struct fota_manifest *out,
			     struct fota_error *err)
{
	cJSON *root = NULL;
	uint64_t v;
	fota_err rc;

	if (out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no output");
	memset(out, 0, sizeof(*out));
	rc = fota__json_load_kind(json, len, FOTA_MAX_MANIFEST_BYTES, "schema",
				  FOTA_MANIFEST_SCHEMA, &root, PFX, err);
	if (rc != FOTA_OK)
		goto out;
	/* Before any other member: an unknown critical one may change what the others mean. */
	rc = parse_critical(root, err);
	if (rc != FOTA_OK)
		goto out;
	rc = fota__json_get_uint(root, "sequence", 1, FOTA__JSON_MAX_INT, &out->sequence, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_time(root, "created", &out->created, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_time(root, "expires", &out->expires, PFX, err);
	if (rc == FOTA_OK)
		rc = parse_target(root, out, err);
	if (rc == FOTA_OK)
		rc = parse_list(root, "accepts_versions", out->accepts_versions,
				&out->n_accepts_versions, err);
	if (rc == FOTA_OK)
		rc = parse_image(root, out, err);
	if (rc == FOTA_OK)
		rc = parse_install(root, out, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_bool(root, "reboot", true, &out->reboot, PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_get_uint(root, "confirm_timeout_s", 1, MAX_CONFIRM_TIMEOUT_S, &v,
					 PFX, err);
	if (rc != FOTA_OK)
		goto out;
	out->confirm_timeout_s = (uint32_t)v;
	rc = fota__json_get_bool(root, "allow_downgrade", false, &out->allow_downgrade, PFX, err);
	if (rc == FOTA_OK)
		rc = fota_manifest_validate(out, err);
out:
	cJSON_Delete(root);
	if (rc != FOTA_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static fota_err check_list(const char list[][FOTA_MAX_VERSION_LEN + 1], size_t n, const char *path,
			   struct fota_error *err)
{
	char ipath[64];
	fota_err rc;

	if (n > FOTA_MAX_LIST_ITEMS)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, PFX "%s has more than %d items", path,
				      FOTA_MAX_LIST_ITEMS);
	for (size_t i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		rc = fota__json_check_text(list[i], 1, FOTA_MAX_VERSION_LEN, ipath, PFX, err);
		if (rc != FOTA_OK)
			return rc;
	}
	return FOTA_OK;
}

static fota_err validate_delta(const struct fota_manifest *m, struct fota_error *err)
{
	const struct fota_manifest_delta *d = &m->delta;
	uint64_t want;

	if (m->has_delta_base)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.delta and image.from_sha256 exclude each other");
	if (d->from_size == 0 || d->from_size > FOTA_MAX_IMAGE_SIZE)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.delta.from_size %" PRIu64 " out of range 1..%llu",
				      d->from_size, FOTA_MAX_IMAGE_SIZE);
	if (d->size == 0 || d->size > FOTA_MAX_IMAGE_SIZE)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.delta.size %" PRIu64 " out of range 1..%llu",
				      d->size, FOTA_MAX_IMAGE_SIZE);
	want = (d->size + m->chunk_size - 1) / m->chunk_size;
	if (d->chunk_count != want)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.delta.chunk_count %" PRIu32
					  " != ceil(size/chunk_size) %" PRIu64,
				      d->chunk_count, want);
	if ((unsigned)d->compression >= N_ELEMS(compression_names))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "image.delta.compression %d unknown",
				      (int)d->compression);
	/* Two payloads with one id would be one transfer and one checkpoint on a device. */
	if (fota_digest_equal(d->sha256, m->sha256, FOTA_IMAGE_ID_LEN))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.delta.sha256 has the image id of image.sha256");
	return FOTA_OK;
}

static fota_err validate_image(const struct fota_manifest *m, struct fota_error *err)
{
	uint64_t want;
	fota_err rc =
	    fota__json_check_text(m->name, 1, sizeof(m->name) - 1, "image.name", PFX, err);

	if (rc == FOTA_OK)
		rc = fota__json_check_text(m->version, 1, sizeof(m->version) - 1, "image.version",
					   PFX, err);
	if (rc != FOTA_OK)
		return rc;
	if (m->size == 0 || m->size > FOTA_MAX_IMAGE_SIZE)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.size %" PRIu64 " out of range 1..%llu", m->size,
				      FOTA_MAX_IMAGE_SIZE);
	if (m->chunk_size < FOTA_MIN_CHUNK_SIZE || m->chunk_size > FOTA_MAX_CHUNK_SIZE)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.chunk_size %" PRIu32 " out of range %u..%u",
				      m->chunk_size, FOTA_MIN_CHUNK_SIZE, FOTA_MAX_CHUNK_SIZE);
	want = (m->size + m->chunk_size - 1) / m->chunk_size;
	if (m->chunk_count != want)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.chunk_count %" PRIu32
					  " != ceil(size/chunk_size) %" PRIu64,
				      m->chunk_count, want);
	if (m->chunk_count > FOTA_MAX_CHUNK_COUNT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.chunk_count %" PRIu32 " > limit %u",
				      m->chunk_count, FOTA_MAX_CHUNK_COUNT);
	if ((unsigned)m->compression >= N_ELEMS(compression_names))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "image.compression %d unknown",
				      (int)m->compression);
	if ((unsigned)m->encryption >= N_ELEMS(encryption_names))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "image.encryption %d unknown",
				      (int)m->encryption);
	if (fota_manifest_payload_encoded(m) &&
	    (m->decoded_size == 0 || m->decoded_size > FOTA_MAX_IMAGE_SIZE))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "image.decoded_size %" PRIu64 " out of range 1..%llu",
				      m->decoded_size, FOTA_MAX_IMAGE_SIZE);
	return m->has_delta ? validate_delta(m, err) : FOTA_OK;
}

static fota_err validate_install(const struct fota_manifest *m, struct fota_error *err)
{
	char path[96];
	fota_err rc;

	if ((unsigned)m->install_method >= N_ELEMS(method_names))
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "install.method %d unknown",
				      (int)m->install_method);
	if (m->n_install_params > FOTA_MAX_PARAMS)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      PFX "install.params has more than %d members",
				      FOTA_MAX_PARAMS);
	for (size_t i = 0; i < m->n_install_params; i++) {
		const struct fota_param *p = &m->install_params[i];

		if (!param_key_valid(p->key))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      PFX "install.params name '%.64s' is not "
						  "[A-Za-z][A-Za-z0-9_.-]{0,63}",
					      p->key);
		snprintf(path, sizeof(path), "install.params.%s", p->key);
		rc = fota__json_check_text(p->value, 1, sizeof(p->value) - 1, path, PFX, err);
		if (rc != FOTA_OK)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(m->install_params[j].key, p->key) == 0)
				return fota_error_set(err, FOTA_ERR_FIELD,
						      PFX "install.params name '%s' repeated",
						      p->key);
		}
	}
	return FOTA_OK;
}

fota_err fota_manifest_validate(const struct fota_manifest *m, struct fota_error *err)
{
	char c[FOTA_TIME_STR_LEN], e[FOTA_TIME_STR_LEN];
	fota_err rc;

	if (m == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no manifest");
	if (m->sequence == 0 || m->sequence > FOTA__JSON_MAX_INT)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "sequence %" PRIu64 " out of range 1..%llu", m->sequence,
				      FOTA__JSON_MAX_INT);
	if (!fota__json_time_ok(m->created))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "created %" PRId64 " is outside years 1970..9999",
				      m->created);
	if (!fota__json_time_ok(m->expires))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "expires %" PRId64 " is outside years 1970..9999",
				      m->expires);
	if (m->expires <= m->created) {
		fota_time_format(m->created, c);
		fota_time_format(m->expires, e);
		return fota_error_set(err, FOTA_ERR_FIELD, PFX "expires %s is not after created %s",
				      e, c);
	}
	rc = fota__json_check_text(m->vendor, 1, sizeof(m->vendor) - 1, "target.vendor", PFX, err);
	if (rc == FOTA_OK)
		rc = fota__json_check_text(m->model, 1, sizeof(m->model) - 1, "target.model", PFX,
					   err);
	if (rc == FOTA_OK)
		rc = check_list(m->hw_revisions, m->n_hw_revisions, "target.hw_revisions", err);
	if (rc == FOTA_OK)
		rc =
		    check_list(m->accepts_versions, m->n_accepts_versions, "accepts_versions", err);
	if (rc == FOTA_OK)
		rc = validate_image(m, err);
	if (rc == FOTA_OK)
		rc = validate_install(m, err);
	if (rc != FOTA_OK)
		return rc;
	if (m->confirm_timeout_s == 0 || m->confirm_timeout_s > MAX_CONFIRM_TIMEOUT_S)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      PFX "confirm_timeout_s %" PRIu32 " out of range 1..%u",
				      m->confirm_timeout_s, MAX_CONFIRM_TIMEOUT_S);
	return FOTA_OK;
}

static bool in_list(const char list[][FOTA_MAX_VERSION_LEN + 1], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], s) == 0)
			return true;
	}
	return false;
}

fota_err fota_manifest_check_device(const struct fota_manifest *m,
				    const struct fota_device_info *dev, struct fota_error *err)
{
	char when[FOTA_TIME_STR_LEN];
	const char *vendor, *model, *hw, *cur;

	if (m == NULL || dev == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no manifest or device info");
	vendor = dev->vendor ? dev->vendor : "";
	model = dev->model ? dev->model : "";
	hw = dev->hw_revision ? dev->hw_revision : "";
	cur = dev->current_version ? dev->current_version : "";
	if (dev->now >= m->expires) {
		fota_time_format(m->expires, when);
		return fota_error_set(err, FOTA_ERR_EXPIRED, PFX "expired at %s", when);
	}
	if (m->sequence <= dev->installed_sequence && !m->allow_downgrade)
		return fota_error_set(err, FOTA_ERR_ROLLBACK,
				      PFX "sequence %" PRIu64 " <= installed %" PRIu64, m->sequence,
				      dev->installed_sequence);
	/* Messages give the manifest's value first, then the device's. */
	if (strcmp(m->vendor, vendor) != 0)
		return fota_error_set(err, FOTA_ERR_INCOMPATIBLE, PFX "vendor '%s' not '%.64s'",
				      m->vendor, vendor);
	if (strcmp(m->model, model) != 0)
		return fota_error_set(err, FOTA_ERR_INCOMPATIBLE, PFX "model '%s' not '%.64s'",
				      m->model, model);
	if (m->n_hw_revisions > 0 && !in_list(m->hw_revisions, m->n_hw_revisions, hw))
		return fota_error_set(err, FOTA_ERR_INCOMPATIBLE,
				      PFX "hw revision '%.64s' not in target.hw_revisions", hw);
	if (m->n_accepts_versions > 0 &&
	    (cur[0] == '\0' || !in_list(m->accepts_versions, m->n_accepts_versions, cur)))
		return fota_error_set(err, FOTA_ERR_INCOMPATIBLE,
				      PFX "current version '%.64s' not in accepts_versions",
				      cur[0] ? cur : "(none)");
	return FOTA_OK;
}

const char *fota_manifest_param(const struct fota_manifest *m, const char *key)
{
	if (m == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < m->n_install_params && i < FOTA_MAX_PARAMS; i++) {
		if (strcmp(m->install_params[i].key, key) == 0)
			return m->install_params[i].value;
	}
	return NULL;
}

static bool add_digest(cJSON *obj, const char *name, const uint8_t d[FOTA_SHA256_LEN])
{
	char hex[FOTA_SHA256_HEX_LEN + 1];

	fota_hex_encode(d, FOTA_SHA256_LEN, hex);
	return cJSON_AddStringToObject(obj, name, hex) != NULL;
}

static cJSON *string_array(const char list[][FOTA_MAX_VERSION_LEN + 1], size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < n; i++) {
		cJSON *s = cJSON_CreateString(list[i]);

		if (s == NULL || !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static bool add_delta(cJSON *image, const struct fota_manifest_delta *d)
{
	cJSON *o = cJSON_AddObjectToObject(image, "delta");

	return o != NULL && add_digest(o, "from_sha256", d->from_sha256) &&
	       fota__json_add_uint(o, "from_size", d->from_size) &&
	       fota__json_add_uint(o, "size", d->size) && add_digest(o, "sha256", d->sha256) &&
	       cJSON_AddNumberToObject(o, "chunk_count", d->chunk_count) &&
	       add_digest(o, "table_sha256", d->table_sha256) &&
	       cJSON_AddStringToObject(o, "compression", fota_compression_name(d->compression));
}

static bool add_encryption(cJSON *image, enum fota_encryption e)
{
	cJSON *o = cJSON_AddObjectToObject(image, "encryption");

	return o != NULL && cJSON_AddStringToObject(o, "alg", fota_encryption_name(e)) &&
	       cJSON_AddStringToObject(o, "key_wrap", key_wrap_names[0]);
}

/* Builds the document; false only on allocation failure. */
static bool build(const struct fota_manifest *m, cJSON *root)
{
	cJSON *target, *image, *install, *params, *list, *crit;

	if (!cJSON_AddStringToObject(root, "schema", FOTA_MANIFEST_SCHEMA) ||
	    !fota__json_add_uint(root, "sequence", m->sequence) ||
	    !fota__json_add_time(root, "created", m->created) ||
	    !fota__json_add_time(root, "expires", m->expires))
		return false;
	target = cJSON_AddObjectToObject(root, "target");
	if (target == NULL || !cJSON_AddStringToObject(target, "vendor", m->vendor) ||
	    !cJSON_AddStringToObject(target, "model", m->model))
		return false;
	list = string_array(m->hw_revisions, m->n_hw_revisions);
	if (list == NULL || !cJSON_AddItemToObject(target, "hw_revisions", list)) {
		cJSON_Delete(list);
		return false;
	}
	list = string_array(m->accepts_versions, m->n_accepts_versions);
	if (list == NULL || !cJSON_AddItemToObject(root, "accepts_versions", list)) {
		cJSON_Delete(list);
		return false;
	}
	image = cJSON_AddObjectToObject(root, "image");
	if (image == NULL || !cJSON_AddStringToObject(image, "name", m->name) ||
	    !cJSON_AddStringToObject(image, "version", m->version) ||
	    !fota__json_add_uint(image, "size", m->size) ||
	    !add_digest(image, "sha256", m->sha256) ||
	    !cJSON_AddNumberToObject(image, "chunk_size", m->chunk_size) ||
	    !cJSON_AddNumberToObject(image, "chunk_count", m->chunk_count) ||
	    !add_digest(image, "table_sha256", m->table_sha256) ||
	    !cJSON_AddStringToObject(image, "compression", fota_compression_name(m->compression)))
		return false;
	if (m->has_delta_base && !add_digest(image, "from_sha256", m->from_sha256))
		return false;
	if (fota_manifest_payload_encoded(m) &&
	    (!fota__json_add_uint(image, "decoded_size", m->decoded_size) ||
	     !add_digest(image, "decoded_sha256", m->decoded_sha256)))
		return false;
	if (m->has_delta && !add_delta(image, &m->delta))
		return false;
	if (m->encryption != FOTA_ENCRYPTION_NONE && !add_encryption(image, m->encryption))
		return false;
	install = cJSON_AddObjectToObject(root, "install");
	if (install == NULL || !cJSON_AddStringToObject(
				   install, "method", fota_install_method_name(m->install_method)))
		return false;
	params = cJSON_AddObjectToObject(install, "params");
	if (params == NULL)
		return false;
	for (size_t i = 0; i < m->n_install_params; i++) {
		if (!cJSON_AddStringToObject(params, m->install_params[i].key,
					     m->install_params[i].value))
			return false;
	}
	if (!cJSON_AddBoolToObject(root, "reboot", m->reboot) ||
	    !cJSON_AddNumberToObject(root, "confirm_timeout_s", m->confirm_timeout_s) ||
	    !cJSON_AddBoolToObject(root, "allow_downgrade", m->allow_downgrade))
		return false;
	/* A reader that does not know image.encryption would take ciphertext for the image; naming
	 * it critical makes such a reader refuse the manifest instead. */
	if (m->encryption == FOTA_ENCRYPTION_NONE)
		return true;
	list = cJSON_AddArrayToObject(root, "critical");
	crit = cJSON_CreateString("image.encryption");
	if (list == NULL || crit == NULL || !cJSON_AddItemToArray(list, crit)) {
		cJSON_Delete(crit);
		return false;
	}
	return true;
}

fota_err fota_manifest_to_json(const struct fota_manifest *m, char **out, struct fota_error *err)
{
	cJSON *root = NULL;
	fota_err rc;

	if (out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, PFX "no output");
	*out = NULL;
	rc = fota_manifest_validate(m, err);
	if (rc != FOTA_OK)
		return rc;
	root = cJSON_CreateObject();
	if (root == NULL || !build(m, root) || (*out = cJSON_PrintUnformatted(root)) == NULL)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, PFX "out of memory serializing");
	cJSON_Delete(root);
	return rc;
}
