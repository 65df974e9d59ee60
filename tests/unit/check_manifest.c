/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest parsing, validation, serialization and device checks against tests/data/manifest. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/manifest.h"
#include "fota/timeutil.h"
#include "testutil.h"

#define DATA FOTA_TEST_DATA "/manifest/"

/* Reads a file into an exactly sized allocation (no terminator), so over-reads trip ASan. */
static uint8_t *slurp(const char *name, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), DATA "%s", name);
	return tu_read_file(path, len);
}

static void load_good(struct fota_manifest *m)
{
	struct fota_error err = {0};
	size_t len;
	uint8_t *buf = slurp("good.json", &len);

	ck_assert_msg(fota_manifest_parse(buf, len, m, &err) == FOTA_OK, "%s", err.msg);
	free(buf);
}

struct bad_case {
	const char *file;
	fota_err code;
	const char *msg; /* substring of the message */
};

static const struct bad_case bad_cases[] = {
    {"bad-not-json.json", FOTA_ERR_PARSE, "malformed JSON"},
    {"bad-truncated.json", FOTA_ERR_PARSE, "malformed JSON"},
    {"bad-trailing-garbage.json", FOTA_ERR_PARSE, "malformed JSON"},
    {"bad-top-level-array.json", FOTA_ERR_PARSE, "not a JSON object"},
    {"bad-duplicate-member.json", FOTA_ERR_PARSE, "duplicate member 'sequence'"},
    {"bad-duplicate-nested.json", FOTA_ERR_PARSE, "duplicate member 'size'"},
    {"bad-nul-escape.json", FOTA_ERR_PARSE, "\\u0000"},
    /* RFC 8259 exactly, as every other JSON reader sees the signed bytes */
    {"bad-sequence-leading-zero.json", FOTA_ERR_PARSE, "malformed JSON near byte 48"},
    {"bad-chunk-count-zero-padded.json", FOTA_ERR_PARSE, "malformed JSON near byte 484"},
    {"bad-size-trailing-dot.json", FOTA_ERR_PARSE, "malformed JSON near byte 356"},
    {"bad-form-feed.json", FOTA_ERR_PARSE, "malformed JSON near byte 987"},
    {"bad-byte-order-mark.json", FOTA_ERR_PARSE, "malformed JSON near byte 0"},
    {"bad-invalid-utf8.json", FOTA_ERR_PARSE, "malformed JSON near byte 321"},
    {"bad-schema.json", FOTA_ERR_FIELD, "schema 'fota-manifest/2' is not 'fota-manifest/1'"},
    {"bad-schema-missing.json", FOTA_ERR_FIELD, "schema missing"},
    {"bad-critical-unknown.json", FOTA_ERR_CRITICAL, "unknown critical field 'image.sealing'"},
    {"bad-critical-not-array.json", FOTA_ERR_FIELD, "critical is not an array"},
    {"bad-sequence-missing.json", FOTA_ERR_FIELD, "sequence missing"},
    {"bad-sequence-zero.json", FOTA_ERR_FIELD, "sequence 0 out of range 1..9007199254740991"},
    {"bad-sequence-negative.json", FOTA_ERR_FIELD, "sequence -1 is not an integer"},
    {"bad-sequence-fraction.json", FOTA_ERR_FIELD, "sequence 41.5 is not an integer"},
    {"bad-sequence-too-large.json", FOTA_ERR_FIELD, "is not an integer in 0..9007199254740991"},
    {"bad-sequence-above-2-53.json", FOTA_ERR_FIELD,
     "sequence 9007199254740993 is not an integer in 0..9007199254740991"},
    {"bad-sequence-string.json", FOTA_ERR_FIELD, "sequence is not a number"},
    {"bad-created-format.json", FOTA_ERR_FIELD, "created '2026-11-26 12:00:00' is not"},
    {"bad-created-offset.json", FOTA_ERR_FIELD, "is not YYYY-MM-DDTHH:MM:SSZ"},
    {"bad-created-feb29-not-leap.json", FOTA_ERR_FIELD, "has day 29, month has 28"},
    {"bad-created-century-not-leap.json", FOTA_ERR_FIELD, "'2100-02-29T00:00:00Z' has day 29"},
    {"bad-expires-hour-24.json", FOTA_ERR_FIELD, "expires '2027-11-26T24:00:00Z' has time"},
    {"bad-expires-before-created.json", FOTA_ERR_FIELD,
     "expires 2026-01-01T00:00:00Z is not after created 2026-11-26T12:00:00Z"},
    {"bad-expires-equals-created.json", FOTA_ERR_FIELD, "is not after created"},
    {"bad-target-missing.json", FOTA_ERR_FIELD, "target missing"},
    {"bad-vendor-empty.json", FOTA_ERR_FIELD, "target.vendor is empty"},
    {"bad-vendor-non-ascii.json", FOTA_ERR_FIELD, "target.vendor has byte 0xc3"},
    {"bad-model-too-long.json", FOTA_ERR_TOO_BIG, "target.model longer than 64 bytes"},
    {"bad-model-control-char.json", FOTA_ERR_FIELD, "target.model has byte 0x09"},
    {"bad-hw-revisions-too-many.json", FOTA_ERR_TOO_BIG, "target.hw_revisions has more than 16"},
    {"bad-hw-revisions-not-strings.json", FOTA_ERR_FIELD, "target.hw_revisions[0] is not a string"},
    {"bad-accepts-versions-missing.json", FOTA_ERR_FIELD, "accepts_versions missing"},
    {"bad-image-not-object.json", FOTA_ERR_FIELD, "image is not an object"},
    {"bad-image-size-zero.json", FOTA_ERR_FIELD, "image.size 0 out of range"},
    {"bad-image-size-too-big.json", FOTA_ERR_FIELD,
     "image.size 17179869185 out of range 1..17179869184"},
    {"bad-sha256-short.json", FOTA_ERR_FIELD, "image.sha256 is not 64 lower-case hex digits"},
    {"bad-sha256-uppercase.json", FOTA_ERR_FIELD, "image.sha256 is not 64 lower-case hex"},
    {"bad-table-sha256-missing.json", FOTA_ERR_FIELD, "image.table_sha256 missing"},
    {"bad-from-sha256-not-hex.json", FOTA_ERR_FIELD, "image.from_sha256 is not 64"},
    {"bad-decoded-size-missing.json", FOTA_ERR_FIELD, "image.decoded_size missing"},
    {"bad-decoded-on-plain.json", FOTA_ERR_FIELD,
     "image.decoded_size and image.decoded_sha256 are only for a compressed or delta payload"},
    {"bad-delta-not-object.json", FOTA_ERR_FIELD, "image.delta is not an object"},
    {"bad-delta-chunk-count.json", FOTA_ERR_FIELD,
     "image.delta.chunk_count 3 != ceil(size/chunk_size) 2"},
    {"bad-delta-and-from-sha256.json", FOTA_ERR_FIELD,
     "image.delta and image.from_sha256 exclude each other"},
    {"bad-delta-from-size-zero.json", FOTA_ERR_FIELD, "image.delta.from_size 0 out of range"},
    {"bad-delta-from-size-missing.json", FOTA_ERR_FIELD, "image.delta.from_size missing"},
    {"bad-delta-compression.json", FOTA_ERR_FIELD,
     "image.delta.compression 'xz' is not none or zstd"},
    {"bad-delta-same-id.json", FOTA_ERR_FIELD,
     "image.delta.sha256 has the image id of image.sha256"},
    {"bad-delta-size-too-big.json", FOTA_ERR_FIELD,
     "image.delta.size 17179869185 out of range 1..17179869184"},
    {"bad-chunk-size-small.json", FOTA_ERR_FIELD,
     "image.chunk_size 512 out of range 1024..1048576"},
    {"bad-chunk-size-large.json", FOTA_ERR_FIELD, "image.chunk_size 2097152 out of range"},
    {"bad-chunk-count-mismatch.json", FOTA_ERR_FIELD, "chunk_count 17 != ceil(size/chunk_size) 16"},
    {"bad-chunk-count-over-limit.json", FOTA_ERR_FIELD,
     "image.chunk_count 32769 out of range 1..32768"},
    {"bad-compression.json", FOTA_ERR_FIELD, "image.compression 'lz4' is not none or zstd"},
    {"bad-encryption-alg.json", FOTA_ERR_FIELD,
     "image.encryption.alg 'A128CBC-HS256' is not A256GCM-chunk"},
    {"bad-encryption-key-wrap.json", FOTA_ERR_FIELD,
     "image.encryption.key_wrap 'RSA-OAEP' is not ECDH-ES+A256KW"},
    {"bad-encryption-not-object.json", FOTA_ERR_FIELD, "image.encryption is not an object"},
    {"bad-encryption-alg-missing.json", FOTA_ERR_FIELD, "image.encryption.alg missing"},
    {"bad-install-method.json", FOTA_ERR_FIELD,
     "install.method 'rpm' is not file, ab-slot or script"},
    {"bad-param-name.json", FOTA_ERR_FIELD, "install.params name '1slot'"},
    {"bad-param-value-type.json", FOTA_ERR_FIELD, "install.params.retries is not a string"},
    {"bad-param-value-too-long.json", FOTA_ERR_TOO_BIG,
     "install.params.slot_a longer than 256 bytes"},
    {"bad-params-too-many.json", FOTA_ERR_TOO_BIG, "install.params has more than 16 members"},
    {"bad-reboot-type.json", FOTA_ERR_FIELD, "reboot is not true or false"},
    {"bad-reboot-missing.json", FOTA_ERR_FIELD, "reboot missing"},
    {"bad-confirm-timeout-zero.json", FOTA_ERR_FIELD, "confirm_timeout_s 0 out of range 1..604800"},
    {"bad-confirm-timeout-too-long.json", FOTA_ERR_FIELD, "confirm_timeout_s 604801 out of range"},
    {"bad-allow-downgrade-type.json", FOTA_ERR_FIELD, "allow_downgrade is not true or false"},
};

