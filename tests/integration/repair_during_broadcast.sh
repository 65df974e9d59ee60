#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A device that asks for the whole image while the campaign's broadcast to its group is still
# running gets the chunks the broadcast has not sent yet from the broadcast, not unicast: serve
# cuts the request at the first chunk the broker has not acknowledged, counts and logs the cut,
# and sends unicast only the chunks below it. Three real agents in group lab, a campaign of
# 100 %, a broadcast paced to 64 KiB/s (16 chunks of 64 KiB: a burst of 8, then one a
# second); right after it starts, a request as dev-1 for all 16 chunks. Before the cut serve
# sent all 16 to dev-1 unicast.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

CHUNKS=16
fota_transfer_env
ORCH_KEY_ARGS=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")

fota_random_image "$T/image.bin" 1
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 65536) || fail "image add failed"
serve_start "$T/serve.log" --rate 64K
for d in dev-1 dev-2 dev-3; do
	fota_client_conf "$d" "$T" lab
	fota_client_start "$d" "$T"
done
fota_wait_for 30 registered lab 3 || fail "the agents did not register in group lab"

# Every frame sent to dev-1's own chunk topic, one line each.
fota_sub_bg dev-1 "$T/unicast.txt" -t fota/v1/devices/dev-1/chunks -F '%l'
fota_orch campaign create rb --image "$id" --group lab --stage 100%:success=100 \
	--fail-threshold 1 >/dev/null || fail "campaign create"
fota_orch campaign start rb >/dev/null || fail "campaign start"
fota_wait_line "$T/serve.log" "broadcast of image $id to group lab (campaign rb" 30 ||
	fail "serve did not start the broadcast"
fota_pub dev-1 -q 1 -t fota/v1/devices/dev-1/request \
	-m "{\"image\":\"$id\",\"table\":false,\"ranges\":[[0,$CHUNKS]]}" ||
	fail "the early request did not reach the broker"
pass "dev-1 asked for all $CHUNKS chunks while the broadcast ran"

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
# After the burst one chunk a second: 4 chunks are 4 s, far more than the request's way to serve.
check "at least 4 of the $CHUNKS asked chunks were left to the broadcast (${cut:-0})" \
	[ "${cut:-0}" -ge 4 ]
check "dev-1 was sent $unicast unicast frames, at most $CHUNKS - 4" [ "$unicast" -le $((CHUNKS - 4)) ]
fota_stop_pid "$SERVE_PID" TERM
check "the cut is counted in serve's stop line" \
	grep -Eq "stopping: .*; [1-9][0-9]* requests cut by [1-9][0-9]* chunks" "$T/serve.log"
fota_summary
