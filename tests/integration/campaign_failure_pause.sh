#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Three devices of the 50 % stage fail their health check with a failure threshold of 2: the
# campaign pauses itself before stage 3, devices not yet admitted never act on it, and
# `resume` after the cause is cleared completes it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 20

fota_random_image "$T/image.bin" 128k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
serve_start "$T/serve.log"
: >"$T/failing"
sim_start 20 lab "$T/sim.log" --step-ms 200 --fail-health-file "$T/failing"
fota_wait_for 20 registered lab 20 || fail "devices did not register"

fota_orch campaign create r2 --image "$id" --group lab --stage sim-3,sim-17 --stage 50% \
	--stage 100% --fail-threshold 2 >/dev/null || fail "campaign create"
fota_orch campaign preview r2 --json >"$T/preview.json"
mapfile -t s2 < <(jq -r '.[] | select(.stage == 2) | .device' "$T/preview.json")
mapfile -t s3 < <(jq -r '.[] | select(.stage == 3) | .device' "$T/preview.json")
[ "${#s2[@]}" -ge 3 ] && [ "${#s3[@]}" -ge 1 ] || fail "salt gives ${#s2[@]}/${#s3[@]} devices"
printf '%s\n' "${s2[@]:0:3}" >"$T/failing"
echo "failing in stage 2: ${s2[*]:0:3}; stage 3: ${s3[*]}"

fota_orch campaign start r2 >/dev/null || fail "campaign start"
if fota_orch campaign wait r2 --state paused --timeout 60; then
	pass "campaign paused itself"
else
	fota_orch campaign status r2
	fail "campaign did not pause"
fi
sleep 1 # let stragglers report; nothing may advance meanwhile
s=$(fota_orch campaign status r2 --json)
fota_orch campaign status r2
check "paused in stage 2, before stage 3" [ "$(jq -r .stage <<<"$s")" = 2 ]
check "the reason names the failure threshold" \
	grep -q "failure threshold" <<<"$(jq -r .reason <<<"$s")"
check "at least 2 failures listed with health_check_failed" \
	[ "$(jq '[.failures[] | select(.result == "health_check_failed")] | length' <<<"$s")" -ge 2 ]
fota_orch campaign events r2 --json >"$T/ev1.json"
acted=0
for d in "${s3[@]}"; do
	n=$(jq --arg d "$d" '[.[] | select(.device == $d)] | length' "$T/ev1.json")
	[ "$n" = 0 ] || { echo "$d has $n events before stage 3"; acted=1; }
	st=$(fota_status_field "$d" campaign)
	[ -z "$st" ] || { echo "$d reports campaign '$st'"; acted=1; }
done
check "devices not yet admitted never acted on the directive" [ "$acted" = 0 ]

: >"$T/failing"
fota_orch campaign resume r2 >/dev/null || fail "resume"
if fota_orch campaign wait r2 --state completed --timeout 60; then
	pass "resumed campaign completed"
else
	fota_orch campaign status r2
	fail_soft "resumed campaign did not complete"
fi
s=$(fota_orch campaign status r2 --json)
check "all 20 devices confirmed after resume" [ "$(jq -r .counts.confirmed <<<"$s")" = 20 ]
fota_orch campaign events r2 | grep -E " (paused|resumed|stage|completed) " || true
fota_summary
