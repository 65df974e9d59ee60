#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Probation fails (U-Boot env, real fw_setenv): a health check that fails, then one that hangs
# past the manifest's confirm timeout. Each time the agent switches back to slot A, reports
# rolled_back with the reason and reboots; slot B is never marked good. After the reboot into
# slot A the retained status keeps that outcome (state, result, reason, image) until the next
# job starts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

fota_transfer_env

fota_random_image "$T/v1.bin" 1
fota_random_image "$T/v2.bin" 1
fota_random_image "$T/v3.bin" 1
fota_client_conf dev-1 "$T" lab
ab_setup dev-1 "$T" uboot "$T/v1.bin"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

# online: dev-1's retained status is no longer its last will.
online() {
	local st
	st=$(fota_status_field dev-1 state)
	[ -n "$st" ] && [ "$st" != offline ]
}

# trial VERSION SEQ IMAGE MODE CONFIRM_S REASON_PATTERN
trial() {
	local version=$1 seq=$2 img=$3 mode=$4 confirm=$5 pattern=$6 id reason t0 image
	echo "$mode" >"$T/dev-1/health-mode"
	id=$(fota_image_add "$img" "$version" "$seq" --method ab-slot --reboot \
		--confirm-timeout "$confirm") || fail "image add $version failed"
	ab_publish "$id" rolled_back 120 "$T/publish-$version.log"
	ab_wait_reboot dev-1 "$T" 60 || fail "$version: agent never asked to reboot"
	ab_eq "$(fota_status_field dev-1 state)" rebooting "$version: the new job reports its states"
	jq -e '.outcome == null' "$T/dev-1/state/journal.json" >/dev/null &&
		pass "$version: the new job cleared the kept outcome" ||
		fail_soft "$version: journal $(cat "$T/dev-1/state/journal.json")"
	ab_reboot dev-1 "$T"
	ab_eq "$AB_BOOTED" B "$version: bootloader starts slot B on probation"
	t0=$SECONDS
	fota_wait_state dev-1 rolled_back $((confirm + 30)) ||
		fail "$version: no rolled_back after a '$mode' health check"
	reason=$(fota_status_field dev-1 reason)
	image=$(fota_status_field dev-1 image_id)
	echo "$version: rolled_back after $((SECONDS - t0)) s: $reason"
	[[ "$reason" == *$pattern* ]] && pass "$version ($mode): reason says '$pattern'" ||
		fail_soft "$version: reason '$reason' lacks '$pattern'"
	ab_eq "$(ab_env dev-1 "$T")" "boot_slot=A upgrade_available=0 bootcount=0 bootlimit=3" \
		"$version: env switched back to slot A, slot B not marked good"
	ab_wait_reboot dev-1 "$T" 40 || fail "$version: no reboot after the rollback"
	pass "$version: agent rebooted after switching back"
	wait "$AB_ORCH" && pass "orchestrator saw $version rolled_back" ||
		{ cat "$T/publish-$version.log" >&2; fail_soft "orchestrator missed $version"; }
	ab_reboot dev-1 "$T" nostart
	ab_eq "$AB_BOOTED" A "$version: the next boot starts slot A"
	# The last will marks the old connection; what follows comes from the new start.
	fota_wait_state dev-1 offline 15 || fail "$version: no last will after the reboot"
	fota_client_start dev-1 "$T"
	fota_wait_for 15 online || fail "$version: no status after the reboot"
	ab_eq "$(fota_status_field dev-1 state)/$(fota_status_field dev-1 result)" \
		rolled_back/health_check_failed "$version: status on slot A still says rolled_back"
	ab_eq "$(fota_status_field dev-1 reason)" "$reason" "$version: ... with the same reason"
	ab_eq "$(fota_status_field dev-1 image_id)" "$image" "$version: ... and the same image"
	ab_eq "$(fota_status_field dev-1 version)" 1.0.0 "$version: still running 1.0.0"
	jq -e '.installed_version == "1.0.0" and .slot == "A" and .probation == null' \
		"$T/dev-1/state/journal.json" >/dev/null && pass "$version: journal keeps 1.0.0" ||
		fail_soft "$version: journal $(cat "$T/dev-1/state/journal.json")"
}

trial 2.0.0 2 "$T/v2.bin" fail 30 "service watchdog: application did not come up"
trial 3.0.0 3 "$T/v3.bin" hang 3 "timed out"
ab_eq "$(grep -c '"outcome":"rolled_back"' "$T/dev-1/state/history.jsonl")" 2 \
	"history records both rollbacks"
ab_history_has dev-1 "$T" confirmed && fail_soft "history claims a confirmed update" ||
	pass "no update ever recorded as confirmed"
[ "$(ab_slot_sha dev-1 "$T" A "$(stat -c %s "$T/v1.bin")")" = \
	"$(sha256sum <"$T/v1.bin" | cut -d' ' -f1)" ] && pass "slot A still holds 1.0.0" ||
	fail "slot A changed"
fota_summary
