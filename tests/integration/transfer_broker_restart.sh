#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Mosquitto restarted in the middle of a transfer: every agent still finishes, byte-identical.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

fota_random_image "$T/image.bin" 16
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
for d in dev-1 dev-2 dev-3; do
	fota_client_conf "$d" "$T" lab
	fota_client_start "$d" "$T"
done
fota_wait_for 10 fota__state_is dev-3 idle || fail "dev-3 did not come online"

fota_orch_bg "$T/publish.log" publish "$id" --group lab \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate 4194304 \
	--wait-devices dev-1,dev-2,dev-3 --wait-state confirmed --timeout 180
orch=$FOTA_ORCH_PID
fota_wait_line "$T/dev-1/client.log" "downloading" 20 || fail "transfer did not start"
sleep 1.5
fota_broker_restart
pass "broker restarted mid-transfer"

if wait "$orch"; then
	pass "every device confirmed after the broker restart"
else
	tail -n 20 "$T/publish.log" >&2
	fail_soft "not every device finished after the broker restart"
fi
for d in dev-1 dev-2 dev-3; do
	fota_same "$T/$d/target/firmware.bin" "$T/image.bin" "$d's installed image"
	grep -q "reconnected" "$T/$d/client.log" && pass "$d reconnected by itself" ||
		fail_soft "$d never reconnected"
done
fota_summary
