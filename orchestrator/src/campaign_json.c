/* SPDX-License-Identifier: Apache-2.0 */
/* A campaign's head and device counts as JSON: one spelling for `campaign status --json` and
 * the HTTP API, so the two cannot drift apart. */
#include <cjson/cJSON.h>

#include "fota/status.h"

#include "campaign_json.h"

cJSON *orch_counts_json(const struct orch_counts *k)
{
	cJSON *o = cJSON_CreateObject(), *st = cJSON_CreateObject();
	int i;

	cJSON_AddNumberToObject(o, "admitted", k->admitted);
	cJSON_AddNumberToObject(o, "reported", k->reported);
	cJSON_AddNumberToObject(o, "confirmed", k->confirmed);
	cJSON_AddNumberToObject(o, "failed", k->failed);
	cJSON_AddNumberToObject(o, "failed_since_resume", k->failed_now);
	cJSON_AddNumberToObject(o, "in_flight", k->in_flight);
	cJSON_AddNumberToObject(o, "aborted", k->aborted);
	cJSON_AddNumberToObject(o, "timed_out", k->timed_out);
	cJSON_AddNumberToObject(o, "skipped", k->skipped);
	cJSON_AddNumberToObject(o, "incompatible", k->incompatible);
	for (i = 0; i < FOTA_STATE__COUNT; i++)
		if (k->by_state[i])
			cJSON_AddNumberToObject(st, fota_state_name((enum fota_state)i),
						k->by_state[i]);
	cJSON_AddItemToObject(o, "states", st);
	return o;
}

cJSON *orch_campaign_head_json(const struct orch_campaign *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "campaign", c->id);
	cJSON_AddStringToObject(o, "state", orch_cstate_name(c->state));
	cJSON_AddStringToObject(o, "reason", c->reason);
	cJSON_AddStringToObject(o, "image", c->image_id);
	cJSON_AddStringToObject(o, "group", c->group);
	cJSON_AddNumberToObject(o, "stage", c->stage + 1);
	cJSON_AddNumberToObject(o, "stages_total", c->n_stages);
	cJSON_AddNumberToObject(o, "percent", c->cur_percent);
	return o;
}

cJSON *orch_payload_json(const struct orch_payload_choice *p, const char *last)
{
	cJSON *o = cJSON_CreateObject();

	if (p->has_delta) {
		cJSON_AddStringToObject(o, "delta", p->delta_id);
		cJSON_AddStringToObject(o, "base", p->base_id);
	} else {
		cJSON_AddNullToObject(o, "delta");
		cJSON_AddNullToObject(o, "base");
	}
	if (p->base_known)
		cJSON_AddStringToObject(o, "base_version", p->base_version);
	else
		cJSON_AddNullToObject(o, "base_version");
	cJSON_AddNumberToObject(o, "waiting", p->waiting);
	cJSON_AddNumberToObject(o, "on_base", p->on_base);
	cJSON_AddStringToObject(o, "broadcast", p->delta ? "delta" : "full");
	if (last && last[0])
		cJSON_AddStringToObject(o, "last_choice", last);
	else
		cJSON_AddNullToObject(o, "last_choice");
	return o;
}
