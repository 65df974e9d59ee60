/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the decode chain's input path: a staged payload that verified against
 * its signed digest reaches the zstd stage as it came from the network. Invariants: no crash,
 * output never past the image size (the sink checks), a bounded window, and an answer from
 * the documented set (FOTA_OK only for an output of exactly the image's size and digest). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fota/digest.h"

/* The image size the harness's manifest claims: room for real output, small enough to run
 * fast. */
#define IMAGE_SIZE (256u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	uint64_t got;
};

static fota_err count(void *ctx, const uint8_t *p, size_t len, struct fota_error *err)
{
	struct sink *s = ctx;

	(void)p;
	(void)err;
	s->got += len;
	if (s->got > IMAGE_SIZE)
		abort(); /* the chain let output grow past the image */
	return FOTA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_manifest m;
	struct decode_chain c;
	struct fota_error err = {0};
	struct sink s = {0};
	fota_err rc;

	memset(&m, 0, sizeof(m));
	m.compression = FOTA_COMPRESSION_ZSTD;
	m.decoded_size = IMAGE_SIZE;
	if (decode_chain_for(&m, NULL, &c, &err) != FOTA_OK)
		abort();
	rc = decode_chain_run_mem(&c, data, size, count, &s, &err);
	decode_chain_clear(&c);
	if (rc == FOTA_OK || (rc != FOTA_ERR_DIGEST && rc != FOTA_ERR_PARSE &&
			      rc != FOTA_ERR_TOO_BIG && rc != FOTA_ERR_NOMEM))
		abort(); /* all-zero digest: no input decodes to it; others are undocumented */
	if (err.msg[0] == '\0')
		abort(); /* every refusal says why */
	return 0;
}
