#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `serve` is killed (-9) in the middle of a campaign's broadcast and restarted: it resumes the
# broadcast at the first chunk the broker had not acknowledged, so the stage's devices take
# the rest from the broadcast. Bound: after the restart the three devices have at most one
# repair window (32 chunks) each repaired, far below the 3 x (128 - chunks seen before the
# kill) a daemon that never broadcasts again leaves to repair.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

DEVICES=3
WINDOW=32
campaign_env "$DEVICES"
# 128 chunks at 512 KiB/s: about 15 s of broadcast, time enough to kill it midway.
fota_random_image "$T/image.bin" 8
chunks=128
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 65536) || fail "image add failed"
serve_start "$T/serve.log" --rate 512K
sim_start "$DEVICES" lab "$T/sim.log" --window "$WINDOW"
fota_wait_for 20 registered lab "$DEVICES" || fail "devices did not register"
fota_sub_bg orchestrator "$T/frames.txt" -t "fota/v1/groups/lab/#" -F '%t %l'

fota_orch campaign create rb --image "$id" --group lab --stage 100%:success=100 >/dev/null ||
	fail "campaign create"
fota_orch campaign start rb >/dev/null || fail "campaign start"
fota_wait_for 60 bcast_frames_at_least "$T/frames.txt" 16 || fail "the broadcast did not start"
kill -KILL "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
seen=$(bcast_frames "$T/frames.txt")
check "serve killed with -9 mid-broadcast ($seen of $chunks frames out)" [ "$seen" -lt "$chunks" ]
sleep 2 # the devices wait, then ask for repairs that nobody answers
serve_start "$T/serve2.log" --rate 512K
if fota_orch campaign wait rb --state completed --timeout 120 >/dev/null; then
	pass "the campaign completed after the restart"
else
	fota_orch campaign status rb || true
	tail -n 30 "$T/serve2.log" >&2
	fail "the campaign did not complete after the restart"
fi

at=$(sed -n "s/.*broadcast of image $id to group lab (campaign rb, [0-9]* devices): resuming at chunk \([0-9]*\) of $chunks.*/\1/p" "$T/serve2.log" | sed -n 1p)
check "the restarted serve resumed the broadcast midway (at chunk ${at:-none} of $chunks)" \
	[ -n "$at" ] && [ "$at" -gt 0 ] && [ "$at" -lt "$chunks" ]
check "the resumed broadcast sent the remaining $((chunks - ${at:-0})) chunks" \
	grep -q "broadcast of image $id to group lab: sent $((chunks - ${at:-0})) chunks" "$T/serve2.log"
check "the event log records it as a success resumed at chunk ${at:-none}" \
	[ "$(events rb | jq --arg at "(resumed at chunk ${at:-x})" '[.[] | select(.kind == "broadcast" and .result == "success" and (.detail | contains($at)))] | length')" = 1 ]
repaired=$(cat "$T/serve2.log" | sed -n 's/.*repair for sim-[0-9]*: sent \([0-9]*\) chunk.*/\1/p' |
	awk '{ s += $1 } END { print s + 0 }')
echo "after the restart: $repaired chunks repaired for $DEVICES devices; without the resume they would repair at least $((DEVICES * (chunks - seen)))"
check "after the restart at most $WINDOW chunks per device were repaired ($repaired for $DEVICES devices)" \
	[ "$repaired" -le $((DEVICES * WINDOW)) ]
check "all $DEVICES devices confirmed" [ "$(cstatus rb .counts.confirmed)" = "$DEVICES" ]
fota_summary
