#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A campaign with a daily maintenance window in Europe/Berlin that is closed now: serve
# publishes its directive, carrying the window, but admits nobody; the canary the directive
# lists keeps to the window itself and reports deferred. create refuses a zone the host does
# not know.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

# The zone comes from the test data, whatever the host has installed.
export FOTA_ZONEINFO=$FOTA_SRC/tests/data/zoneinfo
campaign_env 3

fota_random_image "$T/image.bin" 64k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
serve_start "$T/serve.log"
sim_start 3 lab "$T/sim.log"
fota_wait_for 20 registered lab 3 || fail "devices did not register"

# Berlin is UTC+1 or UTC+2: an hour starting 5 hours after the current UTC hour is closed.
h=$(( (10#$(date -u +%H) + 5) % 24 ))
window=$(printf '%02d:00-%02d:00' "$h" $(( (h + 1) % 24 )))
check "create refuses a zone this host does not know (exit 2)" \
	exits_with 2 fota_orch campaign create x1 --image "$id" --group lab --stage 100% \
	--window-daily "$window" --tz Mars/Olympus
check "... with the reason" grep -q "Mars/Olympus is not known here" "$T/exits.err"

fota_orch campaign create w1 --image "$id" --group lab --stage sim-1 --stage 100% \
	--window-daily "$window" --tz Europe/Berlin >/dev/null || fail "campaign create"
fota_orch campaign start w1 >/dev/null || fail "campaign start"
published() {
	[ "$(cstatus w1 '.published and .directive_seq >= 1')" = true ]
}
fota_wait_for 20 published || { fota_orch campaign status w1; fail "no directive published"; }
s=$(fota_orch campaign status w1 --json)
fota_orch campaign status w1
events w1 >"$T/ev.json"
check "the engine admitted nobody: the window is closed" \
	[ "$(jq '[.[] | select(.kind == "admitted" and
		(.detail | test("reported before registration") | not))] | length' "$T/ev.json")" = 0 ]
check "the status names the window and zone" \
	[ "$(jq -r '"\(.window_daily) \(.tz)"' <<<"$s")" = "$window Europe/Berlin" ]
# payload_of: the decoded payload of the JWS (JSON serialization) on stdin.
payload_of() {
	local s
	s=$(jq -r .payload | tr '_-' '/+')
	while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done
	base64 -d <<<"$s"
}
FOTA_CLIENT_TIMEOUT=3 fota_sub orchestrator -t "fota/v1/groups/lab/directive" -C 1 -W 2 \
	>"$T/directive.jws" || fail "no retained directive"
check "the directive carries the daily window" \
	[ "$(payload_of <"$T/directive.jws" | jq -r '"\(.window.daily) \(.window.tz)"')" = \
	"$window Europe/Berlin" ]
deferred() {
	[ "$(fota_status_field sim-1 state)" = deferred ]
}
if fota_wait_for 20 deferred; then
	pass "the listed canary keeps to the daily window itself: deferred"
else
	fota_status_json sim-1
	fail "sim-1 did not defer"
fi
check "its reason says when the window opens" \
	grep -q "directive window opens at" <<<"$(fota_status_field sim-1 reason)"
fota_summary
