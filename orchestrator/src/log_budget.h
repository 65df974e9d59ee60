/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: a budget of log lines per second for events that come
 * by the thousand at fleet scale (one line per device status change). Within the budget every
 * event is a line; beyond it the events are counted, and the first line of a later second
 * says how many were not written. Not thread-safe: one caller (the MQTT thread). */
#ifndef ORCH_LOG_BUDGET_H
#define ORCH_LOG_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct orch_log_budget {
	unsigned per_s;		 /* lines allowed per second */
	int64_t second_start_ms; /* the current second, monotonic */
	unsigned used;		 /* lines written in it */
	unsigned long held;	 /* events not written since the last line */
};

void orch_log_budget_init(struct orch_log_budget *b, unsigned per_s);

/* True if the event at now_ms may be a line; then *held_out is how many events before it
 * were not written (0 most of the time), for the caller to say so. False: it was counted. */
bool orch_log_budget_take(struct orch_log_budget *b, int64_t now_ms, unsigned long *held_out);

#endif
