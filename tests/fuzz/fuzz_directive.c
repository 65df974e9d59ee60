/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the directive parser, admission, and the serialize/parse round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/directive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_directive a, b;
	struct fota_error err;
	char *j1 = NULL, *j2 = NULL;

	if (fota_directive_parse(data, size, &a, &err) != FOTA_OK)
		goto out;
	fota_directive_admits(&a, "gw-0001");
	if (fota_directive_to_json(&a, &j1, &err) != FOTA_OK)
		abort();
	if (fota_directive_parse((const uint8_t *)j1, strlen(j1), &b, &err) != FOTA_OK ||
	    fota_directive_to_json(&b, &j2, &err) != FOTA_OK || strcmp(j1, j2) != 0)
		abort();
	fota_directive_clear(&b);
out:
	fota_directive_clear(&a);
	free(j1);
	free(j2);
	return 0;
}
