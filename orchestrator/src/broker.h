/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: broker session from the config, message routing. */
#ifndef ORCH_BROKER_H
#define ORCH_BROKER_H

#include <pthread.h>
#include <stdbool.h>

#include "fota/error.h"
#include "fota/mqtt.h"

#include "config.h"
#include "fleet.h"
#include "repair.h"

#define ORCH_CONNECT_TIMEOUT_MS 15000

/* Also sees every raw status message (the campaign engine queues it for the store). */
typedef void (*orch_status_hook_fn)(void *ctx, const char *device, const uint8_t *payload,
				    size_t len);

/* Where incoming device messages go. The lock lets a command detach repair and fleet before
 * freeing them while the MQTT thread may still be delivering. */
struct orch_routes {
	pthread_mutex_t lock;
	const char *prefix;
	struct orch_repair *repair;	 /* NULL: requests are ignored */
	struct orch_fleet *fleet;	 /* NULL: statuses are ignored */
	bool quiet;			 /* no connection-loss log lines */
	orch_status_hook_fn status_hook; /* NULL: none */
	void *status_ctx;
};

void orch_routes_init(struct orch_routes *r, const char *prefix);
void orch_routes_set(struct orch_routes *r, struct orch_repair *repair, struct orch_fleet *fleet);
void orch_routes_set_status_hook(struct orch_routes *r, orch_status_hook_fn fn, void *ctx);
/* After return no message is being delivered to the previous targets. */
void orch_routes_clear(struct orch_routes *r);
void orch_routes_destroy(struct orch_routes *r);

/* Checks that the TLS files of the [broker] settings (ca, cert, key) that are set can be
 * read, so that a wrong path is a configuration error (exit 2) naming the file, not a failed
 * TLS handshake. Callers check before orch_broker_connect. */
fota_err orch_broker_check_files(const struct orch_config *cfg, struct fota_error *err);

/* Connects with the [broker] settings; FOTA_ERR_MQTT (exit 4) when the broker cannot be
 * reached. routes must outlive the session. */
fota_err orch_broker_connect(const struct orch_config *cfg, struct orch_routes *routes,
			     struct fota_mqtt **out, struct fota_error *err);

/* Subscribes {prefix}/devices/+/{leaf} ("request" or "status"), as the shared subscription
 * $share/fota/... when shared is true so several orchestrators split the load. */
fota_err orch_broker_subscribe(struct fota_mqtt *m, const struct orch_config *cfg, const char *leaf,
			       bool shared, struct fota_error *err);

/* What serving repairs and status needs: the "status" subscription, then "request". */
fota_err orch_broker_subscribe_serving(struct fota_mqtt *m, const struct orch_config *cfg,
				       bool shared, struct fota_error *err);

#endif
