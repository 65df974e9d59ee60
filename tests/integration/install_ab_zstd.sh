#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A zstd update on the A/B path through the real U-Boot tooling (docs/install.md, "Decoding"):
# `image add --compress zstd` signs the payload and the image digest; the agent stages the
# compressed payload, is cut off half-way through decoding it into slot B (a power cut), and
# on the next start decodes again from the staged payload, verifies slot B against the image
# digest, arms the trial boot and is confirmed after the reboot.
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
fota_summary
