/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: sending group assignments over the running daemon's
 * own broker session, from the campaign engine, the renewal timer and the HTTP API alike. */
#ifndef ORCH_ASSIGNER_H
#define ORCH_ASSIGNER_H

#include <stdint.h>

#include "fota/error.h"
#include "fota/mqtt.h"
#include "fota/signer.h"

#include "broker.h"
#include "config.h"
#include "store.h"

struct orch_assigner;

/* Over session m, connected through routes; signer NULL: nothing can be sent (callers skip).
 * All are the daemon's and outlive the assigner. NULL on allocation failure. */
struct orch_assigner *orch_assigner_new(const struct orch_config *cfg, struct fota_mqtt *m,
					struct orch_routes *routes, struct fota_signer *signer);
void orch_assigner_free(struct orch_assigner *a);

/* Whether there is a key to sign with. */
bool orch_assigner_can_sign(const struct orch_assigner *a);

/* orch_assign_device over the daemon's session, one device at a time (any thread; st is the
 * caller's). Without a connected session it fails at once with FOTA_ERR_MQTT saying so,
 * rather than waiting for a publish timeout. */
fota_err orch_assigner_send(struct orch_assigner *a, struct orch_store *st, const char *device,
			    const char *also_left, struct orch_device *out, uint64_t *seq,
			    struct fota_error *err);

/* Publishes again the assignment of every registered device whose last one expires within
 * ORCH_ASSIGNMENT_RENEW_DAYS of now (orch_assign_due), one log line each. */
void orch_assigner_renew(struct orch_assigner *a, struct orch_store *st, int64_t now);

#endif
