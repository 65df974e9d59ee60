/* SPDX-License-Identifier: Apache-2.0 */
/* Broker session for the orchestrator: mTLS settings from the config, routing by topic. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fota/mqtt_check.h"
#include "fota/topics.h"

#include "broker.h"
#include "cmd.h"

#define SHARE_GROUP "$share/fota/"

void orch_routes_init(struct orch_routes *r, const char *prefix)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->prefix = prefix;
}

void orch_routes_set(struct orch_routes *r, struct orch_repair *repair, struct orch_fleet *fleet)
{
	pthread_mutex_lock(&r->lock);
	r->repair = repair;
	r->fleet = fleet;
	pthread_mutex_unlock(&r->lock);
}

void orch_routes_set_status_hook(struct orch_routes *r, orch_status_hook_fn fn, void *ctx)
{
	pthread_mutex_lock(&r->lock);
	r->status_hook = fn;
	r->status_ctx = ctx;
	pthread_mutex_unlock(&r->lock);
}

void orch_routes_set_control_hook(struct orch_routes *r, orch_control_hook_fn fn, void *ctx)
{
	pthread_mutex_lock(&r->lock);
	r->control_hook = fn;
	r->control_ctx = ctx;
	pthread_mutex_unlock(&r->lock);
}

void orch_routes_clear(struct orch_routes *r)
{
	orch_routes_set(r, NULL, NULL);
	orch_routes_set_status_hook(r, NULL, NULL);
	orch_routes_set_control_hook(r, NULL, NULL);
}

void orch_routes_destroy(struct orch_routes *r)
{
	pthread_mutex_destroy(&r->lock);
}

/* Runs on Paho's thread: only parsing and enqueueing here, never network waits, so PUBACKs
 * for the publishing threads keep flowing. */
static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct orch_routes *r = ctx;
	struct fota_error err = {0};
	struct fota_topic t;

	pthread_mutex_lock(&r->lock);
	if (r->probe_topic[0] && strcmp(topic, r->probe_topic) == 0)
		r->probe_seen = true;
	pthread_mutex_unlock(&r->lock);
	if (strncmp(topic, "$CONTROL/", 9) == 0) {
		pthread_mutex_lock(&r->lock);
		if (r->control_hook)
			r->control_hook(r->control_ctx, topic, payload, len);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	if (fota_topic_parse(r->prefix, topic, &t, NULL) != FOTA_OK)
		return;
	if (fota_topic_payload_check(&t, topic, len, &err) != FOTA_OK) {
		pthread_mutex_lock(&r->lock);
		/* A flood of them logs the first and then every 1000th, with the count. */
		if (r->oversize++ % 1000 == 0)
			orch_log("dropped (%llu so far): %s", (unsigned long long)r->oversize,
				 err.msg);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (t.kind == FOTA_TOPIC_DEVICE_REQUEST && r->repair)
		orch_repair_submit(r->repair, t.device, payload, len);
	else if (t.kind == FOTA_TOPIC_DEVICE_STATUS && r->fleet)
		orch_fleet_ingest(r->fleet, t.device, payload, len);
	if (t.kind == FOTA_TOPIC_DEVICE_STATUS && r->status_hook)
		r->status_hook(r->status_ctx, t.device, payload, len);
	pthread_mutex_unlock(&r->lock);
}

static void on_connected(void *ctx, bool reconnected)
{
	struct orch_routes *r = ctx;

	if (reconnected && !r->quiet)
		orch_log("reconnected to the broker");
}

static void on_lost(void *ctx, const char *cause)
{
	struct orch_routes *r = ctx;

	if (!r->quiet)
		orch_log("broker connection lost: %s; reconnecting",
			 cause && *cause ? cause : "no reason given");
}

/* The Paho-facing settings of cfg (callbacks and will are the caller's). */
static void session_config(const struct orch_config *cfg, struct fota_mqtt_config *mc)
{
	memset(mc, 0, sizeof(*mc));
	mc->uri = cfg->uri;
	mc->client_id = cfg->client_id;
	mc->ca_file = cfg->ca[0] ? cfg->ca : NULL;
	mc->cert_file = cfg->cert[0] ? cfg->cert : NULL;
	mc->key_file = cfg->key[0] ? cfg->key : NULL;
	mc->keepalive_s = cfg->keepalive_s;
	mc->connect_timeout_s = ORCH_CONNECT_TIMEOUT_MS / 1000;
	mc->max_inflight = cfg->window;
	mc->reconnect_min_ms = ORCH_RECONNECT_MIN_MS;
	mc->reconnect_max_ms = ORCH_RECONNECT_MAX_MS;
}

/* A wrong scheme, a file that is not PEM or a key of another certificate is named here, not
 * reported by Paho as "socket error" after a connect attempt. */
static fota_err check_settings(const struct orch_config *cfg, struct fota_error *err)
{
	struct fota_mqtt_config mc;

	session_config(cfg, &mc);
	return fota_mqtt_check(&mc, NULL, 0, err);
}

fota_err orch_broker_check_files(const struct orch_config *cfg, struct fota_error *err)
{
	const struct {
		const char *what;
		const char *path;
	} files[] = {{"CA certificate (--ca)", cfg->ca},
		     {"client certificate (--cert)", cfg->cert},
		     {"private key (--key)", cfg->key}};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i].path[0] && access(files[i].path, R_OK) != 0)
			return fota_error_set(err, FOTA_ERR_FIELD, "TLS %s %s cannot be read: %s",
					      files[i].what, files[i].path, strerror(errno));
	}
	return check_settings(cfg, err);
}

