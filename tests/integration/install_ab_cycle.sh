#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Full A/B cycle with the boot environment of AB_ADAPTER (uboot, grub or file), driven by the
# real tools: install to slot B, switch, reboot, health check, confirmed; the next update
# goes to slot A. Run through install_ab_uboot.sh / install_ab_grub.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

ADAPTER=${AB_ADAPTER:-file}
fota_transfer_env

fota_random_image "$T/v1.bin" 1
fota_random_image "$T/v2.bin" 2
fota_random_image "$T/v3.bin" 3
fota_client_conf dev-1 "$T" lab
ab_setup dev-1 "$T" "$ADAPTER" "$T/v1.bin"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
grep -q "running slot A, updates go to slot B" "$T/dev-1/client.log" &&
	pass "agent runs slot A and targets slot B" || fail "agent did not pick slot B"

# update: VERSION SEQ IMAGE FROM TO
update() {
	local version=$1 seq=$2 img=$3 from=$4 to=$5 id size
	size=$(stat -c %s "$img")
	id=$(fota_image_add "$img" "$version" "$seq" --method ab-slot --reboot \
		--confirm-timeout 30) || fail "image add $version failed"
	ab_publish "$id" confirmed 120 "$T/publish-$version.log"
	ab_wait_reboot dev-1 "$T" 90 || fail "$version: agent never asked to reboot"
	[ "$(ab_slot_sha dev-1 "$T" "$to" "$size")" = "$(sha256sum <"$img" | cut -d' ' -f1)" ] &&
		pass "$version written straight into slot $to and verified" ||
		fail "$version: slot $to does not hold the image"
	ab_eq "$(ab_env dev-1 "$T")" "boot_slot=$to upgrade_available=1 bootcount=0 bootlimit=3" \
		"$ADAPTER env arms one trial boot of slot $to"
	ab_eq "$(fota_status_field dev-1 state)" rebooting "dev-1 reports rebooting"
	ab_reboot dev-1 "$T"
	ab_eq "$AB_BOOTED" "$to" "bootloader starts slot $to on probation"
	fota_wait_state dev-1 confirmed 30 || fail "$version: not confirmed after reboot"
	pass "$version confirmed on slot $to after the health check"
	ab_eq "$(ab_env dev-1 "$T")" "boot_slot=$to upgrade_available=0 bootcount=0 bootlimit=3" \
		"$ADAPTER env: slot $to confirmed"
	ab_eq "$(fota_status_field dev-1 version)" "$version" "dev-1 reports version $version"
	wait "$AB_ORCH" && pass "orchestrator saw $version confirmed" ||
		{ cat "$T/publish-$version.log" >&2; fail_soft "orchestrator did not see $version"; }
	grep -q pass "$T/dev-1/health.log" || fail "health check never ran"
}

update 2.0.0 2 "$T/v2.bin" A B
[ "$(ab_slot_sha dev-1 "$T" A "$(stat -c %s "$T/v1.bin")")" = \
	"$(sha256sum <"$T/v1.bin" | cut -d' ' -f1)" ] && pass "slot A untouched by the update" ||
	fail "slot A changed"
update 3.0.0 3 "$T/v3.bin" B A
jq -e '.installed_sequence == 3 and .slot == "A" and (.probation == null)' \
	"$T/dev-1/state/journal.json" >/dev/null && pass "journal: sequence 3 on slot A" ||
	fail_soft "journal: $(cat "$T/dev-1/state/journal.json")"
ab_eq "$(grep -c '"outcome":"confirmed"' "$T/dev-1/state/history.jsonl")" 2 \
	"history records two confirmed updates"
fota_summary
