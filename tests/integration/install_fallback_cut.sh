#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A cut in the middle of taking note of a bootloader fallback (U-Boot env, real fw_setenv).
# Slot B never starts the agent, so the emulated bootloader falls back to slot A after
# bootlimit boots. The agent's first start on A is cut right after its fw_setenv (clearing
# bootcount) returned, before anything else is saved. The next start must still report
# "bootloader fell back", settle the directive and never install the rejected image again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

fota_transfer_env

fota_random_image "$T/v1.bin" 1
fota_random_image "$T/v2.bin" 1
fota_client_conf dev-1 "$T" lab
ab_setup dev-1 "$T" uboot "$T/v1.bin"

# Boot tools that cut power (SIGKILL the agent, their parent) right after the real
# fw_setenv returned.
mkdir -p "$T/cut-tools"
ln -s "$(command -v fw_printenv)" "$T/cut-tools/fw_printenv"
cat >"$T/cut-tools/fw_setenv" <<-TOOL
	#!/bin/sh
	"$(command -v fw_setenv)" "\$@"
	rc=\$?
	echo "fw_setenv \$* -> \$rc; cutting power" >>"$T/cut-tools/log"
	kill -9 \$PPID
	exit \$rc
TOOL
chmod +x "$T/cut-tools/fw_setenv"

fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
id=$(fota_image_add "$T/v2.bin" 2.0.0 2 --method ab-slot --reboot --confirm-timeout 30) ||
	fail "image add failed"
ab_publish "$id" rolled_back 120 "$T/publish.log"
ab_wait_reboot dev-1 "$T" 60 || fail "agent never asked to reboot"
for n in 1 2 3; do
	ab_reboot dev-1 "$T" nostart # slot B's userland dies before the agent runs
	ab_eq "$AB_BOOTED" B "boot $n starts slot B (agent never starts)"
done
ab_reboot dev-1 "$T" nostart
ab_eq "$AB_BOOTED" A "boot 4 (bootcount 4 > bootlimit 3) falls back to slot A"
echo "env after the fallback: $(ab_env dev-1 "$T")"

# The first start on A runs with the cutting tools.
cp "$T/dev-1/client.conf" "$T/dev-1/client.conf.orig"
printf 'bootctl_tool_dir = %s\n' "$T/cut-tools" >>"$T/dev-1/client.conf"
fota_client_start dev-1 "$T"
pid=${FOTA_CLIENT_PIDS[dev-1]}
fota_wait_for 30 bash -c "! kill -0 $pid 2>/dev/null" || fail "the cut never happened"
fota_client_kill dev-1 KILL
grep -q "cutting power" "$T/cut-tools/log" && pass "cut right after fw_setenv returned" ||
	fail "fw_setenv was never run"
echo "journal after the cut: $(cat "$T/dev-1/state/journal.json")"
echo "env after the cut: $(ab_env dev-1 "$T")"

# Power back, ordinary tools.
cp "$T/dev-1/client.conf.orig" "$T/dev-1/client.conf"
fota_client_start dev-1 "$T"
fota_wait_state dev-1 rolled_back 20 ||
	fail "no rolled_back after the cut (state $(fota_status_field dev-1 state))"
reason=$(fota_status_field dev-1 reason)
echo "reason: $reason"
[[ "$reason" == *"fell back to slot A after 4 boot attempts of slot B"* ]] &&
	pass "reason names the bootloader fallback and the count" || fail_soft "reason: $reason"
wait "$AB_ORCH" && pass "orchestrator saw rolled_back" ||
	{ cat "$T/publish.log" >&2; fail_soft "orchestrator missed rolled_back"; }
jq -e '.installed_version == "1.0.0" and .slot == "A" and .probation == null and
	(.groups[] | select(.name == "lab") | .settled)' "$T/dev-1/state/journal.json" \
	>/dev/null && pass "journal: 1.0.0 on slot A, directive settled" ||
	fail_soft "journal $(cat "$T/dev-1/state/journal.json")"

# The retained directive comes again on every connect; it must not start the image again.
fota_client_kill dev-1 KILL
fota_client_start dev-1 "$T"
fota_wait_for 20 grep -q "connected as dev-1" <(tail -n 5 "$T/dev-1/client.log") ||
	fail "agent did not reconnect"
sleep 3 # the retained directive arrives right after subscribing
ab_eq "$(grep -c 'directive 1 accepted' "$T/dev-1/client.log")" 1 \
	"the rejected image was accepted once, never again"
[ -e "$T/dev-1/reboot-requested" ] && fail_soft "agent asked to reboot again" ||
	pass "no second trial armed"
ab_eq "$(ab_env dev-1 "$T")" "boot_slot=A upgrade_available=0 bootcount=0 bootlimit=3" \
	"env: slot A, probation over, counter reset"
ab_eq "$(grep -c '"outcome":"rolled_back"' "$T/dev-1/state/history.jsonl")" 1 \
	"history records the rollback once"
fota_summary
