#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A canary fails its health check and holds the campaign (success=100, no failure threshold).
# Once the cause is cleared, `campaign retry ID --device D` re-admits it with a new directive
# sequence; it installs, and the campaign completes. The audit trail shows the retry.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 3

fota_random_image "$T/image.bin" 64k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
serve_start "$T/serve.log"
echo sim-1 >"$T/failing"
sim_start 3 lab "$T/sim.log" --fail-health-file "$T/failing"
fota_wait_for 20 registered lab 3 || fail "devices did not register"

fota_orch campaign create r1 --image "$id" --group lab --stage sim-1,sim-2 --stage 100% \
	>/dev/null || fail "campaign create"
fota_orch campaign start r1 >/dev/null || fail "campaign start"
sim1_failed() {
	[ "$(cstatus r1 '[.failures[] | select(.device == "sim-1")] | length')" = 1 ]
}
fota_wait_for 30 sim1_failed || { fota_orch campaign status r1; fail "sim-1 did not fail"; }
seq1=$(cstatus r1 .directive_seq)
check "retry of a device that did not fail is refused (exit 6)" \
	exits_with 6 fota_orch campaign retry r1 --device sim-2
check "retry of a device not in the campaign is refused (exit 5)" \
	exits_with 5 fota_orch campaign retry r1 --device sim-9

: >"$T/failing"
fota_orch campaign retry r1 --device sim-1 >/dev/null || fail "campaign retry"
if fota_orch campaign wait r1 --state completed --timeout 60; then
	pass "the retried canary confirmed and the campaign completed"
else
	fota_orch campaign status r1
	fail "the campaign did not complete after the retry"
fi
check "the retry went out as a newer directive" [ "$(cstatus r1 .directive_seq)" -gt "$seq1" ]
check "all 3 confirmed" [ "$(cstatus r1 .counts.confirmed)" = 3 ]
events r1 >"$T/ev.json"
check "events: sim-1 failed, retry, then confirmed" \
	[ "$(jq -r '[.[] | select(.device == "sim-1" and (.kind == "failed" or .kind == "retry"
		or .kind == "confirmed")) | .kind] | join(",")' "$T/ev.json")" = \
	"failed,retry,confirmed" ]
check "events: the campaign-level retry names the count" \
	[ "$(jq -r '.[] | select(.device == "" and .kind == "retry") | .detail' "$T/ev.json")" = \
	"1 device re-admitted" ]
fota_summary
