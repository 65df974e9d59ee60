/* SPDX-License-Identifier: Apache-2.0 */
/* Says what is wrong with a line that an INI parser rejected, in the user's terms. */
#ifndef FOTA_INI_HINT_H
#define FOTA_INI_HINT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Reads line `line` (1-based) of the file at path and, when its syntax is wrong, writes why
 * into why ("'[broker' has no closing ']'", "'keepalive 30' is neither '[section]' nor
 * 'key = value'") and returns true. false when the line's syntax is fine (the error is in a
 * key or value) or the file cannot be read. A rejected section header matters: inih then
 * files the keys below it under the previous section, which would otherwise be what the
 * user is told about.
 */
bool fota_ini_syntax_hint(const char *path, int line, char *why, size_t size);

#endif
