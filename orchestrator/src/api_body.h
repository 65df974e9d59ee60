/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the JSON request bodies of the HTTP API, parsed into
 * what the services take, with the offending field named on refusal. */
#ifndef ORCH_API_BODY_H
#define ORCH_API_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "fota/error.h"

#include "store.h"

#define ORCH_API_FIELD_MAX 32

/* POST /api/v1/campaigns: {"id":S, "image":S, "group":S, "stages":[S,...],
 * "fail_threshold":S?, "force":B?}, stages and fail_threshold spelled as the CLI's --stage
 * and --fail-threshold. Fills c (the caller clears it with orch_campaign_clear), id and
 * force. On refusal FOTA_ERR_PARSE (not strict JSON: see fota/json_text.h; or not an object)
 * or FOTA_ERR_FIELD, with field
 * naming the member ("" for the whole body) and err saying why. Nothing else is checked here:
 * orch_campaign_create validates the campaign. */
fota_err orch_api_campaign_body(const char *body, size_t len, struct orch_campaign *c,
				char id[FOTA_MAX_NAME_LEN + 1], bool *force,
				char field[ORCH_API_FIELD_MAX], struct fota_error *err);

/* PUT /api/v1/devices/{id}/groups: {"groups": [S, ...]}, each element one group name (no
 * ',', ';' or '|'); into groups comma-joined (at most size bytes with the NUL), an empty
 * array being no groups. The names themselves are checked by orch_device_groups_parse, the
 * CLI's rule. Refusals as orch_api_campaign_body. */
fota_err orch_api_groups_body(const char *body, size_t len, char *groups, size_t size,
			      char field[ORCH_API_FIELD_MAX], struct fota_error *err);

/* POST /api/v1/campaigns/{id}/retry: no body (len 0) or {"device": S?}; device "" means
 * every failed device. Refusals as orch_api_campaign_body. */
fota_err orch_api_retry_body(const char *body, size_t len, char device[FOTA_MAX_SEGMENT_LEN + 1],
			     char field[ORCH_API_FIELD_MAX], struct fota_error *err);

#endif