START_TEST(test_bad_file)
{
	const struct bad_case *c = &bad_cases[_i];
	struct fota_manifest m;
	struct fota_error err = {0};
	size_t len;
	uint8_t *buf = slurp(c->file, &len);
	fota_err rc = fota_manifest_parse(buf, len, &m, &err);

	free(buf);
	tu_assert_rejected(rc, c->code, &err, "manifest rejected: ", c->msg, c->file);
	ck_assert_int_eq(err.code, c->code);
}
END_TEST

/* A new bad-*.json without a table row (or a row without its file) fails here. */
START_TEST(test_every_bad_file_in_table)
{
	tu_assert_table_covers_dir(DATA, bad_cases, TU_N(bad_cases), sizeof(bad_cases[0]),
				   offsetof(struct bad_case, file));
}
END_TEST

static const char *const good_files[] = {
    "good.json",
    "good-minimal.json",
    "good-unknown-members.json",
    "good-exact-boundaries.json",
    "good-delta.json",
    "good-encrypted.json",
};

/* Every good file parses, and serializing then parsing again gives the same struct. */
START_TEST(test_good_file_round_trip)
{
	struct fota_manifest a, b;
	struct fota_error err = {0};
	char *json = NULL, *json2 = NULL;
	size_t len;
	uint8_t *buf = slurp(good_files[_i], &len);

	ck_assert_msg(fota_manifest_parse(buf, len, &a, &err) == FOTA_OK, "%s: %s", good_files[_i],
		      err.msg);
	free(buf);
	ck_assert_int_eq(fota_manifest_to_json(&a, &json, &err), FOTA_OK);
	ck_assert_msg(fota_manifest_parse((const uint8_t *)json, strlen(json), &b, &err) == FOTA_OK,
		      "%s", err.msg);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	ck_assert_int_eq(fota_manifest_to_json(&b, &json2, &err), FOTA_OK);
	ck_assert_str_eq(json, json2);
	free(json);
	free(json2);
}
END_TEST

