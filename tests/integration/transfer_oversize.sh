#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Our own size limits hold whatever the broker lets through: the test broker's
# message_size_limit (1114112 bytes) admits a 1,100,000-byte message, which exceeds our frame
# limit, so the agent drops it on its unicast and its group chunks topic with the reason; a
# status over 4096 bytes, which any broker admits, is dropped by the orchestrator with the
# reason. The agent stays up and keeps reporting.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_require jq head
fota_transfer_env
fota_register dev-2=lab # publishes an oversize status below
fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

head -c 1100000 /dev/urandom >"$T/big"
fota_pub orchestrator -q 1 -t fota/v1/devices/dev-1/chunks -f "$T/big" ||
	fail "the broker refused 1,100,000 bytes on the unicast topic (its limit is the point here)"
fota_pub orchestrator -q 1 -t fota/v1/groups/lab/images/0123456789abcdef/chunks -f "$T/big" ||
	fail "the broker refused 1,100,000 bytes on the group topic"
for topic in fota/v1/devices/dev-1/chunks fota/v1/groups/lab/images/0123456789abcdef/chunks; do
	text="dropped: message of 1100000 bytes on '$topic' exceeds our limit of 1048848 bytes"
	if fota_wait_for 10 grep -qF "$text" "$T/dev-1/client.log"; then
		pass "the agent dropped the oversize message on $topic with the reason"
	else
		fail_soft "the agent did not log '$text': $(grep -i drop "$T/dev-1/client.log" | tail -n 2)"
	fi
done
check "dev-1 is still up and reporting idle" fota__state_is dev-1 idle

ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
pad=$(head -c 5000 /dev/zero | tr '\0' x)
fota_pub dev-2 -i dev-2 -q 1 -r -t fota/v1/devices/dev-2/status \
	-m "{\"device\":\"dev-2\",\"state\":\"idle\",\"result\":\"none\",\"reason\":\"$pad\",\"ts\":\"$ts\"}" ||
	fail "the broker refused a 5 KB status"
fota_orch status --wait 1 >"$T/status.out" 2>&1 || fail "status: $(cat "$T/status.out")"
check "the orchestrator dropped the oversize status with the reason: $(grep -m1 dropped "$T/status.out" || true)" \
	grep -qE "dropped \(1 so far\): message of [0-9]+ bytes on 'fota/v1/devices/dev-2/status' exceeds our limit of 4096 bytes" "$T/status.out"
fota_summary
