/* SPDX-License-Identifier: Apache-2.0 */
/* The syntax mistake on a rejected INI line, named in the user's terms. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fota/ini_hint.h"

#define LINE_MAX_SHOWN 60

bool fota_ini_syntax_hint(const char *path, int line, char *why, size_t size)
{
	char buf[1024], *s, *e;
	FILE *f = line > 0 ? fopen(path, "r") : NULL;
	int n = 0;
	bool found = false;

	if (f == NULL)
		return false;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (++n == line) {
			found = true;
			break;
		}
	fclose(f);
	if (!found)
		return false;
	for (s = buf; isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	if (*s == '[' && strchr(s, ']') == NULL) {
		snprintf(why, size, "'%.*s' has no closing ']'", LINE_MAX_SHOWN, s);
		return true;
	}
	if (*s && *s != '[' && *s != ';' && *s != '#' && strpbrk(s, "=:") == NULL) {
		snprintf(why, size, "'%.*s' is neither '[section]' nor 'key = value'",
			 LINE_MAX_SHOWN, s);
		return true;
	}
	return false;
}