/* image.delta: the view a delta receiver works with names the delta payload and the image. */
START_TEST(test_delta_view)
{
	struct fota_manifest m, v;
	struct fota_error err = {0};
	size_t len;
	uint8_t *buf = slurp("good-delta.json", &len);

	ck_assert_msg(fota_manifest_parse(buf, len, &m, &err) == FOTA_OK, "%s", err.msg);
	free(buf);
	ck_assert(m.has_delta);
	ck_assert(!m.has_delta_base);
	ck_assert(!fota_manifest_payload_encoded(&m)); /* the full payload is the image */
	ck_assert_uint_eq(m.delta.from_size, 990000);
	fota_manifest_delta_view(&m, &v);
	ck_assert(!v.has_delta);
	ck_assert(v.has_delta_base);
	ck_assert(fota_manifest_payload_encoded(&v));
	ck_assert_uint_eq(v.size, 70000);
	ck_assert_uint_eq(v.chunk_count, 2);
	ck_assert_int_eq(v.compression, FOTA_COMPRESSION_ZSTD);
	ck_assert_mem_eq(v.sha256, m.delta.sha256, FOTA_SHA256_LEN);
	ck_assert_mem_eq(v.table_sha256, m.delta.table_sha256, FOTA_SHA256_LEN);
	ck_assert_mem_eq(v.from_sha256, m.delta.from_sha256, FOTA_SHA256_LEN);
	ck_assert_uint_eq(fota_manifest_image_size(&v), 1000000);
	ck_assert_mem_eq(fota_manifest_image_sha256(&v), m.sha256, FOTA_SHA256_LEN);
	ck_assert_int_eq(fota_manifest_validate(&v, &err), FOTA_OK);
}
END_TEST

