/* SPDX-License-Identifier: Apache-2.0 */
/* The decode chain (client/src/decode.h) and the installer table (installer.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "config.h"
#include "decode.h"
#include "decode_stages.h"
#include "fota/digest.h"
#include "fota/limits.h"
#include "installer.h"
#include "testutil.h"

/* Larger than three blocks and not a multiple of one, so every buffer fills and wraps. */
#define DATA_SIZE (3 * DECODE_BLOCK + 4321)

static char tmpdir[256];
static uint8_t *data;

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_decode");
	data = malloc(DATA_SIZE);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < DATA_SIZE; i++)
		data[i] = (uint8_t)(i * 7u + (i >> 11));
}

static void teardown(void)
{
	free(data);
	tu_tmpdir_remove(tmpdir);
}

static void expect_err(fota_err rc, fota_err want, const struct fota_error *err, const char *says)
{
	ck_assert_msg(rc == want, "rc %d, want %d: %s", (int)rc, (int)want, err->msg);
	ck_assert_msg(strstr(err->msg, says) != NULL, "'%s' does not say '%s'", err->msg, says);
}

/* A chain of n identity stages whose image is data[0..size) */
static void identity_chain(struct decode_chain *c, int n, uint64_t size)
{
	struct fota_error err = {0};

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(decode_stage_identity_new(&c->stages[c->n++], &err), FOTA_OK);
	c->out_size = size;
	fota_sha256(data, size, c->out_sha256);
}

START_TEST(test_chain_passes_through)
{
	struct decode_chain c;
	struct tu_sink out = {malloc(DATA_SIZE), 0, DATA_SIZE};
	struct fota_error err = {0};

	identity_chain(&c, _i, DATA_SIZE);
	ck_assert_msg(decode_chain_run_mem(&c, data, DATA_SIZE, tu_sink_write, &out, &err) ==
			  FOTA_OK,
		      "%s", err.msg);
	ck_assert_uint_eq(out.len, DATA_SIZE);
	ck_assert_mem_eq(out.p, data, DATA_SIZE);
	decode_chain_clear(&c);
	free(out.p);
}
END_TEST

START_TEST(test_chain_refuses_wrong_output)
{
	struct decode_chain c;
	struct tu_sink out = {malloc(DATA_SIZE), 0, DATA_SIZE};
	struct fota_error err = {0};
	fota_err rc;

	identity_chain(&c, 1, DATA_SIZE);
	switch (_i) {
	case 0: /* one byte short */
		rc = decode_chain_run_mem(&c, data, DATA_SIZE - 1, tu_sink_write, &out, &err);
		expect_err(rc, FOTA_ERR_DIGEST, &err, "output has");
		break;
	case 1: /* one byte long: stopped before it is written */
		c.out_size = DATA_SIZE - 1;
		rc = decode_chain_run_mem(&c, data, DATA_SIZE, tu_sink_write, &out, &err);
		expect_err(rc, FOTA_ERR_DIGEST, &err, "grows past");
		ck_assert_uint_le(out.len, DATA_SIZE - 1);
		break;
	default: /* same size, other bytes */
		c.out_sha256[0] ^= 1;
		rc = decode_chain_run_mem(&c, data, DATA_SIZE, tu_sink_write, &out, &err);
		expect_err(rc, FOTA_ERR_DIGEST, &err, "SHA-256");
		break;
	}
	decode_chain_clear(&c);
	free(out.p);
}
END_TEST

