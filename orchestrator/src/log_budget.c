/* SPDX-License-Identifier: Apache-2.0 */
/* A budget of log lines per second: every event within it, a count of the rest. */
#include "log_budget.h"

void orch_log_budget_init(struct orch_log_budget *b, unsigned per_s)
{
	b->per_s = per_s;
	b->second_start_ms = INT64_MIN;
	b->used = 0;
	b->held = 0;
}

bool orch_log_budget_take(struct orch_log_budget *b, int64_t now_ms, unsigned long *held_out)
{
	*held_out = 0;
	if (b->second_start_ms == INT64_MIN || now_ms - b->second_start_ms >= 1000) {
		b->second_start_ms = now_ms;
		b->used = 0;
	}
	if (b->used >= b->per_s) {
		b->held++;
		return false;
	}
	b->used++;
	*held_out = b->held;
	b->held = 0;
	return true;
}
