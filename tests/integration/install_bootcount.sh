#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The new image cannot even start the agent: the GRUB env's boot counter (real grub-editenv)
# makes the emulated bootloader fall back to slot A after bootlimit boots, and the agent,
# back on A with a trial of B in its journal, reports rolled_back with the count.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

fota_transfer_env

fota_random_image "$T/v1.bin" 1
fota_random_image "$T/v2.bin" 1
fota_client_conf dev-1 "$T" lab
ab_setup dev-1 "$T" grub "$T/v1.bin"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

id=$(fota_image_add "$T/v2.bin" 2.0.0 2 --method ab-slot --reboot --confirm-timeout 30) ||
	fail "image add failed"
ab_publish "$id" rolled_back 120 "$T/publish.log"
ab_wait_reboot dev-1 "$T" 60 || fail "agent never asked to reboot"
for n in 1 2 3; do
	ab_reboot dev-1 "$T" nostart # slot B's userland dies before the agent runs
	ab_eq "$AB_BOOTED" B "boot $n starts slot B (agent never starts)"
	echo "after boot $n: $(ab_env dev-1 "$T")"
done
ab_reboot dev-1 "$T"
ab_eq "$AB_BOOTED" A "boot 4 (bootcount 4 > bootlimit 3) falls back to slot A"
fota_wait_state dev-1 rolled_back 20 || fail "agent on slot A did not report rolled_back"
reason=$(fota_status_field dev-1 reason)
echo "reason: $reason"
[[ "$reason" == *"fell back to slot A after 4 boot attempts of slot B"* ]] &&
	pass "reason names the bootloader fallback and the count" || fail_soft "reason: $reason"
ab_eq "$(ab_env dev-1 "$T")" "boot_slot=A upgrade_available=0 bootcount=0 bootlimit=3" \
	"env: slot A, probation over, counter reset"
wait "$AB_ORCH" && pass "orchestrator saw rolled_back" ||
	{ cat "$T/publish.log" >&2; fail_soft "orchestrator missed rolled_back"; }
[ -e "$T/dev-1/reboot-requested" ] && fail_soft "agent rebooted although already on A" ||
	pass "no extra reboot: the bootloader already chose slot A"
jq -e '.installed_version == "1.0.0" and .slot == "A" and .probation == null' \
	"$T/dev-1/state/journal.json" >/dev/null && pass "journal: still 1.0.0 on slot A" ||
	fail_soft "journal $(cat "$T/dev-1/state/journal.json")"
ab_history_has dev-1 "$T" rolled_back && pass "history records the rollback" ||
	fail_soft "history lacks the rollback"
fota_summary
