#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The vendor policy hook defers the download, then the install ("battery at 12 %"): the agent
# reports deferred (not failed) with the hook's reason, asks again, and completes once the hook
# allows; chunks broadcast while it waited are fetched by repair. The second version and the
# hook's reason hold quotes and a backslash: history.jsonl stays one JSON object per line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

cat >"$T/policy.sh" <<HOOK
#!/bin/sh
echo "\$1 \$FOTA_IMAGE_VERSION" >>"$T/policy.log"
if grep -qx "no-\$1" "$T/policy-mode"; then
	printf '%s\\n' 'battery "at" 12 % \\ low' >&2
	exit 75
fi
exit 0
HOOK
chmod +x "$T/policy.sh"
fota_client_conf dev-1 "$T" lab
printf '\n[policy]\nhook = %s\nretry_s = 1\n' "$T/policy.sh" >>"$T/dev-1/client.conf"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

# deferred_then_done ACTION VERSION SEQ
deferred_then_done() {
	local action=$1 version=$2 seq=$3 id reason orch
	echo "no-$action" >"$T/policy-mode"
	fota_random_image "$T/$version.bin" 1
	id=$(fota_image_add "$T/$version.bin" "$version" "$seq") || fail "image add $version"
	fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
		--wait-devices dev-1 --wait-state confirmed --timeout 90 >"$T/publish-$version.log" 2>&1 &
	orch=$!
	fota_cleanup_pid "$orch"
	fota_wait_state dev-1 deferred 30 || fail "$action of $version not deferred"
	reason=$(fota_status_field dev-1 reason)
	[[ "$reason" == "$action deferred by policy hook: battery \"at\" 12 % \\ low" ]] &&
		pass "$action deferred: $reason" || fail_soft "reason: $reason"
	sleep 2.5 # the hook is asked again every second; still deferred
	ab_state=$(fota_status_field dev-1 state)
	[ "$ab_state" = deferred ] && pass "$action still deferred while the hook says no" ||
		fail_soft "state $ab_state while deferred"
	[ "$(grep -cF "$action $version" "$T/policy.log")" -ge 2 ] &&
		pass "hook asked again after retry_s" || fail_soft "hook not asked again"
	echo ok >"$T/policy-mode"
	wait "$orch" && pass "$version confirmed once the hook allowed the $action" ||
		{ cat "$T/publish-$version.log" >&2; fail "$version not confirmed"; }
	fota_same "$T/dev-1/target/firmware.bin" "$T/$version.bin" "$version installed"
}

deferred_then_done download 2.0.0 2
deferred_then_done install '3.0.0 "LTS"' 3
hist=$T/dev-1/state/history.jsonl
jq -e 'type == "object"' "$hist" >/dev/null &&
	pass "every history line is a JSON object" || fail_soft "history: $(cat "$hist")"
[ "$(jq -r 'select(.outcome == "deferred") | .version' "$hist" | sort -u | tr '\n' '|')" = \
	'2.0.0|3.0.0 "LTS"|' ] &&
	pass "history records the deferrals with their versions" || fail_soft "history lacks deferrals"
jq -r 'select(.outcome == "deferred") | .reason' "$hist" |
	grep -qxF 'install deferred by policy hook: battery "at" 12 % \ low' &&
	pass "history keeps the hook's reason as written" || fail_soft "reason changed in history"
grep -q '"outcome":"failed"' "$hist" &&
	fail_soft "a deferral was recorded as failure" || pass "no deferral counted as failure"
fota_summary
