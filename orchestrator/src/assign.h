/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: a device's registry groups, signed as its group
 * assignment and retained on its own topic. */
#ifndef ORCH_ASSIGN_H
#define ORCH_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/assignment.h"
#include "fota/error.h"
#include "fota/mqtt.h"
#include "fota/signer.h"

#include "config.h"

/* How long a published assignment stays valid: a device offline for longer still applies
 * the one it last applied, and `device add` renews it. */
#define ORCH_ASSIGNMENT_DAYS 365
/* `serve` publishes a device's assignment again once it expires within this many days. */
#define ORCH_ASSIGNMENT_RENEW_DAYS 30
/* A device that reported since its assignment was published, yet does not follow it, is sent
 * it again after this long (it may have been lost, or the device ignored it as not newer). */
#define ORCH_ASSIGNMENT_RETRY_S 600

/* The comma-joined registry groups of a device as an assignment's list: FOTA_ERR_TOO_BIG for
 * more than FOTA_MAX_ASSIGNED_GROUPS, so the registry never holds what a device cannot
 * follow. */
fota_err orch_assign_groups(const char *groups_csv, struct fota_assignment *a,
			    struct fota_error *err);

struct orch_store;
struct orch_routes;
struct orch_device;

/* True when the groups in the two comma-joined lists are the same set. */
bool orch_assign_same_groups(const char *a, const char *b);

/* Whether registered device d should be sent its assignment (again) at now: its last status
 * does not name exactly its registry groups, and either no assignment with those groups was
 * published, or one was and the device reported since without following it for
 * ORCH_ASSIGNMENT_RETRY_S. */
bool orch_assign_needed(const struct orch_device *d, int64_t now);

/* Whether d's assignment expires within ORCH_ASSIGNMENT_RENEW_DAYS of now. */
bool orch_assign_due(const struct orch_device *d, int64_t now);

/* The next sequence of device's assignments from the store (counter "device:<id>"), durable
 * before anything carries it (directive_seq_next): inside the caller's transaction, that
 * transaction's commit. */
fota_err orch_assign_seq(struct orch_store *st, const char *device, uint64_t *seq,
			 struct fota_error *err);

/* Signs the assignment of device to groups_csv with sequence seq (valid from now for
 * ORCH_ASSIGNMENT_DAYS) and publishes it retained, QoS 1, on its assignment topic; *a is the
 * assignment sent. The store is left alone. */
fota_err orch_assign_send(struct fota_mqtt *mqtt, const struct orch_config *cfg,
			  struct fota_signer *signer, const char *device, const char *groups_csv,
			  uint64_t seq, struct fota_assignment *a, struct fota_error *err);

/* Signs the assignment of device (the next of its sequence in the store, counter
 * "device:<id>"; valid from now for ORCH_ASSIGNMENT_DAYS), publishes it retained, QoS 1, on
 * its assignment topic and records it in the store (device_assignment_put); *seq is the
 * sequence it got. */
fota_err orch_assign_publish(struct fota_mqtt *mqtt, const struct orch_config *cfg,
			     struct orch_store *st, struct fota_signer *signer, const char *device,
			     const char *groups_csv, uint64_t *seq, struct fota_error *err);

/*
 * Everything a registered device needs to follow its registry groups: with [broker] access =
 * dynsec the broker's grants first (orch_dynsec_device; the groups it leaves are those of its
 * last assignment and also_left, comma-joined, may be NULL), then orch_assign_publish. routes
 * is the one m was connected through. *out (may be NULL) is the device as read from the
 * registry.
 */
fota_err orch_assign_device(struct fota_mqtt *m, struct orch_routes *routes,
			    const struct orch_config *cfg, struct orch_store *st,
			    struct fota_signer *signer, const char *device, const char *also_left,
			    struct orch_device *out, uint64_t *seq, struct fota_error *err);

#endif
