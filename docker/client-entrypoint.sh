#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Client entrypoint: one gateway replica whose identity comes from the environment.
#
# FOTA_DEVICE_ID (required), FOTA_CERT_NAME (certificate under /pki/devices, default the device
# id), FOTA_GROUPS (default "fleet"). Anything else: --set section.key=value as arguments.
# With FOTA_REGISTRY_DIR (docker/compose.yaml), the agent starts only once the orchestrator has
# registered the device (the file FOTA_REGISTRY_DIR/<id>, up to 120 s): before that, a broker
# that enforces group membership would grant it nothing.
set -eu
. /usr/local/lib/fota/wait-pki.sh
id=${FOTA_DEVICE_ID:?set FOTA_DEVICE_ID to the device id}
cert=${FOTA_CERT_NAME:-$id}
pki=${FOTA_PKI_DIR:-/pki}
wait_pki "$pki/ca.crt" "$pki/devices/$cert.crt" "$pki/devices/$cert.key" "$pki/trust"
if [ -n "${FOTA_REGISTRY_DIR:-}" ]; then
	n=0
	until [ -e "$FOTA_REGISTRY_DIR/$id" ]; do
		[ "$n" -lt 120 ] || {
			echo "$0: $id not registered by the orchestrator after $n s ($FOTA_REGISTRY_DIR/$id)" >&2
			exit 1
		}
		sleep 1
		n=$((n + 1))
	done
fi
exec fota-client --config /etc/fota/client.conf \
	--set "device.id=$id" --set "device.groups=${FOTA_GROUPS:-fleet}" \
	--set "broker.cert=$pki/devices/$cert.crt" --set "broker.key=$pki/devices/$cert.key" "$@"
