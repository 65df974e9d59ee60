#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's memory does not grow with the image: peak RSS for a 256 MiB image stays within
# 1.2x of that for a 1 MiB image.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

BIG_MIB=${FOTA_BIG_MIB:-256}
fota_transfer_env

# peak_rss DEV GROUP IMAGE VERSION SEQ: installs IMAGE on a fresh agent, prints its VmHWM (kB).
peak_rss() {
	local dev=$1 group=$2 image=$3 id hwm
	id=$(fota_image_add "$image" "$4" "$5") || fail "image add failed"
	fota_client_conf "$dev" "$T" "$group"
	fota_client_start "$dev" "$T"
	fota_wait_for 10 fota__state_is "$dev" idle || fail "$dev did not come online"
	fota_orch publish "$id" --group "$group" \
		--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --wait-devices "$dev" \
		--wait-state confirmed --timeout 300 >"$T/$dev.publish.log" 2>&1 ||
		fail "$dev did not install $(basename "$image")"
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/${FOTA_CLIENT_PIDS[$dev]}/status")
	cmp -s "$T/$dev/target/firmware.bin" "$image" || fail "$dev installed a different image"
	fota_client_kill "$dev" TERM
	echo "$hwm"
}

fota_random_image "$T/small.bin" 1
fota_random_image "$T/big.bin" "$BIG_MIB"
small=$(peak_rss dev-1 small "$T/small.bin" 2.0.0 10)
big=$(peak_rss dev-2 big "$T/big.bin" 2.0.0 10)
rm -f "$T/big.bin"
ratio=$(awk -v b="$big" -v s="$small" 'BEGIN {printf "%.2f", b / s}')
echo "peak RSS: 1 MiB image $small kB, $BIG_MIB MiB image $big kB, ratio $ratio"
awk -v b="$big" -v s="$small" 'BEGIN {exit !(b <= 1.2 * s)}' &&
	pass "peak RSS ratio $ratio <= 1.2" || fail_soft "peak RSS ratio $ratio > 1.2"
fota_summary
