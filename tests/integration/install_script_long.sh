#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An install hook that runs longer than three MQTT keepalive periods: meanwhile the agent
# stays connected, its status keeps flowing (`installing` reaches the broker while the hook
# runs), and a directive for a newer image that arrives during the install is taken up once
# the install has ended, not lost and not interrupting it.
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
chmod +x "$T/hook.sh"
fota_client_conf dev-1 "$T" lab
printf '\n[install]\nmethod = script\nscript = %s\nscript_timeout_s = 300\n' "$T/hook.sh" \
	>>"$T/dev-1/client.conf"
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
fota_orch publish "$(cat "$T/2.id")" --group lab \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish-2.log" 2>&1 ||
	{ cat "$T/publish-2.log" >&2; fail "publish 2.0.0 failed"; }
fota_wait_for 60 test -e "$T/hook-started-2.0.0" || fail "the install hook did not start"
broker_lines=$(wc -l <"$FOTA_BROKER_LOG")
pass "the install hook of 2.0.0 runs"

# Four keepalive periods with the hook running; a newer directive arrives in the second.
for period in 1 2 3 4; do
	sleep "$KEEPALIVE"
	if [ "$period" = 2 ]; then
		fota_orch publish "$(cat "$T/3.id")" --group lab \
			--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish-3.log" 2>&1 ||
			{ cat "$T/publish-3.log" >&2; fail "publish 3.0.0 failed"; }
	fi
	state=$(fota_status_field dev-1 state)
	[ "$state" = installing ] && pass "keepalive period $period: status is installing" ||
		fail_soft "keepalive period $period: status is '$state', not installing"
done
[ ! -e "$T/hook-release" ] && [ ! -e "$T/flashed-2.0.0.bin" ] ||
	fail "the hook ended early: the check proves nothing"
if tail -n "+$((broker_lines + 1))" "$FOTA_BROKER_LOG" |
	grep -E "Client dev-1 (has exceeded timeout|disconnected|closed its connection)"; then
	fail_soft "the broker dropped dev-1 during the install (above)"
else
	pass "the connection stayed up during the install"
fi
grep -q '"state":"installing"' "$T/statuses" && pass "the installing report reached the broker" ||
	fail_soft "no installing report reached the broker while the hook ran"

touch "$T/hook-release"
if fota_wait_for 90 jq -e '.installed_version == "3.0.0"' "$T/dev-1/state/journal.json" \
	>/dev/null 2>&1; then
	pass "after 2.0.0 the directive that came during its install brought 3.0.0"
else
	tail -n 20 "$T/dev-1/client.log" >&2
	fail_soft "3.0.0 was not installed after the install of 2.0.0"
fi
fota_same "$T/flashed-2.0.0.bin" "$T/2.bin" "2.0.0 handed to the hook"
fota_same "$T/flashed-3.0.0.bin" "$T/3.bin" "3.0.0 handed to the hook"
[ "$(jq -r 'select(.outcome == "installed") | .version' "$T/dev-1/state/history.jsonl" |
	paste -sd ' ')" = "2.0.0 3.0.0" ] && pass "history: 2.0.0 installed, then 3.0.0" ||
	fail_soft "history: $(cat "$T/dev-1/state/history.jsonl")"
fota_summary
