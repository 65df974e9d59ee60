#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fota_mqtt_detach (common/include/fota/mqtt.h) on a real broker: after it returns, no message
# reaches the callbacks while the broker goes on delivering (fota_mqtt_detach_check). The
# agent's exit path frees the callbacks' context right after it, with Paho's threads alive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tool=${1:?usage: mqtt_detach.sh FOTA_MQTT_DETACH_CHECK}
# The orchestrator's certificate may read and write fota/v1/# under the shipped ACL file.
FOTA_BROKER_ACCESS=acl_file
fota_tmpdir T
fota_pki "$T/pki"
fota_broker_start "$T/broker"
read -r crt key < <(fota_cert orchestrator)
for run in 1 2 3; do
	check "run $run: nothing reaches the callback after fota_mqtt_detach" \
		"$tool" "$FOTA_BROKER_URI" "$FOTA_PKI/ca.crt" "$crt" "$key" "fota/v1/test/detach"
done
fota_summary
