/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 well-formedness (RFC 3629, table 3-7 of the Unicode standard). */
#include "fota/utf8.h"

size_t fota_utf8_char_len(const uint8_t *s, size_t n, size_t *bad)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len;

	if (bad != NULL)
		*bad = 0;
	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range is narrower after these leads: it rules out overlong forms,
	 * surrogates and code points above U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; i < len; i++, lo = 0x80, hi = 0xbf)
		if (i >= n || s[i] < lo || s[i] > hi) {
			if (bad != NULL)
				*bad = i;
			return 0;
		}
	return len;
}
