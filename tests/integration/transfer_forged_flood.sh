#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A steady trickle of forged frames (right image id and chunk count, 1-byte payload, four a
# second on the group's chunk topic) must not pass for progress: a device that needs every
# chunk by repair still asks for them and completes while the forger keeps publishing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

fota_random_image "$T/image.bin" 1
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
count=16 # 1 MiB in 64 KiB chunks

fota_client_conf dev-1 "$T" forgetest
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
fota_sub_bg orchestrator "$T/requests" -q 1 -t fota/v1/devices/dev-1/request
fota_orch_bg "$T/serve.log" serve

# 33-byte frames: the 32-byte header and one payload byte; faster than gap_ms (500 ms).
printf x >"$T/one-byte"
fota_forge_frame "$id" 0 "$count" "$T/one-byte" >"$T/forged"
[ "$(stat -c %s "$T/forged")" -eq 33 ] || fail "forged frame is not 33 bytes"
fota_pub_bg forger -i forger -q 1 -t "fota/v1/groups/forgetest/images/$id/chunks" \
	-f "$T/forged" --repeat 400 --repeat-delay 0.25
forger=$FOTA_BG_PID

# Directive and table only: every chunk has to come by repair while the forger publishes.
fota_orch publish "$id" --group forgetest --no-broadcast \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish.log" 2>&1 ||
	{ cat "$T/publish.log" >&2; fail "publish failed"; }
fota_wait_line "$T/dev-1/client.log" "downloading" 10 || fail "dev-1 did not start"
fota_wait_for 10 grep -q "dropped" "$T/dev-1/client.log" ||
	fail "no forged frame reached dev-1 (ACL for the test identity?)"
pass "forged frames reach dev-1 and are dropped"

if fota_wait_state dev-1 confirmed 60; then
	pass "dev-1 confirmed while forged frames kept arriving"
else
	tail -n 20 "$T/dev-1/client.log" >&2
	fail_soft "dev-1 did not finish while forged frames kept arriving"
fi
kill -0 "$forger" 2>/dev/null && pass "the forger was still publishing at the end" ||
	fail_soft "the forger stopped before the end: the check proves nothing"
requests=$(grep -c "\"image\"" "$T/requests" || true)
[ "$requests" -gt 0 ] && pass "dev-1 sent $requests repair requests" ||
	fail_soft "dev-1 sent no repair request"
[ -e "$T/dev-1/target/firmware.bin" ] &&
	fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
fota_summary
