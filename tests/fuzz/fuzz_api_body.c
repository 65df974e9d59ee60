/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the HTTP API's body parsers (campaign creation, a device's groups, a campaign
 * retry) with the same bytes: a refusal names a member or the whole body, an accepted body
 * gives values within their limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[FOTA_MAX_NAME_LEN + 1], field[ORCH_API_FIELD_MAX];
	char groups[64], device[FOTA_MAX_SEGMENT_LEN + 1];
	struct orch_campaign c;
	struct fota_error err = {0};
	bool force;
	fota_err rc;

	memset(&c, 0, sizeof(c));
	rc = orch_api_campaign_body((const char *)data, size, &c, id, &force, field, &err);
	if (rc == FOTA_OK) {
		if (!id[0] || strlen(id) > FOTA_MAX_NAME_LEN || c.n_stages < 1 ||
		    c.n_stages > ORCH_MAX_STAGES || !c.group[0] || !c.image_id[0])
			abort();
	} else if (rc != FOTA_ERR_PARSE && (rc != FOTA_ERR_FIELD || !field[0] || !err.msg[0])) {
		abort();
	}
	orch_campaign_clear(&c);

	rc = orch_api_groups_body((const char *)data, size, groups, sizeof(groups), field, &err);
	if (rc == FOTA_OK) {
		if (strlen(groups) >= sizeof(groups) || strpbrk(groups, ";|") ||
		    strstr(groups, ",,") || groups[0] == ',')
			abort();
	} else if (rc != FOTA_ERR_PARSE && (rc != FOTA_ERR_FIELD || !field[0] || !err.msg[0])) {
		abort();
	}
	rc = orch_api_retry_body((const char *)data, size, device, field, &err);
	if (rc == FOTA_OK) {
		if (strlen(device) > FOTA_MAX_SEGMENT_LEN)
			abort();
	} else if (rc != FOTA_ERR_PARSE && (rc != FOTA_ERR_FIELD || !field[0] || !err.msg[0])) {
		abort();
	}
	return 0;
}
