/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the group assignment parser and the serialize/parse round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/assignment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_assignment a, b;
	struct fota_error err;
	char *j1 = NULL, *j2 = NULL;

	if (fota_assignment_parse(data, size, &a, &err) != FOTA_OK)
		return 0;
	/* What parsed must serialize, and read back to the same document. */
	if (fota_assignment_to_json(&a, &j1, &err) != FOTA_OK)
		abort();
	if (fota_assignment_parse((const uint8_t *)j1, strlen(j1), &b, &err) != FOTA_OK ||
	    fota_assignment_to_json(&b, &j2, &err) != FOTA_OK || strcmp(j1, j2) != 0)
		abort();
	free(j1);
	free(j2);
	return 0;
}
