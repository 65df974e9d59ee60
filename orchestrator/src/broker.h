/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: broker session from the config, message routing. */
#ifndef ORCH_BROKER_H
#define ORCH_BROKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/limits.h"
#include "fota/mqtt.h"

#include "config.h"
#include "fleet.h"
#include "repair.h"

#define ORCH_CONNECT_TIMEOUT_MS 15000
/* Retry delays after a lost or failed connection: doubled from min up to max. */
#define ORCH_RECONNECT_MIN_MS 500u
#define ORCH_RECONNECT_MAX_MS 30000u

/* Also sees every raw status message (the campaign engine queues it for the store). */
typedef void (*orch_status_hook_fn)(void *ctx, const char *device, const uint8_t *payload,
				    size_t len);

/* Sees every message on a $CONTROL/... topic (broker plugin responses). */
typedef void (*orch_control_hook_fn)(void *ctx, const char *topic, const uint8_t *payload,
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
	/* orch_broker_shared_probe: the topic it watches ("" none) and whether it arrived. */
	char probe_topic[FOTA_MAX_TOPIC_LEN + 1];
	bool probe_seen;
	uint64_t oversize; /* messages dropped for exceeding fota_topic_payload_limit */
	orch_control_hook_fn control_hook; /* NULL: none */
	void *control_ctx;
};

void orch_routes_init(struct orch_routes *r, const char *prefix);
void orch_routes_set(struct orch_routes *r, struct orch_repair *repair, struct orch_fleet *fleet);
void orch_routes_set_status_hook(struct orch_routes *r, orch_status_hook_fn fn, void *ctx);
void orch_routes_set_control_hook(struct orch_routes *r, orch_control_hook_fn fn, void *ctx);
/* After return no message is being delivered to the previous targets. */
void orch_routes_clear(struct orch_routes *r);
void orch_routes_destroy(struct orch_routes *r);

/* Checks the [broker] settings before any connection, so that a mistake is a configuration
 * error (FOTA_ERR_FIELD, exit 2) naming its cause, not a failed TLS handshake: the TLS files
 * that are set (ca, cert, key) can be read, then fota_mqtt_check (URI scheme and host, PEM
 * contents, key matches certificate). Callers check before orch_broker_connect. */
fota_err orch_broker_check_files(const struct orch_config *cfg, struct fota_error *err);

/* Connects with the [broker] settings, one attempt. FOTA_ERR_FIELD when the settings cannot
 * work (fota_mqtt_check: URI scheme, files, key and certificate), FOTA_ERR_MQTT when the
 * broker cannot be reached. routes must outlive the session. */
fota_err orch_broker_connect(const struct orch_config *cfg, struct orch_routes *routes,
			     struct fota_mqtt **out, struct fota_error *err);

/* Like orch_broker_connect, but a daemon's: the first connection is retried with a doubling
 * delay (ORCH_RECONNECT_MIN_MS..MAX_MS), logging each failure, until it succeeds or orch_stop
 * is set (then FOTA_ERR_STATE). Only settings that cannot work end it (FOTA_ERR_FIELD). */
fota_err orch_broker_connect_patiently(const struct orch_config *cfg, struct orch_routes *routes,
				       struct fota_mqtt **out, struct fota_error *err);

/* The exit code for a failed connect: ORCH_EXIT_USAGE for bad settings, else BROKER. */
int orch_broker_exit(fota_err rc);

/* Subscribes {prefix}/devices/+/{leaf} ("request" or "status"), as the shared subscription
 * $share/fota/... when shared is true so several orchestrators split the load. */
fota_err orch_broker_subscribe(struct fota_mqtt *m, const struct orch_config *cfg, const char *leaf,
			       bool shared, struct fota_error *err);

/* What serving repairs and status needs: the "status" subscription, then "request". */
fota_err orch_broker_subscribe_serving(struct fota_mqtt *m, const struct orch_config *cfg,
				       bool shared, struct fota_error *err);

/* Subscribes each device's {prefix}/devices/<id>/status by its exact topic and drops the
 * subscription again once acknowledged, so the broker replays the retained status to the
 * session's routes: brokers that replay retained messages only to exact topics (RabbitMQ)
 * still tell a starting orchestrator what devices reported while it was away. A refused
 * subscription stops the replay (returned); the statuses delivered so far stay. */
fota_err orch_broker_replay_statuses(struct fota_mqtt *m, const struct orch_config *cfg,
				     const char (*ids)[FOTA_MAX_SEGMENT_LEN + 1], size_t n,
				     struct fota_error *err);

/* Whether the broker delivers through shared subscriptions ($share/fota/...): subscribes one
 * on {prefix}/probe/<client id>, publishes there and waits up to 3 s. false, with the reason
 * in why, when the broker refused the subscription (or closed the connection to refuse it;
 * the session then reconnects by itself) or treated "$share/" as an ordinary topic (the probe
 * never arrived). routes must be the session's. */
bool orch_broker_shared_probe(struct fota_mqtt *m, struct orch_routes *routes,
			      const struct orch_config *cfg, char *why, size_t size);

#endif
