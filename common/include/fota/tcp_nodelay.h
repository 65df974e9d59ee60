/* SPDX-License-Identifier: Apache-2.0 */
/* Turns off Nagle's algorithm on the broker connection, which Paho leaves on.
 *
 * With Nagle on, a small MQTT packet written while an earlier one is unacknowledged waits for
 * that acknowledgement, and the broker delays its acknowledgements by up to 40 ms: a directive
 * after its table, a SUBSCRIBE after a PUBACK each waited about 40 ms on loopback. Paho offers
 * no socket option hook, so the socket is found among this process's descriptors. */
#ifndef FOTA_TCP_NODELAY_H
#define FOTA_TCP_NODELAY_H

#include <stdint.h>

/* Sets TCP_NODELAY on every connected TCP socket of this process whose peer port is `port`
 * (a socket of another kind, or to another port, is left alone). Returns how many it set;
 * -1 if this process's descriptors cannot be listed. */
int fota_tcp_nodelay_peer_port(uint16_t port);

#endif
