/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the status message parser; accepted messages must round-trip exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_status a, b;
	struct fota_error err;
	char *json = NULL;

	if (fota_status_parse(data, size, &a, &err) != FOTA_OK)
		return 0;
	if (fota_status_to_json(&a, &json, &err) != FOTA_OK)
		abort();
	if (fota_status_parse((const uint8_t *)json, strlen(json), &b, &err) != FOTA_OK ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(json);
	return 0;
}
