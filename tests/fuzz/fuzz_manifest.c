/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the manifest parser; whatever it accepts must serialize and parse back identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fota_manifest a, b;
	struct fota_error err;
	struct fota_device_info dev = {.vendor = "acme", .model = "gw-100", .now = 1795694400};
	char *json = NULL;

	if (fota_manifest_parse(data, size, &a, &err) != FOTA_OK)
		return 0;
	fota_manifest_check_device(&a, &dev, &err);
	if (fota_manifest_to_json(&a, &json, &err) != FOTA_OK)
		abort();
	if (fota_manifest_parse((const uint8_t *)json, strlen(json), &b, &err) != FOTA_OK ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(json);
	return 0;
}
