#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Several `serve --shared` instances (FOTA_SCALE_INSTANCES, default 3) on one PostgreSQL store
# (tests/tools/with_postgres.sh) and one broker run a staged campaign for 20 simulated devices;
# the first instance is killed with -9 once the second stage opened and the others finish the
# campaign. The campaign's trail then shows every device confirmed and admitted once, each
# stage opened once, directive sequences strictly rising, and no broadcast sent by two
# instances.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${FOTA_TEST_STORE:-}" ]; then
	exec "$here/../tools/with_postgres.sh" bash "$0" "$@"
fi
. "$here/lib.sh"
. "$here/transfer_lib.sh"
. "$here/campaign_lib.sh"

N=20
INSTANCES=${FOTA_SCALE_INSTANCES:-3}
[ "$INSTANCES" -ge 2 ] 2>/dev/null || fail "FOTA_SCALE_INSTANCES must be 2 or more, not '$INSTANCES'"
campaign_env "$N"
printf '[orchestrator]\nstore = %s\n' "$FOTA_TEST_STORE" >"$T/orchestrator.conf"
export FOTA_ORCHESTRATOR_CONFIG=$T/orchestrator.conf

# Each instance has its own state directory (image files, serve's lock); the store is shared.
# Instance 1 uses the default state directory of campaign_env.
fota_random_image "$T/image.bin" 512k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add (1)"
state() { if [ "$1" = 1 ]; then echo "$FOTA_ORCH_STATE"; else echo "$T/orch-$1"; fi; }
pids=()
for i in $(seq 1 "$INSTANCES"); do
	if [ "$i" -gt 1 ]; then
		FOTA_ORCH_STATE=$(state "$i") fota_image_add "$T/image.bin" 2.0.0 10 \
			--chunk-size 16384 >/dev/null || fail "image add ($i)"
	fi
	FOTA_ORCH_STATE=$(state "$i") serve_start "$T/serve-$i.log"
	pids+=("$SERVE_PID")
done
sim_start "$N" lab "$T/sim.log" --step-ms 300
fota_wait_for 30 registered lab "$N" || fail "devices did not register"
pass "$N devices registered through $INSTANCES instances"

# Stage 2 admits 13 more of the 20 devices: more than half the group, so it is broadcast
# (docs/campaigns.md); the canary and the last 5 are served by unicast repair.
fota_orch campaign create r1 --image "$id" --group lab --stage sim-3,sim-17 \
	--stage 75%:success=100 --stage 100% >/dev/null || fail "campaign create"
fota_orch campaign start r1 >/dev/null || fail "campaign start"
# Mid-campaign: once the second stage opened, instance 1 dies without a word.
stage_two() { [ "$(cstatus r1 .stage)" -ge 2 ]; }
fota_wait_for 60 stage_two || fail "the second stage did not open"
kill -9 "${pids[0]}"
pass "instance 1 killed with -9 in stage $(cstatus r1 .stage) of 3"
if fota_orch campaign wait r1 --state completed --timeout 120; then
	pass "the other $((INSTANCES - 1)) instances completed the campaign"
else
	fota_orch campaign status r1
	fail "the campaign did not complete after instance 1 died"
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

# One owner per broadcast. Only stage 2 is broadcast; one instance starts it, or resumes it
# after its first owner was killed. So apart from the killed instance, at most one instance
# ever started (or resumed) a broadcast: every instance sending it would make that all of
# them.
grep -h "broadcast of image" "$T"/serve-*.log || true
started() { grep -cE "broadcast of image $id to group lab \(campaign r1, [0-9]+ devices\): " "$1" || true; }
total=0 survivors=0
for i in $(seq 1 "$INSTANCES"); do
	n=$(started "$T/serve-$i.log")
	echo "instance $i started or resumed $n broadcasts"
	total=$((total + n))
	[ "$i" = 1 ] || [ "$n" = 0 ] || survivors=$((survivors + 1))
done
check "the stage-2 broadcast was sent ($total starts)" [ "$total" -ge 1 ]
check "at most one surviving instance broadcast ($survivors)" [ "$survivors" -le 1 ]
fota_summary
