/* SPDX-License-Identifier: Apache-2.0 */
/* base64url without padding: the encoding of every JWS part, with a decoder that has one
 * accepted spelling per byte string, so a signature cannot be re-encoded into a second form. */
#include <stdlib.h>
#include <string.h>

#include "fota/b64url.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *fota_b64url_encode(const uint8_t *in, size_t len)
{
	size_t full = len / 3, rest = len % 3, o = 0;
	char *out;

	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	out = malloc(full * 4 + (rest ? rest + 1 : 0) + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < full * 3; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (rest) {
		uint32_t v = (uint32_t)in[full * 3] << 16;

		if (rest == 2)
			v |= (uint32_t)in[full * 3 + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		if (rest == 2)
			out[o++] = alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

fota_err fota_b64url_decode(const char *in, size_t len, uint8_t **out, size_t *out_len,
			    struct fota_error *err)
{
	uint8_t *buf = NULL;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	*out = NULL;
	*out_len = 0;
	/* One leftover character carries only 6 bits: no byte string encodes to that length. */
	if (len % 4 == 1)
		return fota_error_set(err, FOTA_ERR_PARSE, "base64url length %zu is impossible",
				      len);
	buf = malloc(len / 4 * 3 + 3);
	if (buf == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory decoding base64url");
	for (size_t i = 0; i < len; i++) {
		int v = sextet(in[i]);

		if (v < 0) {
			unsigned char c = (unsigned char)in[i];

			free(buf);
			if (c == '=')
				return fota_error_set(err, FOTA_ERR_PARSE,
						      "base64url must not be padded (offset %zu)",
						      i);
			if (c > 0x20 && c < 0x7f)
				return fota_error_set(
				    err, FOTA_ERR_PARSE,
				    "invalid base64url character '%c' at offset %zu", c, i);
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "invalid base64url byte 0x%02x at offset %zu", c, i);
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, otherwise two strings would decode to the same bytes. */
	if (acc != 0) {
		free(buf);
		return fota_error_set(err, FOTA_ERR_PARSE,
				      "base64url has non-zero trailing bits (not canonical)");
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return FOTA_OK;
}