/* Into a file, and in place into a larger "slot" whose tail is left alone. */
START_TEST(test_chain_files)
{
	struct decode_chain c;
	struct fota_error err = {0};
	char in[512], out[512];
	uint8_t *stale = malloc(DATA_SIZE), *got;
	size_t len;

	ck_assert_ptr_nonnull(stale);
	memset(stale, 0xa5, DATA_SIZE);
	tu_path(in, sizeof(in), tmpdir, "payload");
	tu_path(out, sizeof(out), tmpdir, "slot");
	tu_write_file(in, data, DATA_SIZE - 100, 0600);
	tu_write_file(out, stale, DATA_SIZE, 0600);
	identity_chain(&c, 2, DATA_SIZE - 100);
	ck_assert_msg(decode_chain_run(&c, in, out, true, NULL, NULL, &err) == FOTA_OK, "%s",
		      err.msg);
	got = tu_read_file(out, &len);
	ck_assert_uint_eq(len, DATA_SIZE); /* in place: not truncated */
	ck_assert_mem_eq(got, data, DATA_SIZE - 100);
	ck_assert_mem_eq(got + DATA_SIZE - 100, stale, 100);
	free(got);
	tu_path(out, sizeof(out), tmpdir, "image");
	ck_assert_msg(decode_chain_run(&c, in, out, false, NULL, NULL, &err) == FOTA_OK, "%s",
		      err.msg);
	got = tu_read_file(out, &len);
	ck_assert_uint_eq(len, DATA_SIZE - 100);
	ck_assert_mem_eq(got, data, DATA_SIZE - 100);
	free(got);
	free(stale);
	decode_chain_clear(&c);
}
END_TEST

START_TEST(test_plain_manifest_is_identity)
{
	struct fota_manifest m = {0};
	struct decode_chain c;
	struct fota_error err = {0};

	m.size = 10;
	ck_assert_int_eq(decode_chain_for(&m, NULL, &c, &err), FOTA_OK);
	ck_assert(decode_chain_is_identity(&c));
	ck_assert(decode_payload_is_image(&m));
	ck_assert_uint_eq(c.out_size, 10);
	m.has_delta_base = true;
	ck_assert(!decode_payload_is_image(&m));
	expect_err(decode_chain_for(&m, NULL, &c, &err), FOTA_ERR_INCOMPATIBLE, &err, "base");
}
END_TEST

START_TEST(test_installer_table)
{
	static const char *const methods[] = {"file", "ab-slot", "script"};
	struct client_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	for (size_t i = 0; i < 3; i++) {
		const struct installer *in = installer_find(methods[i]);

		ck_assert_ptr_nonnull(in);
		ck_assert_str_eq(in->method, methods[i]);
		ck_assert_ptr_nonnull(in->config_missing(&cfg)); /* an empty config lacks it */
	}
	ck_assert(installer_find("ab-slot")->trial_boot);
	ck_assert(installer_find("ab-slot")->writes_target);
	ck_assert(!installer_find("file")->trial_boot);
	ck_assert(!installer_find("script")->writes_target);
	ck_assert_ptr_null(installer_find("flash"));
	snprintf(cfg.install_target, sizeof(cfg.install_target), "/x");
	ck_assert_ptr_null(installer_find("file")->config_missing(&cfg));
}
END_TEST

