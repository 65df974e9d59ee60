#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Three agents in one group receive a 32 MiB random image byte-identical, and the orchestrator
# sees every one of them reach "confirmed".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

fota_random_image "$T/image.bin" "${FOTA_IMAGE_MIB:-32}"
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
[[ "$id" =~ ^[0-9a-f]{16}$ ]] || fail "image add printed '$id', not an image id"
pass "image $id signed and stored"

for d in dev-1 dev-2 dev-3; do
	fota_client_conf "$d" "$T" lab
	fota_client_start "$d" "$T"
done
fota_wait_for 10 fota__state_is dev-3 idle || fail "dev-3 did not come online"

if fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--wait-devices dev-1,dev-2,dev-3 --wait-state confirmed --timeout 120 >"$T/publish.log" 2>&1; then
	pass "orchestrator saw dev-1, dev-2, dev-3 confirmed"
else
	cat "$T/publish.log" >&2
	fail_soft "publish --wait did not see every device confirmed"
fi
for d in dev-1 dev-2 dev-3; do
	fota_same "$T/$d/target/firmware.bin" "$T/image.bin" "$d's installed image"
	[ "$(fota_status_field "$d" version)" = 2.0.0 ] && pass "$d reports version 2.0.0" ||
		fail_soft "$d reports version '$(fota_status_field "$d" version)'"
	echo "$d received $(fota_rx_bytes "$T/$d/client.log") bytes for $(stat -c %s "$T/image.bin")"
done
fota_summary
