/* SPDX-License-Identifier: Apache-2.0 */
/* The zstd decode stage: streaming decompression with a bounded window. */
#include <stdlib.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "decode_stages.h"
#include "fota/limits.h"

struct zstd_stage {
	struct decode_stage base;
	ZSTD_DCtx *dctx;
	size_t last; /* ZSTD_decompressStream's last hint: 0 once a frame ended exactly */
	bool started;
};

static fota_err zstd_fail(size_t r, struct fota_error *err)
{
	if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "frame needs a window larger than this agent's %u MiB "
				      "limit (windowLog %d): refused",
				      (1u << FOTA_ZSTD_MAX_WINDOW_LOG) >> 20,
				      FOTA_ZSTD_MAX_WINDOW_LOG);
	return fota_error_set(err, FOTA_ERR_PARSE, "%s", ZSTD_getErrorName(r));
}

static fota_err zstd_step(struct decode_stage *s, const uint8_t *in, size_t in_len,
			  size_t *consumed, uint8_t *out, size_t out_cap, size_t *produced,
			  struct fota_error *err)
{
	struct zstd_stage *z = (struct zstd_stage *)s;
	ZSTD_inBuffer ib = {in, in_len, 0};
	ZSTD_outBuffer ob = {out, out_cap, 0};
	size_t r;

	if (in_len == 0 && z->last == 0)
		r = 0; /* between frames, at the end: nothing buffered, nothing to flush */
	else
		r = ZSTD_decompressStream(z->dctx, &ob, &ib);
	if (ZSTD_isError(r))
		return zstd_fail(r, err);
	z->started = z->started || ib.pos > 0;
	z->last = r;
	*consumed = ib.pos;
	*produced = ob.pos;
	return FOTA_OK;
}

static fota_err zstd_end(struct decode_stage *s, struct fota_error *err)
{
	struct zstd_stage *z = (struct zstd_stage *)s;

	if (!z->started)
		return fota_error_set(err, FOTA_ERR_PARSE, "empty payload");
	if (z->last != 0)
		return fota_error_set(err, FOTA_ERR_PARSE, "payload ends inside a frame");
	return FOTA_OK;
}

static void zstd_free(struct decode_stage *s)
{
	struct zstd_stage *z = (struct zstd_stage *)s;

	ZSTD_freeDCtx(z->dctx);
	free(z);
}

fota_err decode_stage_zstd_new(struct decode_stage **out, struct fota_error *err)
{
	struct zstd_stage *z = calloc(1, sizeof(*z));

	*out = NULL;
	if (z == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "zstd stage: out of memory");
	z->dctx = ZSTD_createDCtx();
	if (z->dctx == NULL || ZSTD_isError(ZSTD_DCtx_setParameter(z->dctx, ZSTD_d_windowLogMax,
								   FOTA_ZSTD_MAX_WINDOW_LOG))) {
		ZSTD_freeDCtx(z->dctx);
		free(z);
		return fota_error_set(err, FOTA_ERR_NOMEM, "zstd stage: out of memory");
	}
	z->base.name = "zstd";
	z->base.step = zstd_step;
	z->base.end = zstd_end;
	z->base.free = zstd_free;
	*out = &z->base;
	return FOTA_OK;
}
