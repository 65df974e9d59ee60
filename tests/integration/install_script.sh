#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The script backend: a vendor hook gets the verified image and the manifest fields; its exit
# decides. Hook success (confirmed, image and environment as promised), failure (failed, with
# the hook's own words) and timeout (failed, process group killed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

cat >"$T/hook.sh" <<HOOK
#!/bin/sh
mode=\$(cat "$T/hook-mode")
case "\$mode" in
ok) cp "\$1" "$T/flashed.bin"; env | grep '^FOTA_' | sort >"$T/hook.env"; exit 0 ;;
fail) echo "flash write failed: no space on /dev/mtd3" >&2; exit 4 ;;
hang) sleep 60 & echo \$! >"$T/hook-child.pid"; sleep 60 ;;
esac
HOOK
chmod +x "$T/hook.sh"
fota_client_conf dev-1 "$T" lab
printf '\n[install]\nmethod = script\nscript = %s\nscript_timeout_s = 2\n' "$T/hook.sh" \
	>>"$T/dev-1/client.conf"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

# run MODE VERSION SEQ WANT_STATE
run() {
	local mode=$1 version=$2 seq=$3 want=$4 id
	echo "$mode" >"$T/hook-mode"
	fota_random_image "$T/$version.bin" 1
	id=$(fota_image_add "$T/$version.bin" "$version" "$seq" --method script \
		--param partition=rootfs --param boot-mode=fast) || fail "image add $version"
	fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
		--wait-devices dev-1 --wait-state "$want" --timeout 60 >"$T/publish-$mode.log" 2>&1 ||
		{ cat "$T/publish-$mode.log" >&2; fail "hook $mode: dev-1 did not report $want"; }
	pass "hook $mode: dev-1 reports $want"
}

run ok 2.0.0 2 confirmed
fota_same "$T/flashed.bin" "$T/2.0.0.bin" "image handed to the hook"
grep -qx "FOTA_IMAGE_VERSION=2.0.0" "$T/hook.env" && grep -qx "FOTA_INSTALL_PARAM_PARTITION=rootfs" \
	"$T/hook.env" && grep -qx "FOTA_INSTALL_PARAM_BOOT_MODE=fast" "$T/hook.env" &&
	grep -qx "FOTA_IMAGE_SHA256=$(sha256sum <"$T/2.0.0.bin" | cut -d' ' -f1)" "$T/hook.env" &&
	pass "hook environment carries version, sha256 and install params" ||
	fail_soft "hook environment: $(cat "$T/hook.env")"

run fail 3.0.0 3 failed
reason=$(fota_status_field dev-1 reason)
[[ "$reason" == *"exited with code 4: flash write failed: no space on /dev/mtd3"* ]] &&
	pass "failure reason quotes the hook: $reason" || fail_soft "reason: $reason"

run hang 4.0.0 4 failed
reason=$(fota_status_field dev-1 reason)
[[ "$reason" == *"timed out after"* ]] && pass "timeout reported: $reason" ||
	fail_soft "reason: $reason"
child=$(cat "$T/hook-child.pid")
sleep 0.5
# A killed child may linger as a zombie when nothing reaps orphans (containers): not running.
case "$(ps -o stat= -p "$child" 2>/dev/null)" in
"" | Z*) pass "the hook's whole process group was killed" ;;
*) fail_soft "the hook's background child $child survived" ;;
esac
jq -e '.installed_version == "2.0.0" and .installed_sequence == 2' \
	"$T/dev-1/state/journal.json" >/dev/null && pass "journal: 2.0.0 stays installed" ||
	fail_soft "journal $(cat "$T/dev-1/state/journal.json")"
fota_summary
