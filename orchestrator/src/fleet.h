/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: latest status per device and the audit log. */
#ifndef ORCH_FLEET_H
#define ORCH_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/status.h"

#include "config.h"

struct orch_fleet;

/* Called (from the MQTT thread, outside the fleet lock) for every accepted status; prev is
 * NULL the first time a device is heard. */
typedef void (*orch_fleet_cb)(void *ctx, const struct fota_status *prev,
			      const struct fota_status *cur);

/* audit_cfg: record status changes in the audit trail of that configuration's store, through a
 * store handle and a writer thread of the fleet's own; NULL: no audit trail (read-only views
 * such as `status`). */
fota_err orch_fleet_new(const struct orch_config *audit_cfg, orch_fleet_cb cb, void *ctx,
			struct orch_fleet **out, struct fota_error *err);
/* Writes what the audit trail still holds and closes it; NULL is a no-op. */
void orch_fleet_free(struct orch_fleet *f);

/* A status message from {prefix}/devices/{device}/status. The device id comes from the topic
 * (the broker ACL ties it to the sender), never from the payload. Invalid messages are logged
 * and dropped. A change of state, result, campaign or image appends one struct orch_audit to
 * the audit trail: in order, in batches taken as soon as the writer is free (fleet.c). */
void orch_fleet_ingest(struct orch_fleet *f, const char *device, const uint8_t *payload,
		       size_t len);

/* Copy of a device's latest status and when it arrived (fota_time_mono_ms(), may be NULL);
 * false if never heard. */
bool orch_fleet_get(struct orch_fleet *f, const char *device, struct fota_status *out,
		    int64_t *received_ms);

/* Copies of all latest statuses sorted by device id; *out malloc'd (caller frees). Returns
 * the count, or (size_t)-1 on allocation failure. */
size_t orch_fleet_snapshot(struct orch_fleet *f, struct fota_status **out);

/* Progress of a status in percent, or -1 when it carries no chunk count. */
int orch_status_percent(const struct fota_status *s);

#endif
