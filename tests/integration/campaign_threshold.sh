#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two canaries whose vendor the image does not name refuse its manifest within the second the
# campaign starts: --fail-threshold 1 pauses it. After `resume` they refuse again, exactly as
# before, and that re-failure pauses it once more.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 4

fota_random_image "$T/image.bin" 64k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
serve_start "$T/serve.log"
# The registry does not record vendors, so nothing rules these devices out before they try.
sim_start 4 lab "$T/sim.log" --vendor other
fota_wait_for 20 registered lab 4 || fail "devices did not register"

fota_orch campaign create t1 --image "$id" --group lab --stage sim-1,sim-2 --stage 100% \
	--fail-threshold 1 >/dev/null || fail "campaign create"
fota_orch campaign start t1 >/dev/null || fail "campaign start"
if fota_orch campaign wait t1 --state paused --timeout 30; then
	pass "failures right after start paused the campaign"
else
	fota_orch campaign status t1
	fail "the campaign did not pause at its threshold of 1"
fi
s=$(fota_orch campaign status t1 --json)
check "the reason names the failure threshold" \
	grep -q "failure threshold" <<<"$(jq -r .reason <<<"$s")"
check "the canaries' failures count" [ "$(jq -r .counts.failed_since_resume <<<"$s")" -ge 1 ]
check "still in the canary stage" [ "$(jq -r .stage <<<"$s")" = 1 ]

fota_orch campaign resume t1 >/dev/null || fail "resume"
if fota_orch campaign wait t1 --state paused --timeout 30; then
	pass "the same failure reported after the resume paused it again"
else
	fota_orch campaign status t1
	fail "a re-failure after resume did not count"
fi
events t1 >"$T/ev.json"
check "events: started, paused, resumed, paused in that order" \
	[ "$(jq -r '[.[] | select(.device == "" and (.kind == "started" or .kind == "paused"
		or .kind == "resumed")) | .kind] | join(",")' "$T/ev.json")" = \
	"started,paused,resumed,paused" ]
check "a canary's failure is logged again after the resume" \
	[ "$(jq '[.[] | select(.device == "sim-1" and .kind == "failed")] | length' "$T/ev.json")" -ge 2 ]
fota_summary
