/* SPDX-License-Identifier: Apache-2.0 */
/* base64url without padding (RFC 7515 section 2), strict decoder. */
#ifndef FOTA_B64URL_H
#define FOTA_B64URL_H

#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"

/* Returns a malloc'd NUL-terminated string (caller frees), NULL on allocation failure. */
char *fota_b64url_encode(const uint8_t *in, size_t len);

/* Decodes exactly len chars; refuses padding, whitespace, the standard alphabet's '+' '/',
 * impossible lengths and non-zero trailing bits. *out is malloc'd (caller frees), with a
 * NUL byte after the *out_len data bytes for convenience. */
fota_err fota_b64url_decode(const char *in, size_t len, uint8_t **out, size_t *out_len,
			    struct fota_error *err);

#endif
