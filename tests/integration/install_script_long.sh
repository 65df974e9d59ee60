#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Long work does not stop the agent's messages. An install hook that runs for four MQTT
# keepalive periods: meanwhile the agent stays connected, its status keeps flowing
# (`installing` reaches the broker while the hook runs), and a directive for a newer image
# that arrives during the install is taken up once the install has ended, not lost and not
# interrupting it. Then the policy hook holds that newer image's download for four keepalive
# periods: the agent stays connected through that too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

KEEPALIVE=5
fota_transfer_env

cat >"$T/hook.sh" <<HOOK
#!/bin/sh
touch "$T/hook-started-\$FOTA_IMAGE_VERSION"
while [ ! -e "$T/hook-release" ]; do sleep 0.2; done
cp "\$1" "$T/flashed-\$FOTA_IMAGE_VERSION.bin"
HOOK
cat >"$T/policy.sh" <<HOOK
#!/bin/sh
if [ "\$1 \$FOTA_IMAGE_VERSION" = "download 3.0.0" ]; then
	touch "$T/policy-started"
	while [ ! -e "$T/policy-release" ]; do sleep 0.2; done
fi
HOOK
chmod +x "$T/hook.sh" "$T/policy.sh"
fota_client_conf dev-1 "$T" lab
printf '\n[install]\nmethod = script\nscript = %s\nscript_timeout_s = 300\n' "$T/hook.sh" \
	>>"$T/dev-1/client.conf"
printf '\n[policy]\nhook = %s\ntimeout_s = 300\n' "$T/policy.sh" >>"$T/dev-1/client.conf"
printf '\n[broker]\nkeepalive = %s\n' "$KEEPALIVE" >>"$T/dev-1/client.conf"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
fota_sub_bg orchestrator "$T/statuses" -q 1 -t fota/v1/devices/dev-1/status
fota_orch_bg "$T/serve.log" serve

for v in 2 3; do
	fota_random_image "$T/$v.bin" 1
	fota_image_add "$T/$v.bin" "$v.0.0" "$v" --method script >"$T/$v.id" ||
		fail "image add $v.0.0"
done
publish() {
	fota_orch publish "$(cat "$T/$1.id")" --group lab \
		--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish-$1.log" 2>&1 ||
		{ cat "$T/publish-$1.log" >&2; fail "publish $1.0.0 failed"; }
}

# held WHAT STATE [COMMAND]: four keepalive periods while WHAT holds the agent (COMMAND runs
# in the second); at each the retained status is STATE, and the broker never drops dev-1.
held() {
	local what=$1 want=$2 lines period state
	lines=$(wc -l <"$FOTA_BROKER_LOG")
	for period in 1 2 3 4; do
		sleep "$KEEPALIVE"
		[ "$period" != 2 ] || [ -z "${3:-}" ] || $3
		state=$(fota_status_field dev-1 state)
		[ "$state" = "$want" ] && pass "$what, keepalive period $period: status is $want" ||
			fail_soft "$what, keepalive period $period: status is '$state', not $want"
	done
	if tail -n "+$((lines + 1))" "$FOTA_BROKER_LOG" |
		grep -E "Client dev-1 (has exceeded timeout|disconnected|closed its connection)"; then
		fail_soft "the broker dropped dev-1 during $what (above)"
	else
		pass "the connection stayed up during $what"
	fi
}

publish 2
fota_wait_for 60 test -e "$T/hook-started-2.0.0" || fail "the install hook did not start"
pass "the install hook of 2.0.0 runs"
held "the install hook" installing "publish 3"
[ ! -e "$T/hook-release" ] && [ ! -e "$T/flashed-2.0.0.bin" ] ||
	fail "the hook ended early: the check proves nothing"
grep -q '"state":"installing"' "$T/statuses" && pass "the installing report reached the broker" ||
	fail_soft "no installing report reached the broker while the hook ran"

touch "$T/hook-release"
fota_wait_for 60 test -e "$T/policy-started" ||
	fail "the directive that came during the install was not taken up (no policy question)"
pass "after 2.0.0 the directive that came during its install is taken up"
held "the policy hook" confirmed
touch "$T/policy-release"
if fota_wait_for 90 jq -e '.installed_version == "3.0.0"' "$T/dev-1/state/journal.json" \
	>/dev/null 2>&1; then
	pass "3.0.0 installed after the policy hook allowed it"
else
	tail -n 20 "$T/dev-1/client.log" >&2
	fail_soft "3.0.0 was not installed"
fi
fota_same "$T/flashed-2.0.0.bin" "$T/2.bin" "2.0.0 handed to the hook"
fota_same "$T/flashed-3.0.0.bin" "$T/3.bin" "3.0.0 handed to the hook"
[ "$(jq -r 'select(.outcome == "installed") | .version' "$T/dev-1/state/history.jsonl" |
	paste -sd ' ')" = "2.0.0 3.0.0" ] && pass "history: 2.0.0 installed, then 3.0.0" ||
	fail_soft "history: $(cat "$T/dev-1/state/history.jsonl")"
fota_summary
