#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/install.md, "Decoding": a zstd update through the file backend. The device receives
# the compressed payload (fewer bytes than the image), decodes it beside the staged payload,
# verifies it against the signed image digest and installs the image; nothing is left in the
# state directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env
# 256 KiB that do not compress, then 2.3 MiB of text that does.
{ head -c 262144 /dev/urandom; seq 1 350000; } >"$T/image.bin"
size=$(stat -c %s "$T/image.bin")
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --compress zstd:3) || fail "image add failed"
payload=$(stat -c %s "$FOTA_ORCH_STATE/images/$id/image.bin")
[ "$payload" -lt "$((size / 2))" ] && pass "payload $payload bytes for an image of $size" ||
	fail "payload $payload bytes for an image of $size"

fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--wait-devices dev-1 --wait-state confirmed --timeout 60 >"$T/publish.log" 2>&1 ||
	{ cat "$T/publish.log"; tail -n 20 "$T/dev-1/client.log"; fail "publish did not end confirmed"; }
pass "dev-1 confirmed the zstd update"
cmp -s "$T/image.bin" "$T/dev-1/target/firmware.bin" && pass "the target holds the image" ||
	fail "the target is not the image"
rx=$(grep -o 'installed firmware 2.0.0 into .* (\([0-9]*\) bytes received' "$T/dev-1/client.log" |
	grep -o '([0-9]*' | tr -d '(')
[ -n "$rx" ] && [ "$rx" -lt "$size" ] && pass "$rx bytes received for $size installed" ||
	fail_soft "bytes received '$rx' for $size"
check "no staged or decoded file is left" test -z "$(ls "$T/dev-1/state/transfer/")"

# docs/orchestrator.md: the ultra levels are held to the devices' 8 MiB window (zstd would
# take 32 MiB at level 20 for an image this size); the frame has its content size and no
# zstd checksum.
seq 1 1300000 >"$T/big.bin"
id=$(fota_image_add "$T/big.bin" 4.0.0 12 --compress zstd:20) || fail "image add zstd:20 failed"
zstd -lv "$FOTA_ORCH_STATE/images/$id/image.bin" >"$T/zstd-l.txt" 2>&1 || true
grep -Eq 'Window Size: +8\.00 MiB' "$T/zstd-l.txt" && pass "level 20: window 8 MiB" ||
	fail_soft "level 20 window: $(grep Window "$T/zstd-l.txt")"
grep -Eq "Decompressed Size: .*\($(stat -c %s "$T/big.bin") B\)" "$T/zstd-l.txt" &&
	pass "the frame carries the content size" || fail_soft "$(grep Decompressed "$T/zstd-l.txt")"
grep -Eq 'Check: +None' "$T/zstd-l.txt" && pass "no zstd checksum" ||
	fail_soft "$(grep Check "$T/zstd-l.txt")"

# Bad --compress values are usage errors (exit 2) that say why.
for bad in "xz|--compress 'xz' is not zstd or zstd:LEVEL" \
	"zstd:30|--compress 'zstd:30': level is not 1..22" "zstd:|level is not 1..22"; do
	rc=0
	fota_image_add "$T/image.bin" 5.0.0 13 --compress "${bad%%|*}" >"$T/bad.log" 2>&1 || rc=$?
	[ "$rc" = 2 ] && grep -qF -- "${bad#*|}" "$T/bad.log" &&
		pass "--compress ${bad%%|*}: exit 2, ${bad#*|}" ||
		fail_soft "--compress ${bad%%|*}: exit $rc: $(cat "$T/bad.log")"
done
fota_summary
