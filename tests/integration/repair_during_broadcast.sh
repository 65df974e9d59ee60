#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A device that asks for the whole image while the campaign's broadcast to its group is still
# running gets the chunks the broadcast has not sent yet from the broadcast, not unicast: serve
# cuts the request at the first chunk the broker has not acknowledged, counts and logs the cut,
# and sends unicast only the chunks below it. Three real agents in group lab, a campaign of
# 100 %, a broadcast paced to 128 KiB/s (16 chunks of 64 KiB: a burst of 8, then two a
# second); right after it starts, a request on dev-1's topic for all 16 chunks. Before the cut serve
# sent all 16 to dev-1 unicast.
# Then the grace period after the broadcast ended (as long as it ran): a request right after
# its end is cut too (the broker may still be delivering the broadcast), and one after the
# grace period is served in full. Before the grace period both were served in full.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

CHUNKS=16
campaign_agents_scene 1 65536 3 --rate 128K
id=$IMAGE_ID

# Every frame sent to dev-1's own chunk topic, one line each (read as the orchestrator: a
# second connection with dev-1's certificate would take over the agent's session, whose client
# id is its CN).
fota_sub_bg orchestrator "$T/unicast.txt" -t fota/v1/devices/dev-1/chunks -F '%l'
fota_orch campaign create rb --image "$id" --group lab --stage 100%:success=100 \
	--fail-threshold 1 >/dev/null || fail "campaign create"
fota_orch campaign start rb >/dev/null || fail "campaign start"
fota_wait_line "$T/serve.log" "broadcast of image $id to group lab (campaign rb" 30 ||
	fail "serve did not start the broadcast"
# On dev-1's request topic, for the same reason with the orchestrator's certificate: serve
# knows a requester only by its topic.
fota_pub orchestrator -q 1 -t fota/v1/devices/dev-1/request \
	-m "{\"image\":\"$id\",\"table\":false,\"ranges\":[[0,$CHUNKS]]}" ||
	fail "the early request did not reach the broker"
pass "dev-1 asked for all $CHUNKS chunks while the broadcast ran"

# The grace period after the broadcast's end, as long as it ran: a request right after the end
# is cut too, the broker may still be delivering the broadcast. 4 chunks: within the pacer's
# burst, so served at once when they are served.
ask4() {
	fota_pub orchestrator -q 1 -t fota/v1/devices/dev-1/request \
		-m "{\"image\":\"$id\",\"table\":false,\"ranges\":[[0,4]]}"
}
fota_wait_line "$T/serve.log" "broadcast of image $id to group lab: sent $CHUNKS chunks" 60 ||
	fail "the broadcast did not end"
ended_at=$SECONDS
ask4 || fail "the request after the broadcast did not reach the broker"
fota_wait_line "$T/serve.log" "repair for dev-1 cut: 4 chunks from 0 on came by the broadcast of $id, which ended within its grace period" 10 ||
	fail "a request right after the broadcast ended was served, not left to it (grace period)"
pass "a request right after the broadcast ended was left to it (grace period)"

if fota_orch campaign wait rb --state completed --timeout 60 >/dev/null; then
	pass "campaign completed"
else
	fota_orch campaign status rb || true
	tail -n 30 "$T/serve.log" >&2
	fail "campaign did not complete"
fi
for d in dev-1 dev-2 dev-3; do
	fota_same "$T/$d/target/firmware.bin" "$T/image.bin" "$d's installed image"
done
check "the broadcast sent all $CHUNKS chunks" \
	grep -q "broadcast of image $id to group lab: sent $CHUNKS chunks" "$T/serve.log"

grep "repair for dev-1" "$T/serve.log" || true
cut_line=$(grep -m 1 "repair for dev-1 cut: " "$T/serve.log") || cut_line=""
cut=$(echo "$cut_line" | sed -n 's/.* cut: \([0-9]*\) chunks\{0,1\} from \([0-9]*\) on .*/\1/p')
check "serve logged the cut and why" [ -n "$cut" ]
# Repairs are paced too: the answer is complete once serve logs what it sent dev-1.
fota_wait_line "$T/serve.log" "repair for dev-1: sent " 40 || fail "serve never finished answering dev-1"
sleep 1 # its last frames reach the subscriber
unicast=$(wc -l <"$T/unicast.txt")
echo "unicast to dev-1: $unicast frames; left to the broadcast: ${cut:-0} chunks"
# After the burst two chunks a second: 4 chunks are 2 s, far more than the request's way to serve.
check "at least 4 of the $CHUNKS asked chunks were left to the broadcast (${cut:-0})" \
	[ "${cut:-0}" -ge 4 ]
check "dev-1 was sent $unicast unicast frames, at most $CHUNKS - 4" [ "$unicast" -le $((CHUNKS - 4)) ]

# Past the grace period (the broadcast's duration, whole seconds rounded up, from its end), the
# same request is served in full.
grace_s=$(sed -n "s/.*broadcast of image $id to group lab: sent $CHUNKS chunks, .* in \([0-9]*\)\.[0-9] s .*/\1/p" "$T/serve.log")
echo "the broadcast ran ${grace_s:-?}.x s: its grace period"
[ -n "$grace_s" ] || fail "serve did not log how long the broadcast ran"
left=$((grace_s + 1 - (SECONDS - ended_at)))
[ "$left" -le 0 ] || sleep "$left"
before=$(wc -l <"$T/unicast.txt")
answers() { grep -c "repair for dev-1: sent " "$T/serve.log" || true; }
answered=$(answers)
ask4 || fail "the request after the grace period did not reach the broker"
more_answers() { [ "$(answers)" -gt "$answered" ]; }
fota_wait_for 15 more_answers || fail "a request after the grace period was not served"
sleep 1 # its last frames reach the subscriber
after=$(($(wc -l <"$T/unicast.txt") - before))
check "after the grace period the 4 asked chunks went to dev-1 unicast ($after frames)" [ "$after" = 4 ]

fota_stop_pid "$SERVE_PID" TERM
check "both cuts are counted in serve's stop line" \
	grep -Eq "stopping: .*; [1-9][0-9]* requests cut by [1-9][0-9]* chunks a running broadcast brought, 1 requests by 4 chunks an ended broadcast brought in its grace period" "$T/serve.log"
fota_summary