/* image.encryption covers both payloads, and the writer names it critical so that a reader
 * without it refuses the manifest rather than taking ciphertext for the image. */
START_TEST(test_encryption)
{
	struct fota_manifest m, v;
	struct fota_error err = {0};
	char *json = NULL;
	size_t len;
	uint8_t *buf = slurp("good-encrypted.json", &len);

	ck_assert_msg(fota_manifest_parse(buf, len, &m, &err) == FOTA_OK, "%s", err.msg);
	free(buf);
	ck_assert_int_eq(m.encryption, FOTA_ENCRYPTION_A256GCM_CHUNK);
	ck_assert_str_eq(fota_encryption_name(m.encryption), "A256GCM-chunk");
	fota_manifest_delta_view(&m, &v);
	ck_assert_int_eq(v.encryption, FOTA_ENCRYPTION_A256GCM_CHUNK);
	ck_assert_int_eq(fota_manifest_to_json(&m, &json, &err), FOTA_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"encryption\":{\"alg\":\"A256GCM-chunk\","
					   "\"key_wrap\":\"ECDH-ES+A256KW\"}"));
	ck_assert_ptr_nonnull(strstr(json, "\"critical\":[\"image.encryption\"]"));
	free(json);
	m.encryption = FOTA_ENCRYPTION_NONE;
	ck_assert_int_eq(fota_manifest_to_json(&m, &json, &err), FOTA_OK);
	ck_assert_ptr_null(strstr(json, "encryption"));
	ck_assert_ptr_null(strstr(json, "critical"));
	free(json);
	m.encryption = (enum fota_encryption)7;
	ck_assert_int_eq(fota_manifest_validate(&m, &err), FOTA_ERR_FIELD);
	ck_assert_str_eq(err.msg, "manifest rejected: image.encryption 7 unknown");
}
END_TEST

