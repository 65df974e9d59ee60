#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The orchestrator is killed (-9) mid-campaign and restarted: the campaign continues from the
# store, no device is admitted twice and none is skipped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 20

fota_random_image "$T/image.bin" 256k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
serve_start "$T/serve.log"
sim_start 20 lab "$T/sim.log" --step-ms 400 --window 4 --chunk-delay-ms 100
fota_wait_for 20 registered lab 20 || fail "devices did not register"

fota_orch campaign create r4 --image "$id" --group lab --stage sim-1,sim-2 --stage 50% \
	--stage 100% >/dev/null || fail "campaign create"
fota_orch campaign start r4 >/dev/null || fail "campaign start"
in_stage2() {
	[ "$(cstatus r4 .stage)" -ge 2 ] && [ "$(cstatus r4 .counts.admitted)" -gt 2 ]
}
fota_wait_for 60 in_stage2 || fail "stage 2 never started"
before=$(cstatus r4 .counts.confirmed)
kill -KILL "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
kill -0 "$SERVE_PID" 2>/dev/null && fail "the orchestrator survived kill -9"
pass "orchestrator killed with -9 in stage 2 ($before confirmed)"
sleep 3 # devices keep installing and reporting while no orchestrator runs
serve_start "$T/serve.log"
if fota_orch campaign wait r4 --state completed --timeout 90; then
	pass "campaign completed after the restart"
else
	fota_orch campaign status r4
	fail "campaign did not complete after the restart"
fi
fota_orch campaign status r4
fota_orch campaign events r4 --json >"$T/ev.json"
check "every device admitted exactly once" \
	[ "$(jq '[.[] | select(.kind == "admitted") | .device] | (length == 20) and (unique | length == 20)' "$T/ev.json")" = true ]
check "all 20 confirmed" [ "$(cstatus r4 .counts.confirmed)" = 20 ]
check "directive sequences kept rising across the restart" \
	[ "$(jq '[.[] | select(.kind == "directive") | .detail | capture("seq (?<n>[0-9]+)").n | tonumber] | . == (sort | unique)' "$T/ev.json")" = true ]
fota_summary
