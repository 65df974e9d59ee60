#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `campaign abort` while devices are downloading: they drop their staged data and report it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 5

fota_random_image "$T/image.bin" 256k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 4096) || fail "image add failed"
serve_start "$T/serve.log"
# Slow links: 2 chunks per request, 300 ms apart, so the download takes ~10 s.
sim_start 5 lab "$T/sim.log" --window 2 --chunk-delay-ms 300 --summary "$T/summary.json"
fota_wait_for 20 registered lab 5 || fail "devices did not register"

fota_orch campaign create r3 --image "$id" --group lab --stage 100% >/dev/null ||
	fail "campaign create"
fota_orch campaign start r3 >/dev/null || fail "campaign start"
downloading() {
	[ "$(cstatus r3 '.counts.states.downloading // 0')" = 5 ]
}
fota_wait_for 30 downloading || fail "devices did not start downloading"
sleep 1
pass "5 devices mid-download ($(fota_status_field sim-1 present)/64 chunks on sim-1)"
fota_orch campaign abort r3 || fail "abort"
dropped() {
	[ "$(cstatus r3 .counts.aborted)" = 5 ]
}
if fota_wait_for 20 dropped; then
	pass "all 5 devices reported the abort"
else
	fota_orch campaign status r3
	fail_soft "not every device reported the abort"
fi
for i in 1 2 3 4 5; do
	check "sim-$i reports idle/aborted with staged data dropped" \
		[ "$(fota_status_field "sim-$i" result)/$(fota_status_field "sim-$i" present)" = "aborted/0" ]
done
check "the audit trail records the abort by command" \
	[ "$(fota_orch campaign events r3 --json | jq '[.[] | select(.kind == "aborted")] | length')" = 1 ]
check "abort of an aborted campaign is refused with exit 6" \
	bash -c '! fota_orch_rc=0; "$0" "$@" >/dev/null 2>&1; [ $? = 6 ]' \
	"$FOTA_ORCH_BIN" --state-dir "$FOTA_ORCH_STATE" campaign abort r3
check "status of an unknown campaign exits 5" \
	bash -c '"$0" "$@" >/dev/null 2>&1; [ $? = 5 ]' \
	"$FOTA_ORCH_BIN" --state-dir "$FOTA_ORCH_STATE" campaign status nope
fota_summary