/* The session, checked but not connected; FOTA_ERR_FIELD for settings that cannot work. */
static fota_err open_session(const struct orch_config *cfg, struct orch_routes *routes,
			     struct fota_mqtt **out, struct fota_error *err)
{
	struct fota_mqtt_config mc;
	struct fota_mqtt_callbacks cb = {
	    .on_message = on_message,
	    .on_connected = on_connected,
	    .on_lost = on_lost,
	    .ctx = routes,
	};
	struct fota_mqtt *m = NULL;
	fota_err rc;

	*out = NULL;
	session_config(cfg, &mc);
	rc = fota_mqtt_check(&mc, NULL, 0, err);
	if (rc)
		return rc;
	rc = fota_mqtt_new(&mc, &cb, &m, err);
	if (rc) {
		fota_error_prefix(err, cfg->uri);
		return rc == FOTA_ERR_NOMEM ? rc : FOTA_ERR_MQTT;
	}
	*out = m;
	return FOTA_OK;
}

fota_err orch_broker_connect(const struct orch_config *cfg, struct orch_routes *routes,
			     struct fota_mqtt **out, struct fota_error *err)
{
	struct fota_mqtt *m = NULL;
	fota_err rc;

	*out = NULL;
	rc = open_session(cfg, routes, &m, err);
	if (rc)
		return rc;
	rc = fota_mqtt_connect(m, ORCH_CONNECT_TIMEOUT_MS, err);
	if (rc) {
		fota_error_prefix(err, cfg->uri);
		fota_mqtt_free(m);
		if (err)
			err->code = FOTA_ERR_MQTT;
		return FOTA_ERR_MQTT;
	}
	*out = m;
	return FOTA_OK;
}

fota_err orch_broker_connect_patiently(const struct orch_config *cfg, struct orch_routes *routes,
				       struct fota_mqtt **out, struct fota_error *err)
{
	struct fota_mqtt *m = NULL;
	unsigned backoff = ORCH_RECONNECT_MIN_MS;
	fota_err rc;

	*out = NULL;
	rc = open_session(cfg, routes, &m, err);
	if (rc)
		return rc;
	while (!orch_stop) {
		rc = fota_mqtt_connect(m, ORCH_CONNECT_TIMEOUT_MS, err);
		if (rc == FOTA_OK) {
			*out = m;
			return FOTA_OK;
		}
		orch_log("connect to broker: %s: %s; retrying in %u ms", cfg->uri, err->msg,
			 backoff);
		orch_sleep_ms(backoff);
		backoff = backoff < ORCH_RECONNECT_MAX_MS / 2 ? backoff * 2 : ORCH_RECONNECT_MAX_MS;
	}
	fota_mqtt_free(m);
	return fota_error_set(err, FOTA_ERR_STATE, "stopped before the broker answered");
}

