/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the device registry as the CLI (`device`) and the HTTP
 * API change and show it: one rule for a device's groups, one JSON shape for a device. */
#ifndef ORCH_DEVICE_SERVICE_H
#define ORCH_DEVICE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fota/error.h"
#include "fota/topics.h"

#include "config.h"
#include "store.h"

/* A device as `device list|show --json` and the API print it: {"device", "model", "hw",
 * "version", "groups" (comma-joined), "online", "last_seen" (Unix seconds, null if never),
 * "last_seen_time" (the same as an RFC 3339 UTC string, or null)}; the caller owns it. */
cJSON *orch_device_json(const struct orch_device *d);

/* The registry (group NULL: every device; else its members) as an array of
 * orch_device_json, sorted by id. */
fota_err orch_devices_json(struct orch_store *st, const char *group, cJSON **out,
			   struct fota_error *err);

/* Groups as an operator types them: names separated by ',', ';' or '|', each a topic segment
 * ([A-Za-z0-9._-]), at most FOTA_MAX_ASSIGNED_GROUPS (what a device can follow). out gets
 * them comma-joined. FOTA_ERR_FIELD or FOTA_ERR_TOO_BIG saying why. */
fota_err orch_device_groups_parse(const char *in, char *out, size_t size, struct fota_error *err);

/* Devices whose registry groups a change set: each is then sent its assignment. */
struct orch_assign_entry {
	char id[FOTA_MAX_SEGMENT_LEN + 1];
	char old_groups[sizeof(((struct orch_device *)0)->groups)]; /* before the change */
};

struct orch_assign_list {
	struct orch_assign_entry *e;
	size_t n, cap;
};

fota_err orch_assign_list_add(struct orch_assign_list *l, const char *id, const char *old_groups,
			      struct fota_error *err);
void orch_assign_list_free(struct orch_assign_list *l);

/* Within the caller's transaction: stores d (id already checked), keeping the presence (last
 * seen, online) a known device's reports gave it; groups are set when set_groups, and the
 * device then goes into *changed (may be NULL) with the groups it had. */
fota_err orch_device_store(struct orch_store *st, struct orch_device *d, bool set_groups,
			   struct orch_assign_list *changed, struct fota_error *err);

/* Within the caller's transaction, after the device is stored: checks cert_pem as
 * orch_device_cert_check does against device_ca (orch_config_device_ca) at now, and keeps it
 * as the certificate of device id. FOTA_ERR_FIELD saying why it is refused. */
fota_err orch_device_cert_register(struct orch_store *st, const char *id, const char *cert_pem,
				   const char *device_ca, int64_t now, struct fota_error *err);

/* `device add`: registers d->id (FOTA_ERR_FIELD unless a topic segment) with d's model, hw
 * and version; groups NULL leaves its groups alone, else they are parsed as
 * orch_device_groups_parse and set; cert_pem NULL leaves its certificate alone, else it is
 * registered as orch_device_cert_register (against device_ca, now). One transaction: a
 * refused certificate registers nothing. */
fota_err orch_device_add(struct orch_store *st, struct orch_device *d, const char *groups,
			 const char *cert_pem, const char *device_ca,
			 struct orch_assign_list *changed, struct fota_error *err);

/* Sets the groups of registered device id (FOTA_ERR_NOT_FOUND otherwise), all else kept,
 * with a device event (campaign "", kind "groups", detail "OLD -> NEW by ACTOR") in the same
 * transaction: on any error nothing changes. *out is the device as stored. */
fota_err orch_device_set_groups(struct orch_store *st, const char *id, const char *groups,
				const char *actor, struct orch_device *out,
				struct orch_assign_list *changed, struct fota_error *err);

/* After the registry committed: with [broker] access = dynsec, first brings the broker's
 * grants to each listed device's groups as read back from the registry, then signs and
 * publishes them as its assignment, over a connection of its own as client_id_suffix appended
 * to [broker] client_id ("" for none). Without an orchestrator key nothing is published and
 * *published is false. progress: one line per assignment on stderr. On error err says which
 * device and why; FOTA_ERR_MQTT when the broker is gone. */
fota_err orch_device_assignments_publish(const struct orch_config *cfg, struct orch_store *st,
					 const struct orch_assign_list *l,
					 const char *client_id_suffix, bool progress,
					 bool *published, struct fota_error *err);

#endif
