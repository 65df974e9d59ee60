#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A zstd update on the A/B path through the real U-Boot tooling (docs/install.md, "Decoding"):
# `image add --compress zstd` signs the payload and the image digest; the agent stages the
# compressed payload, is cut off half-way through decoding it into slot B (a power cut), and
# on the next start decodes again from the staged payload, verifies slot B against the image
# digest, arms the trial boot and is confirmed after the reboot.
# Then a delta update (docs/install.md, "Delta payloads"): `image add --delta-from` offers a
# delta from 2.0.0 next to the full 3.0.0 payload; the agent, running 2.0.0 on slot B, fetches
# only the delta (by repair: nothing is broadcast on its topic), is cut off half-way through
# applying it into slot A, applies it again from the start on the next start, verifies slot A
# against the image digest and is confirmed on slot A; slot B is never written.
# Last, the wrong base: 4.0.0 offers a delta from 2.0.0, but the agent runs 3.0.0; it takes the
# full payload into slot B, says why in its status, and is confirmed on slot B.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

jws_tool=$FOTA_BUILD/tests/tools/fota_jws_tool
fota_transfer_env
fota_random_image "$T/v1.bin" 1
# A compressible image: 512 KiB that do not compress, then 3.1 MiB of text that does.
{ head -c 524288 /dev/urandom; seq 1 460000; } >"$T/v2.bin"
size=$(stat -c %s "$T/v2.bin")
sha=$(sha256sum <"$T/v2.bin" | cut -d' ' -f1)
fota_client_conf dev-1 "$T" lab
ab_setup dev-1 "$T" uboot "$T/v1.bin"

id=$(fota_image_add "$T/v2.bin" 2.0.0 2 --compress zstd:19 --method ab-slot --reboot \
	--confirm-timeout 30) || fail "image add --compress zstd failed"
"$jws_tool" verify "$FOTA_PKI/trust" release "$FOTA_ORCH_STATE/images/$id/manifest.jws" \
	>"$T/manifest.json" || fail "the stored manifest does not verify"
jq -e --arg sha "$sha" --argjson size "$size" '.image.compression == "zstd" and
	.image.decoded_size == $size and .image.decoded_sha256 == $sha and
	.image.size < $size / 2' "$T/manifest.json" >/dev/null &&
	pass "manifest signs the zstd payload ($(jq .image.size "$T/manifest.json") bytes) and the image ($size bytes)" ||
	fail "manifest: $(jq -c .image "$T/manifest.json")"
cmp -s <(zstd -dc "$FOTA_ORCH_STATE/images/$id/image.bin") "$T/v2.bin" &&
	pass "the stored payload is a zstd stream of the image" || fail "stored payload"
wlog=$(zstd -lv "$FOTA_ORCH_STATE/images/$id/image.bin" 2>/dev/null |
	awk '/Window Size/ {print $3 $4}')
[ -n "$wlog" ] && pass "zstd reports the payload's window: $wlog" || fail_soft "no window size"

# The first start is cut off half-way through decoding into slot B.
export FOTA_CLIENT_CRASH_AT=decoding
fota_client_start dev-1 "$T"
unset FOTA_CLIENT_CRASH_AT
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
ab_publish "$id" confirmed 150 "$T/publish.log"
fota_wait_for 60 grep -q "crash point 'decoding' reached" "$T/dev-1/client.log" ||
	fail "the agent never reached the decoding crash point"
fota_client_kill dev-1
pass "power cut while decoding into slot B"
ab_eq "$(ab_env dev-1 "$T")" "boot_slot=A upgrade_available=0 bootcount=0 bootlimit=3" \
	"boot environment untouched by the cut decode"
[ "$(ab_slot_sha dev-1 "$T" B "$size")" != "$sha" ] &&
	pass "slot B holds a partial image" || fail_soft "slot B complete before the cut?"
ls "$T/dev-1/state/transfer/"*.part >/dev/null 2>&1 &&
	pass "the staged payload survived the cut" || fail "no staged payload after the cut"

fota_client_start dev-1 "$T"
ab_wait_reboot dev-1 "$T" 90 ||
	{ tail -n 20 "$T/dev-1/client.log"; fail "agent never asked to reboot after decoding again"; }