START_TEST(test_good_fields)
{
	struct fota_manifest m;
	char hex[FOTA_SHA256_HEX_LEN + 1];
	int64_t t;

	load_good(&m);
	ck_assert_uint_eq(m.sequence, 42);
	ck_assert_int_eq(fota_time_parse("2026-11-26T12:00:00Z", &t, NULL), FOTA_OK);
	ck_assert_int_eq(m.created, t);
	ck_assert_int_eq(m.expires, t + 365 * 86400);
	ck_assert_str_eq(m.vendor, "acme");
	ck_assert_str_eq(m.model, "gw-100");
	ck_assert_uint_eq(m.n_hw_revisions, 2);
	ck_assert_str_eq(m.hw_revisions[1], "rev-c");
	ck_assert_uint_eq(m.n_accepts_versions, 2);
	ck_assert_str_eq(m.accepts_versions[0], "1.3.0");
	ck_assert_str_eq(m.name, "gw-100-rootfs");
	ck_assert_str_eq(m.version, "1.4.0");
	ck_assert_uint_eq(m.size, 1000000);
	fota_hex_encode(m.sha256, FOTA_SHA256_LEN, hex);
	ck_assert_str_eq(hex, "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4");
	ck_assert_uint_eq(m.chunk_size, 65536);
	ck_assert_uint_eq(m.chunk_count, 16);
	fota_hex_encode(m.table_sha256, FOTA_SHA256_LEN, hex);
	ck_assert_str_eq(hex, "a3f1c2d4e5b60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90");
	ck_assert_int_eq(m.compression, FOTA_COMPRESSION_ZSTD);
	ck_assert(m.has_delta_base);
	ck_assert_uint_eq(m.from_sha256[0], 0x01);
	ck_assert_int_eq(m.install_method, FOTA_INSTALL_AB_SLOT);
	ck_assert_uint_eq(m.n_install_params, 3);
	ck_assert_str_eq(fota_manifest_param(&m, "slot_b"), "/dev/mmcblk0p3");
	ck_assert_ptr_null(fota_manifest_param(&m, "slot_c"));
	ck_assert(m.reboot);
	ck_assert_uint_eq(m.confirm_timeout_s, 600);
	ck_assert(!m.allow_downgrade);
	ck_assert_str_eq(fota_install_method_name(m.install_method), "ab-slot");
	ck_assert_str_eq(fota_compression_name(FOTA_COMPRESSION_NONE), "none");
	ck_assert_str_eq(fota_install_method_name((enum fota_install_method)9), "unknown");
}
END_TEST

START_TEST(test_minimal_defaults)
{
	struct fota_manifest m;
	struct fota_error err = {0};
	size_t len;
	uint8_t *buf = slurp("good-minimal.json", &len);

	ck_assert_int_eq(fota_manifest_parse(buf, len, &m, &err), FOTA_OK);
	free(buf);
	ck_assert_uint_eq(m.n_hw_revisions, 0);
	ck_assert_uint_eq(m.n_accepts_versions, 0);
	ck_assert(!m.has_delta_base);
	ck_assert_uint_eq(m.n_install_params, 0);
	ck_assert(!m.allow_downgrade);
	ck_assert_int_eq(m.install_method, FOTA_INSTALL_FILE);
}
END_TEST

/* The byte limit applies before parsing; exactly at the limit is still accepted. */
START_TEST(test_size_limit)
{
	struct fota_manifest m;
	struct fota_error err = {0};
	size_t len;
	uint8_t *good = slurp("good.json", &len);
	uint8_t *buf = malloc(FOTA_MAX_MANIFEST_BYTES + 1);

	ck_assert_ptr_nonnull(buf);
	memset(buf, ' ', FOTA_MAX_MANIFEST_BYTES + 1);
	memcpy(buf, good, len);
	ck_assert_int_eq(fota_manifest_parse(buf, FOTA_MAX_MANIFEST_BYTES, &m, &err), FOTA_OK);
	ck_assert_int_eq(fota_manifest_parse(buf, FOTA_MAX_MANIFEST_BYTES + 1, &m, &err),
			 FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "16385 bytes, limit 16384"));
	free(buf);
	free(good);
}
END_TEST

