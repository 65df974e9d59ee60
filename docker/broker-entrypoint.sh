#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Broker entrypoint: copies the broker certificate and key and the client CAs (client-cas.crt
# for the device listener, operator-ca.crt for the orchestrator's) from the PKI volume, writes
# the Mosquitto configuration for FOTA_BROKER_ACCESS, then runs Mosquitto.
#
# FOTA_BROKER_ACCESS=dynsec (the default): group membership enforced by the dynamic-security
# plugin that fota-orchestrator drives (docker/mosquitto/dynsec-conf.sh; the orchestrator on
# listener 8884). The plugin's state file, /mosquitto/data/dynamic-security.json, is seeded
# from the image on the first start only: afterwards it holds every grant the orchestrator made
# and must survive restarts (keep /mosquitto/data on a volume). FOTA_BROKER_ACCESS=acl_file:
# the static ACL file, which does not enforce groups (docs/operations.md).
#
# Started as root only so the key copy can belong to "mosquitto"; Mosquitto then drops to that
# user itself. With certificates mounted at /mosquitto/certs directly, set FOTA_PKI_DIR=none.
set -eu
. /usr/local/lib/fota/wait-pki.sh
pki=${FOTA_PKI_DIR:-/pki}
if [ "$pki" != none ]; then
	wait_pki "$pki/client-cas.crt" "$pki/operator-ca.crt" "$pki/broker.crt" "$pki/broker.key"
	install -m 0644 "$pki/client-cas.crt" "$pki/operator-ca.crt" "$pki/broker.crt" /mosquitto/certs/
	install -o mosquitto -g mosquitto -m 0600 "$pki/broker.key" /mosquitto/certs/broker.key
fi
conf=/mosquitto/config/mosquitto.conf
case "${FOTA_BROKER_ACCESS:-dynsec}" in
dynsec)
	conf=/mosquitto/config/dynsec.conf
	sh /mosquitto/config/dynsec-conf.sh /mosquitto/config/mosquitto.conf >"$conf"
	state=/mosquitto/data/dynamic-security.json
	if [ ! -e "$state" ]; then
		install -o mosquitto -g mosquitto -m 0600 /mosquitto/config/dynamic-security.json "$state"
		echo "broker: dynamic security starts from the image's $state (first start)"
	fi
	;;
acl_file) ;;
*)
	echo "FOTA_BROKER_ACCESS must be dynsec or acl_file, not '$FOTA_BROKER_ACCESS'" >&2
	exit 1
	;;
esac
chown -R mosquitto:mosquitto /mosquitto/data
exec mosquitto -c "$conf" "$@"
