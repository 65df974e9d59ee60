#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The broker is killed (-9) in the middle of a campaign's broadcast and back 2 s later. A lost
# connection ends the broadcast (docs/campaigns.md): `serve` records it as failed with the
# chunks the broker had acknowledged, not as a success, and the devices repair the rest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

DEVICES=2
campaign_env "$DEVICES"
# 64 chunks at 512 KiB/s: about 8 s of broadcast, time enough to kill the broker midway.
fota_random_image "$T/image.bin" 4
chunks=64
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 65536) || fail "image add failed"
serve_start "$T/serve.log" --rate 512K
sim_start "$DEVICES" lab "$T/sim.log"
fota_wait_for 20 registered lab "$DEVICES" || fail "devices did not register"
fota_sub_bg orchestrator "$T/frames.txt" -t "fota/v1/groups/lab/#" -F '%t %l'

fota_orch campaign create rk --image "$id" --group lab --stage 100%:success=100 >/dev/null ||
	fail "campaign create"
fota_orch campaign start rk >/dev/null || fail "campaign start"
fota_wait_for 60 bcast_frames_at_least "$T/frames.txt" 16 || fail "the broadcast did not start"
fota_broker_kill
seen=$(bcast_frames "$T/frames.txt")
check "broker killed with -9 mid-broadcast ($seen of $chunks frames out)" [ "$seen" -lt "$chunks" ]
sleep 2
fota_broker_restart
pass "broker back"

ended() {
	[ "$(events rk | jq '[.[] | select(.kind == "broadcast")] | length')" -ge 1 ]
}
fota_wait_for 60 ended || fail "no broadcast end was recorded"
events rk | jq -r '.[] | select(.kind == "broadcast") | "\(.result) \(.detail)"' | tee "$T/bcast.txt"
read -r result detail <"$T/bcast.txt"
acked=$(sed -n "s/^group lab: \([0-9]*\)\/$chunks chunks acknowledged.*/\1/p" <<<"$detail")
check "the broadcast is recorded as failed, not as a success (got '$result')" [ "$result" = failed ]
check "it says how many chunks the broker acknowledged (${acked:-none} of $chunks)" \
	[ -n "$acked" ] && [ "$acked" -lt "$chunks" ]
check "the reason names the lost broker connection" grep -q "broker connection lost" "$T/bcast.txt"
check "serve logged the end with the acknowledged count" \
	grep -q "broadcast of image $id to group lab failed after [0-9]* chunks (${acked:-x} acknowledged)" "$T/serve.log"
if fota_orch campaign wait rk --state completed --timeout 150 >/dev/null; then
	pass "the campaign completed: the devices repaired what the broadcast did not bring"
else
	fota_orch campaign status rk || true
	tail -n 30 "$T/serve.log" >&2
	fail "the campaign did not complete after the broker restart"
fi
check "all $DEVICES devices confirmed" [ "$(cstatus rk .counts.confirmed)" = "$DEVICES" ]
fota_summary
