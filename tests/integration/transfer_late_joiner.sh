#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A device that starts after the broadcast ended gets the whole image through repair.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

fota_random_image "$T/image.bin" 4
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	>"$T/publish.log" 2>&1 || { cat "$T/publish.log" >&2; fail "broadcast failed"; }
pass "broadcast to an empty group finished"

fota_orch_bg "$T/serve.log" serve
fota_client_conf dev-4 "$T" lab
fota_client_start dev-4 "$T"
if fota_wait_state dev-4 confirmed 60; then
	pass "late joiner dev-4 confirmed"
else
	tail -n 20 "$T/dev-4/client.log" "$T/serve.log" >&2
	fail "late joiner did not finish"
fi
fota_same "$T/dev-4/target/firmware.bin" "$T/image.bin" "dev-4's installed image"
grep -q "repair" "$T/serve.log" && pass "orchestrator served repairs" ||
	fail_soft "orchestrator log shows no repair"
fota_summary
