#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two `serve --shared` instances on one PostgreSQL store (tests/tools/with_postgres.sh) and one
# broker run a staged campaign for 20 simulated devices; one instance is killed with -9 while
# the campaign runs and the other finishes it. The campaign's trail then shows every device
# admitted once, each stage opened once, directive sequences strictly rising, and every
# device confirmed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${FOTA_TEST_STORE:-}" ]; then
	exec "$here/../tools/with_postgres.sh" bash "$0" "$@"
fi
. "$here/lib.sh"
. "$here/transfer_lib.sh"
. "$here/campaign_lib.sh"

N=20
campaign_env "$N"
printf '[orchestrator]\nstore = %s\n' "$FOTA_TEST_STORE" >"$T/orchestrator.conf"
export FOTA_ORCHESTRATOR_CONFIG=$T/orchestrator.conf

# Each instance has its own state directory (image files, serve's lock); the store is shared.
fota_random_image "$T/image.bin" 512k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add (a)"
FOTA_ORCH_STATE=$T/orch-b fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384 >/dev/null ||
	fail "image add (b)"
serve_start "$T/serve-a.log"
a=$SERVE_PID
FOTA_ORCH_STATE=$T/orch-b serve_start "$T/serve-b.log"
b=$SERVE_PID
sim_start "$N" lab "$T/sim.log" --step-ms 300
fota_wait_for 30 registered lab "$N" || fail "devices did not register"
pass "$N devices registered through two instances"

fota_orch campaign create r1 --image "$id" --group lab --stage sim-3,sim-17 \
	--stage 50%:success=100 --stage 100% >/dev/null || fail "campaign create"
fota_orch campaign start r1 >/dev/null || fail "campaign start"
# Mid-campaign: once the second stage opened, instance a dies without a word.
stage_two() { [ "$(cstatus r1 .stage)" -ge 2 ]; }
fota_wait_for 60 stage_two || fail "the second stage did not open"
kill -9 "$a"
pass "instance a killed with -9 in stage $(cstatus r1 .stage) of 3"
if fota_orch campaign wait r1 --state completed --timeout 120; then
	pass "instance b completed the campaign"
else
	fota_orch campaign status r1
	fail "the campaign did not complete after instance a died"
fi
check "all $N confirmed" [ "$(cstatus r1 .counts.confirmed)" = "$N" ]

events r1 >"$T/events.json"
dup=$(jq -r '[.[] | select(.kind == "admitted") | .device] | group_by(.) |
	map(select(length > 1) | .[0]) | join(" ")' "$T/events.json")
check "no device admitted twice (${dup:-none})" [ -z "$dup" ]
check "every device admitted" \
	[ "$(jq '[.[] | select(.kind == "admitted")] | length' "$T/events.json")" = "$N" ]
check "each of the 2 stage advances recorded once" \
	[ "$(jq '[.[] | select(.device == "" and .kind == "stage")] | length' "$T/events.json")" = 2 ]
seqs=$(jq -r '.[] | select(.kind == "directive") | .detail' "$T/events.json" |
	sed -n 's/^seq \([0-9]*\):.*/\1/p' | tr '\n' ' ')
rising=$(awk '{ok = 1; for (i = 2; i <= NF; i++) if ($i <= $(i - 1)) ok = 0; print ok}' <<<"$seqs")
check "directive sequences strictly rising ($seqs)" [ "$rising" = 1 ]
grep -h "broadcast of image" "$T/serve-a.log" "$T/serve-b.log" || true
fota_summary
