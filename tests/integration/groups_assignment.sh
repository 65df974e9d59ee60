#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Groups the orchestrator assigns: `device add --groups` reaches the device as a signed
# assignment retained on its own topic, and the agent follows it live (status and
# subscriptions), so a campaign on the new group installs. An assignment that comes while a
# job runs waits for the job to end; a forged or an older one is ignored with the reason; the
# applied one survives a restart, whatever the configuration says. `serve` sends the
# assignment itself to a device a campaign admits that does not follow its registry groups
# (here: `device add` ran without the orchestrator key), and renews assignments that expire
# within 30 days.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_transfer_env
ORCH_KEY=$FOTA_PKI/signing/orchestrator/orch-1.pem
# Slow enough that the download is still running when it is paused.
ORCH_KEY_ARGS=(--orch-key "$ORCH_KEY" --rate 128K)

groups_are() {
	[ "$(fota_status_json dev-1 | jq -c '.groups' 2>/dev/null)" = "$1" ]
}

# assignment_of DEV: the payload of DEV's retained assignment (base64url without padding, which
# base64 -d decodes but complains about).
assignment_of() {
	fota_sub orchestrator -t "fota/v1/devices/$1/assignment" -C 1 -W 3 |
		jq -r .payload | tr '_-' '/+' | { base64 -d 2>/dev/null || true; }
}

# An assignment published 340 days ago (valid for 25 more): serve renews it when it starts.
FOTA_FAKE_NOW=$(($(date +%s) - 340 * 86400)) fota_orch device add ghost --groups lab \
	--orch-key "$ORCH_KEY" 2>"$T/ghost.err" || fail "device add ghost: $(cat "$T/ghost.err")"
# fota_client_start registers dev-1 in lab (the harness's fota_register, as a device is
# registered before it connects): that is assignment 1, so the ones below count from 2.
fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_for 30 groups_are '["lab"]' || fail "dev-1 did not report: $(fota_status_json dev-1)"
pass "dev-1 starts in lab, its registration's and its configuration's group"
serve_start "$T/serve.log"
check "serve renews the assignment that expires within 30 days" \
	fota_wait_line "$T/serve.log" "assignment 2 for ghost renewed: groups lab" 20
expires=$(assignment_of ghost | jq -r .expires)
check "the renewed assignment is valid for a year from now ($expires)" \
	[ "$(date -d "$expires" +%s)" -gt $(($(date +%s) + 360 * 86400)) ]

# 1. device add: the registry changes and dev-1 follows, without a restart.
fota_orch device add dev-1 --groups canary --orch-key "$ORCH_KEY" 2>"$T/add1.err" ||
	fail "device add: $(cat "$T/add1.err")"
check "device add says what it published" grep -q "assignment 2 for dev-1: groups canary" "$T/add1.err"
fota_sub orchestrator -t fota/v1/devices/dev-1/assignment -C 1 -W 3 >"$T/assignment1.jws" ||
	fail "no retained assignment on dev-1's topic"
check "the retained assignment is signed and names canary" \
	[ "$(jq -r .payload "$T/assignment1.jws" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -c .groups)" = '["canary"]' ]
if fota_wait_for 20 groups_are '["canary"]'; then
	pass "dev-1 reports group canary"
else
	fail_soft "dev-1: $(fota_status_json dev-1)"
fi
check "dev-1 logged the applied assignment" \
	grep -q "assignment 2 applied, groups: canary (assignment 2)" "$T/dev-1/client.log"
check "the registry keeps canary after dev-1's reports" \
	[ "$(fota_orch device show dev-1 --json | jq -r .groups)" = canary ]

# 2. A campaign on the new group reaches dev-1; an assignment during the job waits for its end.
fota_random_image "$T/image.bin" 1
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
fota_orch campaign create c1 --image "$id" --group canary --stage 100% >/dev/null ||
	fail "campaign create"
fota_orch campaign start c1 >/dev/null || fail "campaign start"
present() {
	[ "$(fota_status_field dev-1 state)" = downloading ] &&
		[ "$(fota_status_field dev-1 present)" -gt 0 ] 2>/dev/null
}
fota_wait_for 60 present || fail "dev-1 did not start downloading: $(fota_status_json dev-1)"
fota_orch campaign pause c1 >/dev/null || fail "campaign pause"
fota_wait_line "$T/dev-1/client.log" "paused" 20 || fail "dev-1 did not see the pause"
fota_orch device add dev-1 --groups canary,field --orch-key "$ORCH_KEY" 2>"$T/add2.err" ||
	fail "device add: $(cat "$T/add2.err")"
