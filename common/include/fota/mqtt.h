/* SPDX-License-Identifier: Apache-2.0 */
/* Thin layer over Paho MQTTAsync: mTLS connect, reconnect with backoff and jitter,
 * remembered subscriptions, and QoS 1 publishing bounded by an in-flight window. */
#ifndef FOTA_MQTT_H
#define FOTA_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"

struct fota_mqtt_config {
	const char *uri;       /* "ssl://host:8883" (mqtts:// accepted) or "tcp://" for tests */
	const char *client_id; /* the device id; must match the certificate CN for devices */
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	int keepalive_s;       /* default 30 */
	int connect_timeout_s; /* default 10 */
	unsigned max_inflight; /* QoS 1 publishes awaiting PUBACK; default 8 */
	/* First retry delay, doubled up to max, +/- 25 % jitter; back to min only after a
	 * connection that lasted 10 s, so a broker that closes every connection at once (its
	 * answer to a refused operation) is retried ever more slowly. */
	unsigned reconnect_min_ms;
	unsigned reconnect_max_ms;
	/* Last will, published by the broker when the connection dies uncleanly. */
	const char *will_topic;
	const void *will_payload;
	size_t will_len;
	bool will_retained;
	/* Leave Nagle's algorithm on. By default each connection's socket gets TCP_NODELAY
	 * (tcp_nodelay.h), found by a scan of the process's descriptors per connect: for a process
	 * of thousands of connections (the fleet simulator) that scan is the bigger cost. */
	bool keep_nagle;
};

/* Called from Paho's thread, one message at a time; payload valid only during the call.
 * Blocking here applies TCP back-pressure to the broker, which is intended. */
typedef void (*fota_mqtt_message_cb)(void *ctx, const char *topic, const uint8_t *payload,
				     size_t len);
/* After every successful (re)connect, once subscriptions were renewed. */
typedef void (*fota_mqtt_connected_cb)(void *ctx, bool reconnected);
/* When the connection is lost; reconnecting starts by itself. */
typedef void (*fota_mqtt_lost_cb)(void *ctx, const char *cause);

struct fota_mqtt_callbacks {
	fota_mqtt_message_cb on_message;
	fota_mqtt_connected_cb on_connected;
	fota_mqtt_lost_cb on_lost;
	void *ctx;
};

struct fota_mqtt;

fota_err fota_mqtt_new(const struct fota_mqtt_config *cfg, const struct fota_mqtt_callbacks *cb,
		       struct fota_mqtt **out, struct fota_error *err);
/* Stops delivery to the callbacks: none starts after this returns, and it waits for those
 * running to return, so their context may be freed next. Publishing and the session go on.
 * Never call it from a callback (it would wait for itself). NULL is a no-op. */
void fota_mqtt_detach(struct fota_mqtt *m);
/* Detaches, disconnects and frees; NULL is a no-op. */
void fota_mqtt_free(struct fota_mqtt *m);
/* For a process about to exit: detaches and disconnects as fota_mqtt_free does (DISCONNECT
 * sent, no last will) but frees nothing and leaves Paho's threads to the exit, which saves
 * Paho's 100 ms thread stop and keeps those threads (which nobody can join) from ending while
 * the exit runs OpenSSL's cleanup, which assumes that no other thread uses or frees OpenSSL
 * state then. No call on m may follow; NULL is a no-op. */
void fota_mqtt_close_for_exit(struct fota_mqtt *m);

/* First connection; waits up to timeout_ms. Later losses reconnect in the background.
 * Failure says why (TLS handshake, refused, unreachable) as far as Paho tells. */
fota_err fota_mqtt_connect(struct fota_mqtt *m, int timeout_ms, struct fota_error *err);
bool fota_mqtt_is_connected(struct fota_mqtt *m);
/* Waits until connected (or timeout); FOTA_ERR_TIMEOUT otherwise. */
fota_err fota_mqtt_wait_connected(struct fota_mqtt *m, int timeout_ms, struct fota_error *err);

/* Subscribes now (if connected) and after every reconnect; waits for the SUBACK and fails
 * if the broker refused it: a failure code in the SUBACK (Mosquitto's ACL) or the connection
 * closed before the SUBACK (RabbitMQ's refusal; reconnecting starts by itself). A refused
 * filter is forgotten, so reconnects do not repeat the refusal. */
fota_err fota_mqtt_subscribe(struct fota_mqtt *m, const char *filter, int qos,
			     struct fota_error *err);

/* Forgets a subscription and unsubscribes now if connected; an unknown filter is no error. */
fota_err fota_mqtt_unsubscribe(struct fota_mqtt *m, const char *filter, struct fota_error *err);

/* Makes the remembered subscriptions exactly filters[0..n): drops the others, subscribes the
 * new ones (each like fota_mqtt_subscribe), leaves the rest alone, so a broker does not
 * replay their retained messages again. Stops at the first failure. */
fota_err fota_mqtt_subscribe_exactly(struct fota_mqtt *m, const char *const *filters, size_t n,
				     int qos, struct fota_error *err);

/* Queues a publish; for QoS >= 1 first waits (up to timeout_ms) for a free in-flight slot.
 * Payload is copied. A publish refused while disconnected waits for the reconnect within
 * the same timeout. */
fota_err fota_mqtt_publish(struct fota_mqtt *m, const char *topic, const void *payload, size_t len,
			   int qos, bool retained, int timeout_ms, struct fota_error *err);

/* What became of a caller's QoS 1 publishes: acknowledged by the broker (PUBACK) or lost
 * (the connection died before the acknowledgement). Updated by the MQTT thread; read it with
 * fota_mqtt_tally_get. The broker acknowledges in the order it received the publishes (MQTT
 * 3.1.1, 4.6), so on one connection `acked` publishes are the first ones sent. */
struct fota_mqtt_tally {
	uint64_t acked;
	uint64_t lost;
};

/* fota_mqtt_publish that also counts the publish's fate in *tally (QoS >= 1 only). The tally
 * must stay valid until every publish counted in it was acknowledged or lost. */
fota_err fota_mqtt_publish_tallied(struct fota_mqtt *m, const char *topic, const void *payload,
				   size_t len, int qos, bool retained, int timeout_ms,
				   struct fota_mqtt_tally *tally, struct fota_error *err);

/* A consistent copy of *tally. */
void fota_mqtt_tally_get(struct fota_mqtt *m, const struct fota_mqtt_tally *tally,
			 struct fota_mqtt_tally *out);

/* Waits until acked + lost reaches sent (every counted publish settled), or the timeout. */
fota_err fota_mqtt_tally_wait(struct fota_mqtt *m, const struct fota_mqtt_tally *tally,
			      uint64_t sent, int timeout_ms, struct fota_error *err);

/* Connections lost since creation: a caller that saw it change knows subscribers may have
 * missed what it published in between. */
unsigned fota_mqtt_connections_lost(struct fota_mqtt *m);

/* The QoS 1 in-flight limit this connection was created with (after defaults and caps). */
unsigned fota_mqtt_max_inflight(const struct fota_mqtt *m);

/* Waits until no QoS >= 1 publish is in flight. */
fota_err fota_mqtt_flush(struct fota_mqtt *m, int timeout_ms, struct fota_error *err);

/* Publishes failed (lost with a connection) since creation: a broadcast gap devices repair. */
uint64_t fota_mqtt_failed_publishes(struct fota_mqtt *m);

#endif
