/* SPDX-License-Identifier: Apache-2.0 */
/* The identity decode stage: output = input, as much as fits. */
#include <stdlib.h>
#include <string.h>

#include "decode_stages.h"

static fota_err identity_step(struct decode_stage *s, const uint8_t *in, size_t in_len,
			      size_t *consumed, uint8_t *out, size_t out_cap, size_t *produced,
			      struct fota_error *err)
{
	size_t n = in_len < out_cap ? in_len : out_cap;

	(void)s;
	(void)err;
	memcpy(out, in, n);
	*consumed = n;
	*produced = n;
	return FOTA_OK;
}

static fota_err identity_end(struct decode_stage *s, struct fota_error *err)
{
	(void)s;
	(void)err;
	return FOTA_OK;
}

static void identity_free(struct decode_stage *s)
{
	free(s);
}

fota_err decode_stage_identity_new(struct decode_stage **out, struct fota_error *err)
{
	struct decode_stage *s = calloc(1, sizeof(*s));

	*out = s;
	if (s == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "identity stage: out of memory");
	s->name = "identity";
	s->step = identity_step;
	s->end = identity_end;
	s->free = identity_free;
	return FOTA_OK;
}
