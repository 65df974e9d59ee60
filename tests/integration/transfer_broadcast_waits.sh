#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# publish --wait-devices holds the broadcast until the awaited device has taken the directive
# (and so subscribed to the image's chunks): a one-chunk image, broadcast the moment the
# directive went out, would end before the device listens, and the device would fetch it by
# repair after waiting for a broadcast that already ended.
# The publish command closes its broker session without Paho's destroy (docs/performance.md,
# section 1c): the broker must still see a DISCONNECT, not a connection that just went away.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

fota_random_image "$T/image.bin" 64k
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_state dev-1 idle 30 || fail "dev-1 did not come online"
fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--serve --wait-devices dev-1 --wait-state confirmed --timeout 60 >"$T/publish.log" 2>&1 ||
	{ cat "$T/publish.log" >&2; fail "publish did not see dev-1 confirm"; }
pass "dev-1 confirmed"
cat "$T/publish.log"
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
check "the broadcast reached dev-1: no repair was needed" \
	bash -c "! grep -q 'repair for dev-1' '$T/publish.log'"
# The pid names the command's session: orchestrator-PID (docs/orchestrator.md).
orch_client=$(grep -o 'New client connected from [^ ]* as orchestrator-[0-9]*' "$FOTA_BROKER_LOG" |
	tail -n 1 | awk '{print $NF}')
check "publish's session ($orch_client) ended with a DISCONNECT" \
	grep -q "Client $orch_client disconnected\.$" "$FOTA_BROKER_LOG"
check "... and not by a connection closed without one" \
	bash -c "! grep -q 'Client $orch_client closed its connection' '$FOTA_BROKER_LOG'"
fota_summary