ab_eq "$(grep -c "decoding .*\.part into .*B.img" "$T/dev-1/client.log")" 2 \
	"decoding ran twice: cut off, then from the start again"
ab_eq "$(ab_slot_sha dev-1 "$T" B "$size")" "$sha" "slot B holds the decoded image"
ab_eq "$(ab_env dev-1 "$T")" "boot_slot=B upgrade_available=1 bootcount=0 bootlimit=3" \
	"U-Boot env arms one trial boot of slot B"
ab_reboot dev-1 "$T"
ab_eq "$AB_BOOTED" B "bootloader starts slot B on probation"
fota_wait_state dev-1 confirmed 30 || fail "not confirmed after the reboot"
pass "2.0.0 confirmed on slot B"
ab_eq "$(jq -r .installed_sha256 "$T/dev-1/state/journal.json")" "$sha" \
	"journal records the image digest, not the payload's"
wait "$AB_ORCH" && pass "orchestrator saw 2.0.0 confirmed" ||
	{ cat "$T/publish.log" >&2; fail_soft "orchestrator did not see it"; }
ls "$T/dev-1/state/transfer/"*.part >/dev/null 2>&1 &&
	fail_soft "staged payload left behind" || pass "staged payload removed"

# 3.0.0: 2.0.0 with 8 KiB changed in the middle and 4 KiB appended.
{ head -c 1048576 "$T/v2.bin"; head -c 8192 /dev/urandom; tail -c +1056769 "$T/v2.bin"
	head -c 4096 /dev/urandom; } >"$T/v3.bin"
size3=$(stat -c %s "$T/v3.bin")
sha3=$(sha256sum <"$T/v3.bin" | cut -d' ' -f1)
id3=$(fota_image_add "$T/v3.bin" 3.0.0 3 --delta-from "$id" --method ab-slot --reboot \
	--confirm-timeout 30) || fail "image add --delta-from failed"
"$jws_tool" verify "$FOTA_PKI/trust" release "$FOTA_ORCH_STATE/images/$id3/manifest.jws" \
	>"$T/manifest3.json" || fail "the stored manifest does not verify"
jq -e --arg sha "$sha" --argjson size "$size" --arg sha3 "$sha3" '.image.sha256 == $sha3 and
	.image.delta.from_sha256 == $sha and .image.delta.from_size == $size and
	.image.delta.compression == "zstd" and .image.delta.size < .image.size / 20' \
	"$T/manifest3.json" >/dev/null &&
	pass "one manifest signs the full payload and a $(jq .image.delta.size "$T/manifest3.json")-byte delta from 2.0.0" ||
	fail "manifest: $(jq -c .image "$T/manifest3.json")"
delta_id=$(jq -r '.image.delta.sha256[0:16]' "$T/manifest3.json")
cmp -s "$FOTA_ORCH_STATE/images/$delta_id/manifest.jws" \
	"$FOTA_ORCH_STATE/images/$id3/manifest.jws" &&
	pass "the delta payload $delta_id is stored under the same signed manifest" ||
	fail "no delta payload $delta_id in the store"

fota_client_kill dev-1
export FOTA_CLIENT_CRASH_AT=decoding
fota_client_start dev-1 "$T"
unset FOTA_CLIENT_CRASH_AT
back_online() { [[ "$(fota_status_field dev-1 state)" =~ ^(idle|confirmed)$ ]]; }
fota_wait_for 10 back_online || fail "dev-1 did not come back online"
fota_orch_bg "$T/publish3.log" publish "$id3" --group lab --serve \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate 8388608 \
	--wait-devices dev-1 --wait-state confirmed --timeout 150
AB_ORCH=$FOTA_ORCH_PID
cut_twice() { [ "$(grep -c "crash point 'decoding' reached" "$T/dev-1/client.log")" = 2 ]; }
fota_wait_for 60 cut_twice ||
	{ tail -n 20 "$T/dev-1/client.log"; fail "the agent never reached the crash point applying the delta"; }
