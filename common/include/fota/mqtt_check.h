/* SPDX-License-Identifier: Apache-2.0 */
/* Broker settings checked before connecting, so that a mistake is named instead of surfacing
 * as a vague connect failure: URI scheme and host, CA, client certificate and its key. */
#ifndef FOTA_MQTT_CHECK_H
#define FOTA_MQTT_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "fota/error.h"
#include "fota/mqtt.h"

#define FOTA_MQTT_HOST_MAX 255

struct fota_mqtt_uri {
	bool tls; /* ssl:// or mqtts:// */
	char host[FOTA_MQTT_HOST_MAX + 1];
	unsigned port; /* the scheme's default (8883 / 1883) when the URI names none */
};

/* "ssl://host[:port]", "mqtts://", "tcp://" or "mqtt://"; IPv6 literals in brackets.
 * FOTA_ERR_FIELD naming what is wrong: no scheme, an unknown scheme (http://), no host, a bad
 * port, a path. */
fota_err fota_mqtt_uri_parse(const char *uri, struct fota_mqtt_uri *out, struct fota_error *err);

/*
 * Everything about cfg that can be known without the network: the URI (above); for TLS a CA
 * file; that the CA, certificate and key files exist and hold PEM of the right kind; that the
 * key belongs to the certificate. cn (NULL: not wanted) receives the certificate's common
 * name, "" without a certificate. Every failure is FOTA_ERR_FIELD with the file and the cause
 * ("key /etc/fota/k.pem does not match certificate /etc/fota/c.pem").
 */
fota_err fota_mqtt_check(const struct fota_mqtt_config *cfg, char *cn, size_t cn_size,
			 struct fota_error *err);

#endif
