/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the repair request parser; accepted requests stay within limits and round-trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_request a, b;
	struct fota_error err;
	char *json = NULL;

	if (fota_request_parse(data, size, &a, &err) != FOTA_OK)
		return 0;
	if (fota_request_total_chunks(&a) > FOTA_MAX_REQUEST_CHUNKS)
		abort();
	if (fota_request_to_json(&a, &json, &err) != FOTA_OK)
		abort();
	if (fota_request_parse((const uint8_t *)json, strlen(json), &b, &err) != FOTA_OK ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(json);
	return 0;
}
