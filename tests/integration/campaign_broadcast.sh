#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A campaign run by `serve` broadcasts the image when a stage admits several devices: four real
# agents, a canary of one (fetched by repair) then 100 %; the three stage-2 devices receive the
# 4 MiB image once, from the broadcast, and repair little or nothing.
# Then a second campaign whose image offers a delta from the first: the four devices run its
# base, a fifth joins with none, so the broadcast carries the delta and the fifth device takes
# the full payload by repair (docs/campaigns.md, "Which payload a broadcast carries").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

CHUNK=65536
campaign_agents_scene 4 "$CHUNK" 4
id=$IMAGE_ID
size=$(stat -c %s "$T/image.bin")
chunks=$(((size + CHUNK - 1) / CHUNK))
pass "4 agents registered in group lab"

fota_orch campaign create bc --image "$id" --group lab --stage dev-1:success=100 \
	--stage 100%:success=100 --fail-threshold 1 >/dev/null || fail "campaign create"
fota_orch campaign start bc >/dev/null || fail "campaign start"
if fota_orch campaign wait bc --state completed --timeout 150 >/dev/null; then
	pass "campaign completed"
else
	fota_orch campaign status bc || true
	tail -n 40 "$T/serve.log" >&2
	fail "campaign did not complete"
fi
fota_orch campaign status bc | tee "$T/status.txt"

check "all 4 devices confirmed" [ "$(cstatus bc .counts.confirmed)" = 4 ]
for d in dev-1 dev-2 dev-3 dev-4; do
	fota_same "$T/$d/target/firmware.bin" "$T/image.bin" "$d's installed image"
done

# The canary stage admitted one device: repair only, no broadcast. Stage 2 admitted three.
check "serve skipped the broadcast for the single canary" \
	grep -q "campaign bc: no broadcast for 1 device" "$T/serve.log"
check "serve broadcast the image to lab for the 3 stage-2 devices" \
	grep -q "broadcast of image $id to group lab (campaign bc, 3 devices)" "$T/serve.log"
check "the broadcast sent all $chunks chunks" \
	grep -q "broadcast of image $id to group lab: sent $chunks chunks" "$T/serve.log"
check "campaign status shows 'broadcasts: 1'" grep -qx "broadcasts: 1" "$T/status.txt"
# 1 of 4 members does not pay for a broadcast, 3 of 4 do (docs/campaigns.md).
check "campaign status shows the canary stage as unicast" \
	grep -Eq "^stage 1 .* unicast done$" "$T/status.txt"
check "campaign status shows stage 2 as broadcast" \
	grep -Eq "^stage 2 .* broadcast done$" "$T/status.txt"
check "campaign status --json has the delivery per stage and the group size" \
	[ "$(fota_orch campaign status bc --json |
		jq -r '[.stages[].delivery] + [.group_members | tostring] | join(" ")')" = \
		"unicast broadcast 4" ]
check "the event log records one successful broadcast" \
	[ "$(events bc | jq '[.[] | select(.kind == "broadcast" and .result == "success")] | length')" = 1 ]

# What the stage-2 devices received and what serve repaired for them.
rx=0
repaired=0
for d in dev-2 dev-3 dev-4; do
	b=$(fota_rx_bytes "$T/$d/client.log")
	[ -n "$b" ] || b=0
	n=$(sed -n "s/.*repair for $d: sent \([0-9]*\) chunk.*/\1/p" "$T/serve.log" |
		awk '{ s += $1 } END { print s + 0 }')
	echo "$d received $b bytes for $size; $n chunks repaired"
	rx=$((rx + b))
	repaired=$((repaired + n))
done
canary=$(sed -n 's/.*repair for dev-1: sent \([0-9]*\) chunk.*/\1/p' "$T/serve.log" |
	awk '{ s += $1 } END { print s + 0 }')
echo "dev-1 (canary): $canary chunks repaired of $chunks"
check "the canary fetched its image by repair ($canary of $chunks chunks)" [ "$canary" -ge "$chunks" ]
check "stage-2 devices received $rx bytes, under 1.5 x 3 x $size" \
	[ "$rx" -lt $((3 * size * 3 / 2)) ]
check "stage-2 devices had $repaired chunks repaired, far fewer than 3 x $chunks" \
	[ "$repaired" -lt $((3 * chunks / 4)) ]