START_TEST(test_nul_and_empty)
{
	struct fota_manifest m;
	struct fota_error err = {0};
	size_t len;
	uint8_t *buf = slurp("good.json", &len);

	/* A NUL would otherwise end the parse early and hide the rest of the document. */
	buf[len - 2] = '\0';
	ck_assert_int_eq(fota_manifest_parse(buf, len, &m, &err), FOTA_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "NUL byte"));
	ck_assert_int_eq(fota_manifest_parse(buf, 0, &m, &err), FOTA_ERR_PARSE);
	ck_assert_int_eq(fota_manifest_parse(NULL, 5, &m, &err), FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_manifest_parse(buf, len, NULL, &err), FOTA_ERR_INVAL);
	free(buf);
}
END_TEST

START_TEST(test_validate_struct)
{
	struct fota_manifest m;
	struct fota_error err = {0};
	char *json = (char *)1;

	load_good(&m);
	m.size = 8 * 1024;
	m.chunk_size = 1024;
	m.chunk_count = 9;
	ck_assert_int_eq(fota_manifest_validate(&m, &err), FOTA_ERR_FIELD);
	ck_assert_str_eq(err.msg,
			 "manifest rejected: image.chunk_count 9 != ceil(size/chunk_size) 8");
	/* Serialization validates first and leaves no output behind. */
	ck_assert_int_eq(fota_manifest_to_json(&m, &json, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_null(json);

	load_good(&m);
	m.expires = m.created;
	ck_assert_int_eq(fota_manifest_validate(&m, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not after created"));

	load_good(&m);
	memset(m.vendor, 'v', sizeof(m.vendor)); /* unterminated */
	ck_assert_int_eq(fota_manifest_validate(&m, &err), FOTA_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "target.vendor"));

	load_good(&m);
	strcpy(m.install_params[1].key, m.install_params[0].key);
	ck_assert_int_eq(fota_manifest_validate(&m, &err), FOTA_ERR_FIELD);
	ck_assert_ptr_nonnull(strstr(err.msg, "repeated"));

	load_good(&m);
	m.install_method = (enum fota_install_method)7;
	ck_assert_int_eq(fota_manifest_validate(&m, &err), FOTA_ERR_FIELD);

	load_good(&m);
	m.sequence = 9007199254740992ull;
	ck_assert_int_eq(fota_manifest_validate(&m, &err), FOTA_ERR_FIELD);

	load_good(&m);
	m.created = -1;
	ck_assert_int_eq(fota_manifest_validate(&m, &err), FOTA_ERR_FIELD);
	ck_assert_int_eq(fota_manifest_validate(NULL, &err), FOTA_ERR_INVAL);
}
END_TEST

struct device_case {
	const char *name;
	void (*tweak)(struct fota_manifest *m, struct fota_device_info *d);
	fota_err code;
	const char *msg;
};

static void tw_none(struct fota_manifest *m, struct fota_device_info *d)
{
	(void)m;
	(void)d;
}

static void tw_expired(struct fota_manifest *m, struct fota_device_info *d)
{
	ck_assert_int_eq(fota_time_parse("2026-01-01T00:00:00Z", &m->expires, NULL), FOTA_OK);
	m->created = m->expires - 86400;
	d->now = m->expires + 1;
}

static void tw_expires_now(struct fota_manifest *m, struct fota_device_info *d)
{
	d->now = m->expires;
}

static void tw_expired_and_old(struct fota_manifest *m, struct fota_device_info *d)
{
	d->now = m->expires + 1;
	d->installed_sequence = 100;
}

static void tw_rollback(struct fota_manifest *m, struct fota_device_info *d)
{
	m->sequence = 41;
	d->installed_sequence = 42;
}

static void tw_same_sequence(struct fota_manifest *m, struct fota_device_info *d)
{
	d->installed_sequence = m->sequence;
}

static void tw_downgrade_allowed(struct fota_manifest *m, struct fota_device_info *d)
{
	m->sequence = 41;
	m->allow_downgrade = true;
	d->installed_sequence = 42;
}

static void tw_vendor(struct fota_manifest *m, struct fota_device_info *d)
{
	(void)m;
	d->vendor = "globex";
}

static void tw_model(struct fota_manifest *m, struct fota_device_info *d)
{
	strcpy(m->model, "gw-200");
	(void)d;
}

static void tw_hw(struct fota_manifest *m, struct fota_device_info *d)
{
	(void)m;
	d->hw_revision = "rev-a";
}

static void tw_hw_any(struct fota_manifest *m, struct fota_device_info *d)
{
	m->n_hw_revisions = 0;
	d->hw_revision = "rev-z";
}

static void tw_version(struct fota_manifest *m, struct fota_device_info *d)
{
	(void)m;
	d->current_version = "1.2.9";
}

static void tw_version_none(struct fota_manifest *m, struct fota_device_info *d)
{
	(void)m;
	d->current_version = NULL;
}

static void tw_version_any(struct fota_manifest *m, struct fota_device_info *d)
{
	m->n_accepts_versions = 0;
	d->current_version = "";
}

static const struct device_case device_cases[] = {
    {"compatible", tw_none, FOTA_OK, ""},
    {"expired", tw_expired, FOTA_ERR_EXPIRED, "manifest rejected: expired at 2026-01-01T00:00:00Z"},
    {"expires exactly now", tw_expires_now, FOTA_ERR_EXPIRED, "expired at 2027-11-26T12:00:00Z"},
    {"expiry checked first", tw_expired_and_old, FOTA_ERR_EXPIRED, "expired at"},
    {"rollback", tw_rollback, FOTA_ERR_ROLLBACK, "manifest rejected: sequence 41 <= installed 42"},
    {"same sequence", tw_same_sequence, FOTA_ERR_ROLLBACK, "sequence 42 <= installed 42"},
    {"downgrade allowed", tw_downgrade_allowed, FOTA_OK, ""},
    {"vendor", tw_vendor, FOTA_ERR_INCOMPATIBLE, "manifest rejected: vendor 'acme' not 'globex'"},
    {"model", tw_model, FOTA_ERR_INCOMPATIBLE, "manifest rejected: model 'gw-200' not 'gw-100'"},
    {"hw revision", tw_hw, FOTA_ERR_INCOMPATIBLE, "hw revision 'rev-a' not in"},
    {"any hw revision", tw_hw_any, FOTA_OK, ""},
    {"current version", tw_version, FOTA_ERR_INCOMPATIBLE,
     "current version '1.2.9' not in accepts_versions"},
    {"nothing installed", tw_version_none, FOTA_ERR_INCOMPATIBLE, "current version '(none)'"},
    {"any current version", tw_version_any, FOTA_OK, ""},
};

START_TEST(test_check_device)
{
	const struct device_case *c = &device_cases[_i];
	struct fota_manifest m;
	struct fota_device_info d = {
	    .vendor = "acme",
	    .model = "gw-100",
	    .hw_revision = "rev-c",
	    .current_version = "1.3.1",
	    .installed_sequence = 40,
	};
	struct fota_error err = {0};
	fota_err rc;

	load_good(&m);
	d.now = m.created + 60;
	c->tweak(&m, &d);
	rc = fota_manifest_check_device(&m, &d, &err);
	ck_assert_msg(rc == c->code, "%s: got %s (%s)", c->name, fota_strerror(rc), err.msg);
	if (rc != FOTA_OK)
		ck_assert_msg(strstr(err.msg, c->msg) != NULL, "%s: '%s' lacks '%s'", c->name,
			      err.msg, c->msg);
}
END_TEST

static Suite *manifest_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_bad_file, 0, TU_N(bad_cases));
	tcase_add_test(tc, test_every_bad_file_in_table);
	tcase_add_loop_test(tc, test_good_file_round_trip, 0,
			    (int)(sizeof(good_files) / sizeof(good_files[0])));
	tcase_add_test(tc, test_good_fields);
	tcase_add_test(tc, test_delta_view);
	tcase_add_test(tc, test_encryption);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_nul_and_empty);
	tcase_add_test(tc, test_validate_struct);
	tcase_add_loop_test(tc, test_check_device, 0,
			    (int)(sizeof(device_cases) / sizeof(device_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(manifest_suite());
}
