#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Anti-rollback and compatibility on an A/B device (U-Boot env): a lower sequence is refused,
# the same one with the release key's signed downgrade allowance is installed, and an image
# for another model is refused before a single byte reaches the inactive slot.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

fota_transfer_env

fota_random_image "$T/v1.bin" 1
fota_random_image "$T/v5.bin" 1
fota_random_image "$T/v4.bin" 1
fota_random_image "$T/other.bin" 1
fota_client_conf dev-1 "$T" lab
ab_setup dev-1 "$T" uboot "$T/v1.bin"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

# Sequence 5 goes in normally (slot B).
id=$(fota_image_add "$T/v5.bin" 5.0.0 5 --method ab-slot --reboot --confirm-timeout 30)
ab_publish "$id" confirmed 120 "$T/publish-5.log"
ab_wait_reboot dev-1 "$T" 60 || fail "5.0.0: no reboot"
ab_reboot dev-1 "$T"
fota_wait_state dev-1 confirmed 30 || fail "5.0.0 not confirmed"
wait "$AB_ORCH" || true
pass "5.0.0 (sequence 5) confirmed on slot $AB_BOOTED"

# refused NAME WANT_REASON image-add-args...: published, refused, slot A not touched.
refused() {
	local name=$1 want=$2 before after reason
	shift 2
	before=$(sha256sum <"$T/dev-1/slots/A.img")
	id=$("$@") || fail "$name: image add failed"
	ab_publish "$id" failed 60 "$T/publish-$name.log"
	wait "$AB_ORCH" || { cat "$T/publish-$name.log" >&2; fail "$name: not reported failed"; }
	reason=$(fota_status_field dev-1 reason)
	echo "$name: $reason"
	[[ "$reason" == *"$want"* ]] && pass "$name refused: '$want'" ||
		fail_soft "$name: reason '$reason' lacks '$want'"
	after=$(sha256sum <"$T/dev-1/slots/A.img")
	ab_eq "$after" "$before" "$name: inactive slot A not written"
	[ -z "$(ls "$T/dev-1/state/transfer" 2>/dev/null)" ] &&
		pass "$name: no checkpoint was opened" || fail_soft "$name: transfer files exist"
	[ ! -e "$T/dev-1/reboot-requested" ] && pass "$name: no reboot" || fail_soft "$name: rebooted"
	ab_eq "$(ab_env dev-1 "$T")" "boot_slot=B upgrade_available=0 bootcount=0 bootlimit=3" \
		"$name: boot env unchanged"
}

refused downgrade "sequence 4 <= installed 5" \
	fota_image_add "$T/v4.bin" 4.0.0 4 --method ab-slot --reboot --confirm-timeout 30
refused wrong-model "model" \
	fota_orch image add "$T/other.bin" --name firmware --version 9.0.0 --vendor acme \
	--model gw-999 --hw B --sequence 9 --method ab-slot --reboot \
	--release-key "$FOTA_PKI/signing/release/release-1.pem"

# The same sequence 4 with the release key's signed allowance is installed into slot A.
id=$(fota_image_add "$T/v4.bin" 4.0.1 4 --method ab-slot --reboot --confirm-timeout 30 \
	--allow-downgrade) || fail "image add 4.0.1 failed"
ab_publish "$id" confirmed 120 "$T/publish-4.log"
ab_wait_reboot dev-1 "$T" 60 || fail "4.0.1: no reboot"
ab_reboot dev-1 "$T"
ab_eq "$AB_BOOTED" A "4.0.1 boots from slot A"
fota_wait_state dev-1 confirmed 30 || fail "4.0.1 with downgrade allowance not confirmed"
pass "downgrade to sequence 4 with a signed allowance confirmed"
wait "$AB_ORCH" || true
jq -e '.installed_sequence == 4 and .installed_version == "4.0.1"' \
	"$T/dev-1/state/journal.json" >/dev/null && pass "journal: sequence 4 installed" ||
	fail_soft "journal $(cat "$T/dev-1/state/journal.json")"
fota_summary
