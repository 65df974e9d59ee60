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

#endif
