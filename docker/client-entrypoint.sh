#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Client entrypoint: one gateway replica whose identity comes from the environment.
#
# FOTA_DEVICE_ID (required), FOTA_CERT_NAME (certificate under /pki/devices, default the device
# id), FOTA_GROUPS (default "fleet"). Anything else: --set section.key=value as arguments.
set -eu
. /usr/local/lib/fota/wait-pki.sh
id=${FOTA_DEVICE_ID:?set FOTA_DEVICE_ID to the device id}
cert=${FOTA_CERT_NAME:-$id}
pki=${FOTA_PKI_DIR:-/pki}
wait_pki "$pki/ca.crt" "$pki/devices/$cert.crt" "$pki/devices/$cert.key" "$pki/trust"
exec fota-client --config /etc/fota/client.conf \
	--set "device.id=$id" --set "device.groups=${FOTA_GROUPS:-fleet}" \
	--set "broker.cert=$pki/devices/$cert.crt" --set "broker.key=$pki/devices/$cert.key" "$@"
