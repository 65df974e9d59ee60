/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: a device's registry groups, signed as its group
 * assignment and retained on its own topic. */
#ifndef ORCH_ASSIGN_H
#define ORCH_ASSIGN_H

#include <stdint.h>

#include "fota/assignment.h"
#include "fota/error.h"
#include "fota/mqtt.h"
#include "fota/signer.h"

#include "config.h"

/* How long a published assignment stays valid: a device offline for longer still applies
 * the one it last applied, and `device add` renews it. */
#define ORCH_ASSIGNMENT_DAYS 365

/* The comma-joined registry groups of a device as an assignment's list: FOTA_ERR_TOO_BIG for
 * more than FOTA_MAX_ASSIGNED_GROUPS, so the registry never holds what a device cannot
 * follow. */
fota_err orch_assign_groups(const char *groups_csv, struct fota_assignment *a,
			    struct fota_error *err);

struct orch_store;

/* Signs the assignment of device (the next of its sequence in the store, counter
 * "device:<id>"; valid from now for ORCH_ASSIGNMENT_DAYS) and publishes it retained, QoS 1, on
 * its assignment topic; *seq is the sequence it got. */
fota_err orch_assign_publish(struct fota_mqtt *mqtt, const struct orch_config *cfg,
			     struct orch_store *st, struct fota_signer *signer, const char *device,
			     const char *groups_csv, uint64_t *seq, struct fota_error *err);

#endif