/* A zstd manifest for data[0..DATA_SIZE) and its chain. */
static void zstd_chain(struct decode_chain *c)
{
	struct fota_manifest m = {0};
	struct fota_error err = {0};

	m.compression = FOTA_COMPRESSION_ZSTD;
	m.decoded_size = DATA_SIZE;
	fota_sha256(data, DATA_SIZE, m.decoded_sha256);
	ck_assert(!decode_payload_is_image(&m));
	ck_assert_msg(decode_chain_for(&m, NULL, c, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_int_eq(c->n, 1);
	ck_assert_str_eq(c->stages[0]->name, "zstd");
}

static size_t compress(uint8_t *out, size_t cap, const uint8_t *in, size_t len, int level)
{
	size_t n = ZSTD_compress(out, cap, in, len, level);

	ck_assert(!ZSTD_isError(n));
	return n;
}

/* One frame, two concatenated frames, and the same truncated or corrupted. */
START_TEST(test_zstd)
{
	size_t cap = ZSTD_compressBound(DATA_SIZE) + 64, n;
	uint8_t *z = malloc(2 * cap);
	struct tu_sink out = {malloc(DATA_SIZE), 0, DATA_SIZE};
	struct decode_chain c;
	struct fota_error err = {0};
	fota_err rc;

	ck_assert_ptr_nonnull(z);
	zstd_chain(&c);
	switch (_i) {
	case 0:
		n = compress(z, cap, data, DATA_SIZE, 3);
		rc = decode_chain_run_mem(&c, z, n, tu_sink_write, &out, &err);
		ck_assert_msg(rc == FOTA_OK, "%s", err.msg);
		ck_assert_mem_eq(out.p, data, DATA_SIZE);
		break;
	case 1:
		n = compress(z, cap, data, DATA_SIZE / 3, 1);
		n += compress(z + n, cap, data + DATA_SIZE / 3, DATA_SIZE - DATA_SIZE / 3, 19);
		rc = decode_chain_run_mem(&c, z, n, tu_sink_write, &out, &err);
		ck_assert_msg(rc == FOTA_OK, "%s", err.msg);
		ck_assert_mem_eq(out.p, data, DATA_SIZE);
		break;
	case 2:
		n = compress(z, cap, data, DATA_SIZE, 3);
		rc = decode_chain_run_mem(&c, z, n - 1, tu_sink_write, &out, &err);
		expect_err(rc, FOTA_ERR_PARSE, &err, "ends inside a frame");
		break;
	case 3:
		n = compress(z, cap, data, DATA_SIZE, 3);
		z[n / 2] ^= 0x55;
		rc = decode_chain_run_mem(&c, z, n, tu_sink_write, &out, &err);
		ck_assert_msg(rc == FOTA_ERR_PARSE || rc == FOTA_ERR_DIGEST, "%d %s", (int)rc,
			      err.msg);
		break;
	default:
		rc = decode_chain_run_mem(&c, data, 1000, tu_sink_write, &out, &err);
		expect_err(rc, FOTA_ERR_PARSE, &err, "zstd");
		break;
	}
	decode_chain_clear(&c);
	free(out.p);
	free(z);
}
END_TEST

/* A frame header asking for a 16 MiB window is refused before anything is allocated for it. */
START_TEST(test_zstd_window_limit)
{
	/* magic, no content size, window descriptor 2^(10 + 14), an empty last raw block */
	static const uint8_t frame[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70, 0x01, 0x00, 0x00};
	static const uint8_t fits[] = {
	    0x28, 0xb5, 0x2f, 0xfd, 0x00, (FOTA_ZSTD_MAX_WINDOW_LOG - 10) << 3, 0x01, 0x00, 0x00};
	struct tu_sink out = {malloc(DATA_SIZE), 0, DATA_SIZE};
	struct decode_chain c;
	struct fota_error err = {0};

	zstd_chain(&c);
	expect_err(decode_chain_run_mem(&c, frame, sizeof(frame), tu_sink_write, &out, &err),
		   FOTA_ERR_TOO_BIG, &err, "window larger than this agent's 8 MiB limit");
	decode_chain_clear(&c);
	zstd_chain(&c);
	c.out_size = 0;
	ck_assert_msg(decode_chain_run_mem(&c, fits, sizeof(fits), tu_sink_write, &out, &err) ==
			  FOTA_ERR_DIGEST,
		      "%s", err.msg); /* decodes (to nothing), then is not the image */
	decode_chain_clear(&c);
	free(out.p);
}
END_TEST

static Suite *decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_chain_passes_through, 0, DECODE_MAX_STAGES + 1);
	tcase_add_loop_test(tc, test_chain_refuses_wrong_output, 0, 3);
	tcase_add_test(tc, test_chain_files);
	tcase_add_test(tc, test_plain_manifest_is_identity);
	tcase_add_test(tc, test_installer_table);
	tcase_add_loop_test(tc, test_zstd, 0, 5);
	tcase_add_test(tc, test_zstd_window_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(decode_suite());
}
