/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the daemon's state in the Prometheus text exposition
 * format (docs/operations.md lists every metric). */
#ifndef ORCH_METRICS_H
#define ORCH_METRICS_H

#include <stddef.h>

#include "fota/error.h"

#include "daemon.h"
#include "fleet.h"
#include "store.h"

#define ORCH_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders the metrics from the daemon's statistics ds, the fleet view (NULL: no device
 * states) and the store st (read only; a handle of the caller's thread). *out is malloc'd,
 * NUL-terminated, *len bytes. */
fota_err orch_metrics_render(struct orch_store *st, struct orch_fleet *fleet,
			     const struct orch_daemon_stats *ds, char **out, size_t *len,
			     struct fota_error *err);

#endif
