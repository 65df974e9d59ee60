/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: what `serve` answers over HTTP (/metrics, /healthz,
 * /readyz), on a listener and a store handle of its own. */
#ifndef ORCH_ENDPOINTS_H
#define ORCH_ENDPOINTS_H

#include "fota/error.h"

#include "daemon.h"

struct orch_endpoints;

/* Opens a store handle of d's state directory and listens on its [http] listen; d must
 * outlive the result. */
fota_err orch_endpoints_new(struct orch_daemon *d, struct orch_endpoints **out,
			    struct fota_error *err);
/* Stops answering and frees; NULL is a no-op. */
void orch_endpoints_free(struct orch_endpoints *e);

#endif
