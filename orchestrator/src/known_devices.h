/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the devices the store knows, and their last state. */
#ifndef ORCH_KNOWN_DEVICES_H
#define ORCH_KNOWN_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "fota/error.h"
#include "fota/status.h"

#include "store.h"

/* Device ids, sorted, each once. */
struct orch_known {
	char (*ids)[FOTA_MAX_SEGMENT_LEN + 1];
	size_t n, cap;
	bool oom;
};

/* Every device of the registry and every device admitted to a campaign (active_only: only
 * the devices admitted to active campaigns, whose reports the engine still waits for). */
fota_err orch_known_devices(struct orch_store *st, bool active_only, struct orch_known *out,
			    struct fota_error *err);
void orch_known_free(struct orch_known *k);

/* What the store last recorded of device id, as a status: presence and version from the
 * registry, state, result, reason and progress from its most recently updated campaign.
 * FOTA_ERR_NOT_FOUND when the store has neither. timestamp is the store's time of it. */
fota_err orch_known_status(struct orch_store *st, const char *id, struct fota_status *out,
			   struct fota_error *err);

#endif