int orch_broker_exit(fota_err rc)
{
	return rc == FOTA_ERR_FIELD ? ORCH_EXIT_USAGE : ORCH_EXIT_BROKER;
}

fota_err orch_broker_subscribe(struct fota_mqtt *m, const struct orch_config *cfg, const char *leaf,
			       bool shared, struct fota_error *err)
{
	char filter[FOTA_MAX_TOPIC_LEN + 1];
	char full[FOTA_MAX_TOPIC_LEN + sizeof(SHARE_GROUP)];
	fota_err rc;

	rc = fota_topic_devices_filter(cfg->prefix, leaf, filter, sizeof(filter), err);
	if (rc)
		return rc;
	snprintf(full, sizeof(full), "%s%s", shared ? SHARE_GROUP : "", filter);
	rc = fota_mqtt_subscribe(m, full, 1, err);
	if (rc)
		fota_error_prefix(err, full);
	return rc;
}

fota_err orch_broker_subscribe_serving(struct fota_mqtt *m, const struct orch_config *cfg,
				       bool shared, struct fota_error *err)
{
	fota_err rc = orch_broker_subscribe(m, cfg, "status", shared, err);

	if (rc == FOTA_OK)
		rc = orch_broker_subscribe(m, cfg, "request", shared, err);
	return rc;
}

fota_err orch_broker_replay_statuses(struct fota_mqtt *m, const struct orch_config *cfg,
				     const char (*ids)[FOTA_MAX_SEGMENT_LEN + 1], size_t n,
				     struct fota_error *err)
{
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	fota_err rc;

	for (size_t i = 0; i < n && !orch_stop; i++) {
		struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_STATUS};

		snprintf(t.device, sizeof(t.device), "%s", ids[i]);
		if (fota_topic_build(cfg->prefix, &t, topic, sizeof(topic), NULL) != FOTA_OK)
			continue; /* a registry id that is no topic segment has no status topic */
		rc = fota_mqtt_subscribe(m, topic, 1, err);
		if (rc == FOTA_OK)
			rc = fota_mqtt_unsubscribe(m, topic, err);
		if (rc != FOTA_OK) {
			fota_error_prefix(err, topic);
			return rc;
		}
	}
	return FOTA_OK;
}

/* How long the probe waits for its own message through the shared subscription. */
#define SHARED_PROBE_MS 3000

bool orch_broker_shared_probe(struct fota_mqtt *m, struct orch_routes *routes,
			      const struct orch_config *cfg, char *why, size_t size)
{
	char topic[FOTA_MAX_TOPIC_LEN + 1], filter[FOTA_MAX_TOPIC_LEN + sizeof(SHARE_GROUP)];
	struct fota_error err = {0};
	bool seen = false;
	int waited;

	snprintf(topic, sizeof(topic), "%s/probe/%s", cfg->prefix, cfg->client_id);
	snprintf(filter, sizeof(filter), "%s%s", SHARE_GROUP, topic);
	pthread_mutex_lock(&routes->lock);
	snprintf(routes->probe_topic, sizeof(routes->probe_topic), "%s", topic);
	routes->probe_seen = false;
	pthread_mutex_unlock(&routes->lock);
	if (fota_mqtt_subscribe(m, filter, 1, &err) != FOTA_OK) {
		snprintf(why, size, "%s", err.msg);
		goto out;
	}
	if (fota_mqtt_publish(m, topic, "probe", 5, 1, false, SHARED_PROBE_MS, &err) != FOTA_OK) {
		snprintf(why, size, "probe publish: %s", err.msg);
		goto out;
	}
	for (waited = 0; waited < SHARED_PROBE_MS && !seen; waited += 50) {
		orch_sleep_ms(50);
		pthread_mutex_lock(&routes->lock);
		seen = routes->probe_seen;
		pthread_mutex_unlock(&routes->lock);
	}
	if (!seen)
		snprintf(why, size,
			 "a message published to '%s' did not arrive through the subscription "
			 "'%s' within %d ms: the broker treats \"$share/\" as an ordinary topic",
			 topic, filter, SHARED_PROBE_MS);
out:
	fota_mqtt_unsubscribe(m, filter, NULL);
	pthread_mutex_lock(&routes->lock);
	routes->probe_topic[0] = '\0';
	pthread_mutex_unlock(&routes->lock);
	return seen;
}
