/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 as RFC 3629 defines it, the only encoding a JSON text may use (RFC 8259 8.1). */
#ifndef FOTA_UTF8_H
#define FOTA_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the one well-formed UTF-8 character at the start of s[0..n), 0 if there is
 * none: no overlong forms, no encoded surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 * On 0, *bad (may be NULL) is the offset of the first byte that cannot belong to it. */
size_t fota_utf8_char_len(const uint8_t *s, size_t n, size_t *bad);

#endif
