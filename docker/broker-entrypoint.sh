#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Broker entrypoint: copies the broker certificate and key from the PKI volume, then runs Mosquitto.
#
# Started as root only so the key copy can belong to "mosquitto"; Mosquitto then drops to that
# user itself. With certificates mounted at /mosquitto/certs directly, set FOTA_PKI_DIR=none.
set -eu
. /usr/local/lib/fota/wait-pki.sh
pki=${FOTA_PKI_DIR:-/pki}
if [ "$pki" != none ]; then
	wait_pki "$pki/ca.crt" "$pki/broker.crt" "$pki/broker.key"
	install -m 0644 "$pki/ca.crt" "$pki/broker.crt" /mosquitto/certs/
	install -o mosquitto -g mosquitto -m 0600 "$pki/broker.key" /mosquitto/certs/broker.key
fi
chown -R mosquitto:mosquitto /mosquitto/data
exec mosquitto -c /mosquitto/config/mosquitto.conf "$@"