fota_orch campaign events bc | grep -v " dev-" || true

# The next release differs in one 64 KiB block: its delta from 2.0.0 is a few chunks.
cp "$T/image.bin" "$T/image2.bin"
head -c 65536 /dev/urandom | dd of="$T/image2.bin" bs=65536 seek=20 conv=notrunc status=none
id2=$(fota_image_add "$T/image2.bin" 3.0.0 11 --chunk-size "$CHUNK" --delta-from "$id") ||
	fail "image add --delta-from failed"
delta_id=$(jq -r '.image.delta.sha256[0:16]' \
	<("$FOTA_BUILD/tests/tools/fota_jws_tool" verify "$FOTA_PKI/trust" release \
		"$FOTA_ORCH_STATE/images/$id2/manifest.jws"))
[ -n "$delta_id" ] && [ "$delta_id" != null ] || fail "image $id2 offers no delta"
chunks2=$(((size + CHUNK - 1) / CHUNK))
fota_client_conf dev-5 "$T" lab
fota_client_start dev-5 "$T"
fota_wait_for 30 registered lab 5 || fail "dev-5 did not register in group lab"
fota_orch campaign create bd --image "$id2" --group lab --stage 100%:success=100 \
	--fail-threshold 1 >/dev/null || fail "campaign create bd"
fota_orch campaign start bd >/dev/null || fail "campaign start bd"
if fota_orch campaign wait bd --state completed --timeout 150 >/dev/null; then
	pass "campaign bd (image with a delta) completed"
else
	fota_orch campaign status bd || true
	tail -n 40 "$T/serve.log" >&2
	fail "campaign bd did not complete"
fi
fota_orch campaign status bd | tee "$T/status2.txt"
for d in dev-1 dev-2 dev-3 dev-4 dev-5; do
	fota_same "$T/$d/target/firmware.bin" "$T/image2.bin" "$d's installed 3.0.0"
done
check "serve broadcast the delta, not the full image, for the 5 waiting devices" \
	grep -q "broadcast of image $delta_id to group lab (campaign bd, 5 devices)" "$T/serve.log"
check "serve did not broadcast the full image $id2" \
	bash -c "! grep -q 'broadcast of image $id2 to group' '$T/serve.log'"
check "serve logged why: 4 of 5 waiting devices run the base" \
	grep -q "campaign bd: delta $delta_id broadcast: 4 of 5 waiting devices run the delta's base $id (version 2.0.0)" "$T/serve.log"
for d in dev-1 dev-2 dev-3 dev-4; do
	check "$d took the delta" grep -q "(delta payload $delta_id" "$T/$d/client.log"
done
check "dev-5 (no installed image) took the full payload and said why" \
	grep -q "(full payload $id2" "$T/dev-5/client.log"
check "dev-5's status said why it took the full payload" \
	[ "$(events bd | jq -r '[.[] | select(.device == "dev-5") | .detail] | map(select(test("^full payload: the delta.s base"))) | length')" -ge 1 ]
full5=$(sed -n "s/.*repair for dev-5: sent \([0-9]*\) chunk.*/\1/p" "$T/serve.log" |
	awk '{ s += $1 } END { print s + 0 }')
check "dev-5 received the full image by repair ($full5 chunks of $chunks2)" \
	[ "$full5" -ge "$chunks2" ]
# Completed: nobody waits any more, so a broadcast now would carry the full payload.
check "campaign status --json shows the delta, its base and that nobody waits" \
	[ "$(cstatus bd '.payload | [.delta, .base, .base_version, .waiting, .broadcast] |
		map(tostring) | join(" ")')" = "$delta_id $id 2.0.0 0 full" ]
last=$(cstatus bd .payload.last_choice)
check "campaign status --json has the last choice" \
	grep -q "^delta $delta_id broadcast: 4 of 5 waiting devices" <<<"$last"
check "campaign status shows the delta and the last choice" \
	grep -q "^         last choice: delta $delta_id broadcast: 4 of 5 waiting devices" "$T/status2.txt"
check "the event log records the choice" \
	[ "$(events bd | jq '[.[] | select(.kind == "payload" and .result == "delta")] | length')" -ge 1 ]
fota_summary
