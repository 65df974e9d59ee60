/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: keeping Mosquitto's dynamic-security plugin in step
 * with the registry, over the broker's $CONTROL API. */
#ifndef ORCH_DYNSEC_H
#define ORCH_DYNSEC_H

#include "fota/error.h"
#include "fota/mqtt.h"

#include "broker.h"
#include "config.h"
#include "dynsec_batch.h"

/* How long the plugin may take to answer one command list. */
#define ORCH_DYNSEC_TIMEOUT_MS 10000

/*
 * Makes the broker grant device exactly: publishing its own status and requests, reading its
 * own chunks, assignment and key topics (role fota-device-<id>), and reading the topics of each
 * group in new_groups (comma-joined; dynsec group and role fota-group-<g>); it leaves the
 * dynsec groups of old_groups it no longer has. Creates what is missing; what exists already
 * is no error. m must be connected through routes (its control hook is used while this
 * runs). The plugin disconnects a client whose groups changed, so its next connection gets
 * the new rights.
 */
fota_err orch_dynsec_device(struct fota_mqtt *m, struct orch_routes *routes,
			    const struct orch_config *cfg, const char *device,
			    const char *old_groups, const char *new_groups, struct fota_error *err);

/* orch_dynsec_device for n devices, ORCH_DYNSEC_BATCH to a command list, in order: the same
 * grants, fewer round trips. Stops at the first device the broker does not grant as wanted;
 * err then names it and says why (those before it are granted). */
fota_err orch_dynsec_devices(struct fota_mqtt *m, struct orch_routes *routes,
			     const struct orch_config *cfg, const struct orch_dynsec_grant *g,
			     size_t n, struct fota_error *err);

#endif