# (The plugin disconnects a client whose groups change; the agent reads assignment 3 after it
# reconnects, and its reconnect backoff doubles up to 16 s after refused attempts: 45 s.)
check "the assignment during the job waits" \
	fota_wait_line "$T/dev-1/client.log" "assignment 3 waits until the job under way has ended" 45
check "dev-1 still follows canary only while the job holds" groups_are '["canary"]'
check "the job is still under way" [ "$(fota_status_field dev-1 state)" = downloading ]
fota_orch campaign resume c1 >/dev/null || fail "campaign resume"
if fota_wait_state dev-1 confirmed 120; then
	pass "dev-1 installed the canary campaign"
else
	fail_soft "dev-1: $(fota_status_json dev-1)"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
if fota_wait_for 20 groups_are '["canary","field"]'; then
	pass "after the job, dev-1 follows assignment 3"
else
	fail_soft "dev-1: $(fota_status_json dev-1)"
fi

# 3. Forged and older assignments are ignored with the reason.
mkdir -p "$T/rogue"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/rogue/orch-1.pem" 2>/dev/null
printf '{"schema":"fota-assignment/1","assignment_seq":99,"device":"dev-1","created":"2026-01-01T00:00:00Z","expires":"2099-01-01T00:00:00Z","groups":["evil"]}' >"$T/rogue.json"
"$FOTA_BUILD/tests/tools/fota_jws_tool" sign "$T/rogue/orch-1.pem" - "$T/rogue.json" >"$T/rogue.jws"
fota_pub orchestrator -t fota/v1/devices/dev-1/assignment -q 1 -f "$T/rogue.jws" ||
	fail "publishing the forged assignment failed"
check "dev-1 logged why it ignored the forged assignment" \
	fota_wait_line "$T/dev-1/client.log" "assignment rejected: " 20
fota_pub orchestrator -t fota/v1/devices/dev-1/assignment -q 1 -f "$T/assignment1.jws" ||
	fail "replaying assignment 2 failed"
check "dev-1 logged why it ignored the older assignment" \
	fota_wait_line "$T/dev-1/client.log" "assignment 2 ignored: not newer than 3" 20
check "dev-1's groups did not change" groups_are '["canary","field"]'

# 4. After a restart the applied assignment holds, not the configuration's group.
fota_client_kill dev-1
fota_client_start dev-1 "$T"
check "dev-1 restarts with the assigned groups" \
	fota_wait_line "$T/dev-1/client.log" "connected as dev-1, groups: canary,field (assignment 3)" 30
check "dev-1 reports them" fota_wait_for 20 groups_are '["canary","field"]'

# 5. The registry changes without an assignment (no orchestrator key at hand); a campaign on
# the new group sends dev-1 its assignment itself and completes without touching dev-1.
fota_orch device add dev-1 --groups canary,field,north 2>"$T/add3.err" ||
	fail "device add: $(cat "$T/add3.err")"
check "device add without a key changes the registry only" \
	grep -q "no orchestrator key" "$T/add3.err"
check "dev-1 still follows canary,field" groups_are '["canary","field"]'
fota_random_image "$T/image3.bin" 64k
id3=$(fota_image_add "$T/image3.bin" 3.0.0 11 --chunk-size 16384) || fail "image add failed"
fota_orch campaign create c2 --image "$id3" --group north --stage 100% >/dev/null ||
	fail "campaign create c2"
fota_orch campaign start c2 >/dev/null || fail "campaign start c2"
check "serve sends dev-1 its assignment for the campaign" \
	fota_wait_line "$T/serve.log" "campaign c2: dev-1 reports groups canary,field, not its registry's: assignment 4 published, groups canary,field,north" 30
completed() { [ "$(cstatus c2 .state)" = completed ]; }
if fota_wait_for 120 completed; then
	pass "the campaign on north completes"
else
	fail_soft "c2: $(fota_orch campaign status c2 2>&1 | tail -5); dev-1: $(fota_status_json dev-1)"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/image3.bin" "dev-1's installed image of c2"
check "dev-1 follows the registry's groups" groups_are '["canary","field","north"]'
fota_summary
