/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: what differs between two configurations, and which of
 * it a running daemon can take without a restart (SIGHUP). */
#ifndef ORCH_CONFIG_DIFF_H
#define ORCH_CONFIG_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define ORCH_CONFIG_VALUE_MAX 96

struct orch_config_change {
	const char *section;
	const char *key;
	char from[ORCH_CONFIG_VALUE_MAX]; /* as the file spells it, cut to fit */
	char to[ORCH_CONFIG_VALUE_MAX];
	bool runtime; /* the daemon applies it at once; otherwise after a restart */
};

/* The settings whose values differ from a to b, in the order of the help text, at most max of
 * them into out; returns how many differ. The process-unique client_id is not compared
 * (serve_client_id is). */
size_t orch_config_diff(const struct orch_config *a, const struct orch_config *b,
			struct orch_config_change *out, size_t max);

#endif
