#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 200 simulated devices complete a 1 MiB campaign on one machine; prints the time taken and
# the orchestrator's status ingestion rate. FOTA_SIM_DEVICES overrides the count.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

N=${FOTA_SIM_DEVICES:-200}
fota_tmpdir T
t=$SECONDS
campaign_pki "$T/pki" "$N"
echo "PKI for $N devices in $((SECONDS - t)) s"
fota_broker_start "$T/broker"
export FOTA_ORCH_STATE=$T/orch

fota_random_image "$T/image.bin" 1
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
serve_start "$T/serve.log"
t=$SECONDS
sim_start "$N" lab "$T/sim.log" --step-ms 100 --workers 4 --summary "$T/summary.json"
echo "$N devices connected in $((SECONDS - t)) s"
fota_wait_for 60 registered lab "$N" || fail "devices did not register"

fota_orch campaign create big --image "$id" --group lab --stage 100% >/dev/null ||
	fail "campaign create"
start=$(date +%s.%N)
fota_orch campaign start big >/dev/null || fail "campaign start"
if fota_orch campaign wait big --state completed --timeout 300; then
	end=$(date +%s.%N)
	pass "$N devices completed a 1 MiB campaign"
else
	fota_orch campaign status big
	fail "campaign did not complete"
fi
fota_orch campaign status big
check "all $N confirmed" [ "$(cstatus big .counts.confirmed)" = "$N" ]
fota_stop_pid "$SERVE_PID" TERM
printf 'campaign time: %.1f s for %d devices x 1 MiB\n' "$(echo "$end - $start" | bc)" "$N"
grep "status ingestion" "$T/serve.log" | sed 's/^fota-orchestrator: /orchestrator /'

# What the simulator says must be what the broker holds, and the broadcast must have carried
# the image: each device received at least the image's bytes, and repairs sent less than a
# quarter of an image per device (a simulated device that dropped the frames arriving before
# its directive was judged, or asked before the broadcast began, repaired most of the image).
fota_stop_pid "$SIM_PID" TERM
size=$(stat -c %s "$T/image.bin")
short=$(jq --argjson s "$size" '[.devices[] | select(.bytes_received < $s)] | length' \
	"$T/summary.json")
check "every device's summary counts at least the image's $size bytes (short: $short)" \
	[ "$short" = 0 ]
check "the summary counts $N confirmed" [ "$(jq -r '.counts.confirmed' "$T/summary.json")" = "$N" ]
frames=$(sed -n 's/.*repairs served.* \([0-9]*\) frames sent.*/\1/p' "$T/serve.log" | tail -n 1)
chunks=$(fota_orch image list --json | jq -r --arg id "$id" '.[] | select(.image_id == $id) | .chunk_count')
check "repairs sent $frames frames, less than a quarter of the $chunks chunks per device" \
	[ "${frames:-0}" -lt $((N * chunks / 4)) ]
fota_summary
