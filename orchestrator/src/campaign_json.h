/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: campaign figures as JSON, shared by the CLI and the API. */
#ifndef ORCH_CAMPAIGN_JSON_H
#define ORCH_CAMPAIGN_JSON_H

#include <cjson/cJSON.h>

#include "campaign.h"
#include "payload_choice.h"

/* {"admitted", "reported", "confirmed", "failed", "failed_since_resume", "in_flight",
 * "aborted", "timed_out", "skipped", "incompatible", "states": {STATE: N, ...}}; the caller
 * owns the result. */
cJSON *orch_counts_json(const struct orch_counts *k);

/* A new object with what identifies a campaign and where it stands: {"campaign", "state",
 * "reason", "image", "group", "stage" (1-based), "stages_total", "percent"}; the caller adds
 * its own members and owns the result. */
cJSON *orch_campaign_head_json(const struct orch_campaign *c);

/* Which payload a broadcast for the campaign carries now, and what the last one carried:
 * {"delta" (id or null), "base" (id or null), "base_version" (null unless the base is stored),
 * "waiting", "on_base", "broadcast" ("delta" or "full"), "last_choice" (the latest `payload`
 * event's detail or null)}; the caller owns the result. */
cJSON *orch_payload_json(const struct orch_payload_choice *p, const char *last);

#endif
