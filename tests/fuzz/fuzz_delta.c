/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the delta decode stage: the input is a delta payload (FOTADLT2: segments
 * of three zstd streams) applied to a fixed 64 KiB base read with pread from a temporary file.
 * Invariants: no crash, no read outside the base (the stage checks every length and seek
 * first; ASan would see a stray buffer access), output never past the image size, memory
 * within libFuzzer's RSS limit (chunk and window limits), and a documented answer with its
 * reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "decode_stages.h"
#include "fota/digest.h"

#define BASE_LEN (64u * 1024u)
#define IMAGE_SIZE (256u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int base_fd = -1;

static void open_base(void)
{
	char path[] = "/tmp/fuzz_delta.XXXXXX";
	uint8_t *b = malloc(BASE_LEN);
	uint32_t seed = 1;

	base_fd = mkstemp(path);
	if (base_fd < 0 || b == NULL)
		abort();
	unlink(path);
	for (size_t i = 0; i < BASE_LEN; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	if (write(base_fd, b, BASE_LEN) != (ssize_t)BASE_LEN)
		abort();
	free(b);
}

static fota_err count(void *ctx, const uint8_t *p, size_t len, struct fota_error *err)
{
	uint64_t *got = ctx;

	(void)p;
	(void)err;
	*got += len;
	if (*got > IMAGE_SIZE)
		abort(); /* the chain let output grow past the image */
	return FOTA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_chain c;
	struct fota_error err = {0};
	uint64_t got = 0;
	fota_err rc;

	if (base_fd < 0)
		open_base();
	memset(&c, 0, sizeof(c));
	if (decode_stage_delta_new(base_fd, BASE_LEN, &c.stages[c.n++], &err) != FOTA_OK)
		abort();
	c.out_size = IMAGE_SIZE;
	rc = decode_chain_run_mem(&c, data, size, count, &got, &err);
	decode_chain_clear(&c);
	if (rc == FOTA_OK ||
	    (rc != FOTA_ERR_DIGEST && rc != FOTA_ERR_PARSE && rc != FOTA_ERR_TOO_BIG))
		abort(); /* all-zero digest: nothing decodes to it; others are undocumented */
	if (err.msg[0] == '\0')
		abort();
	return 0;
}
