#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 20 simulated devices, stages canary (2 named) -> 50 % -> 100 %: each stage opens only once
# the previous one met its success threshold; all end confirmed, each with one complete trail.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 20

fota_random_image "$T/image.bin" 256k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
serve_start "$T/serve.log"
sim_start 20 lab "$T/sim.log" --step-ms 300
fota_wait_for 20 registered lab 20 || fail "devices did not register from their birth messages"
pass "20 devices registered from their status messages"

fota_orch campaign create r1 --image "$id" --group lab --stage sim-3,sim-17 \
	--stage 50%:success=100 --stage 100% --fail-threshold 2 >/dev/null || fail "campaign create"
fota_orch campaign start r1 >/dev/null || fail "campaign start"

# Watch the stages: a later stage must never open before the earlier one is fully confirmed.
ok=1
deadline=$((SECONDS + 90))
while :; do
	s=$(fota_orch campaign status r1 --json) || fail "campaign status"
	state=$(jq -r .state <<<"$s")
	stage=$(jq -r .stage <<<"$s")
	if [ "$stage" -ge 2 ]; then
		c1=$(jq -r '.stages[0].confirmed' <<<"$s")
		[ "$c1" -eq 2 ] || { ok=0; echo "stage 2 open with $c1/2 canaries confirmed"; }
	fi
	if [ "$stage" -ge 3 ]; then
		a2=$(jq -r '.stages[1].admitted' <<<"$s")
		c2=$(jq -r '.stages[1].confirmed' <<<"$s")
		[ "$c2" -eq "$a2" ] || { ok=0; echo "stage 3 open with $c2/$a2 of stage 2 confirmed"; }
	fi
	[ "$state" = completed ] && break
	[ "$SECONDS" -lt "$deadline" ] || { echo "$s" >&2; fail "campaign did not complete in 90 s"; }
	sleep 0.3
done
check "stages advanced only on met success thresholds" [ "$ok" = 1 ]
fota_orch campaign status r1
s=$(fota_orch campaign status r1 --json)
check "20 devices confirmed" [ "$(jq -r .counts.confirmed <<<"$s")" = 20 ]
check "canary stage admitted exactly the 2 named devices" \
	[ "$(jq -r '.stages[0].admitted' <<<"$s")" = 2 ]
a2=$(jq -r '.stages[1].admitted' <<<"$s")
check "50 % stage admitted 5..15 more devices (got $a2)" [ "$a2" -ge 5 ] && [ "$a2" -le 15 ]

# One complete trail per device: admitted, downloading, downloaded, installing, testing,
# confirmed, each exactly once and in that order.
events r1 >"$T/events.json"
bad=0
for i in $(seq 1 20); do
	trail=$(jq -r --arg d "sim-$i" '[.[] | select(.device == $d) | .kind] | join(" ")' \
		"$T/events.json")
	if [ "$trail" != "admitted downloading downloaded installing testing confirmed" ]; then
		echo "sim-$i: $trail"
		bad=1
	fi
done
check "every device has one complete audit trail" [ "$bad" = 0 ]
check "campaign trail records the stages and completion" \
	[ "$(jq -r '[.[] | select(.device == "") | .kind] | map(select(. == "stage")) | length' "$T/events.json")" = 2 ]
fota_orch campaign events r1 | tail -n 5
fota_summary