fota_client_kill dev-1
pass "power cut while applying the delta into slot A"
grep -q "accepted: firmware 3.0.0 (delta payload $delta_id" "$T/dev-1/client.log" &&
	pass "the agent chose the delta: it runs the delta's base" || fail_soft "no delta chosen"
ab_eq "$(ab_env dev-1 "$T")" "boot_slot=B upgrade_available=0 bootcount=0 bootlimit=3" \
	"boot environment untouched by the cut apply"
ab_eq "$(ab_slot_sha dev-1 "$T" B "$size")" "$sha" "slot B, the base, still holds 2.0.0"

fota_client_start dev-1 "$T"
ab_wait_reboot dev-1 "$T" 90 ||
	{ tail -n 20 "$T/dev-1/client.log"; fail "agent never asked to reboot after applying again"; }
ab_eq "$(grep -c "decoding .*$delta_id\.part into .*A.img" "$T/dev-1/client.log")" 2 \
	"the delta was applied twice: cut off, then from the start again"
ab_eq "$(ab_slot_sha dev-1 "$T" A "$size3")" "$sha3" "slot A holds 3.0.0, built from the delta"
grep -q "holds firmware 3.0.0 (from the delta payload), verified" "$T/dev-1/client.log" &&
	pass "slot A verified against the image digest before the switch" || fail_soft "no verify line"
ab_reboot dev-1 "$T"
ab_eq "$AB_BOOTED" A "bootloader starts slot A on probation"
fota_wait_state dev-1 confirmed 30 || fail "3.0.0 not confirmed after the reboot"
pass "3.0.0 confirmed on slot A"
ab_eq "$(jq -r .installed_sha256 "$T/dev-1/state/journal.json")" "$sha3" \
	"journal records the 3.0.0 image digest"
wait "$AB_ORCH" && pass "orchestrator saw 3.0.0 confirmed" ||
	{ cat "$T/publish3.log" >&2; fail_soft "orchestrator did not see it"; }

# 4.0.0: 3.0.0 with 4 KiB changed, offering a delta from 2.0.0, which dev-1 no longer runs.
cp "$T/v3.bin" "$T/v4.bin"
head -c 4096 /dev/urandom | dd of="$T/v4.bin" bs=4096 seek=100 conv=notrunc status=none
size4=$(stat -c %s "$T/v4.bin")
sha4=$(sha256sum <"$T/v4.bin" | cut -d' ' -f1)
id4=$(fota_image_add "$T/v4.bin" 4.0.0 4 --delta-from "$id" --method ab-slot --reboot \
	--confirm-timeout 30) || fail "image add --delta-from (4.0.0) failed"
fota_orch_bg "$T/publish4.log" publish "$id4" --group lab --serve \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate 8388608 \
	--wait-devices dev-1 --wait-state confirmed --timeout 150
AB_ORCH=$FOTA_ORCH_PID
rebooting() { [ "$(fota_status_field dev-1 state)" = rebooting ]; }
fota_wait_for 90 rebooting ||
	{ tail -n 20 "$T/dev-1/client.log"; fail "agent never got to reboot into 4.0.0"; }
grep -q "accepted: firmware 4.0.0 (full payload $id4" "$T/dev-1/client.log" &&
	pass "wrong base: the agent chose the full payload" || fail_soft "wrong base: no full payload"
reason=$(fota_status_field dev-1 reason)
[[ "$reason" == "full payload: the delta's base ${sha:0:16}... is not the installed image ${sha3:0:16}..." ]] &&
	pass "wrong base: the status says why: $reason" || fail_soft "wrong base: reason '$reason'"
ab_eq "$(ab_slot_sha dev-1 "$T" B "$size4")" "$sha4" "slot B holds 4.0.0, from the full payload"
ab_reboot dev-1 "$T"
ab_eq "$AB_BOOTED" B "bootloader starts slot B on probation"
fota_wait_state dev-1 confirmed 30 || fail "4.0.0 not confirmed after the reboot"
pass "4.0.0 confirmed on slot B"
wait "$AB_ORCH" && pass "orchestrator saw 4.0.0 confirmed" ||
	{ cat "$T/publish4.log" >&2; fail_soft "orchestrator did not see it"; }
fota_summary
