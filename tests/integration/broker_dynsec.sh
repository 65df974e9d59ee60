#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Group membership enforced by the broker ([broker] access = dynsec): Mosquitto's
# dynamic-security plugin, kept in step by `device add` over $CONTROL. A device may subscribe
# only to its own topics and its groups' (a refusal shows in the MQTT 3.1.1 SUBACK), publish
# only its own status and requests, cannot take over another device's connection, and moves
# between groups live, without a broker restart, moved by `device add` or by the HTTP API
# (PUT of its groups). Several orchestrator connections coexist.
# `serve` drives the plugin too: a campaign on a group the registry gave a device (without an
# assignment) grants it and installs; the device, moved out of its old group, is then refused
# that group's topics and reads nothing of its next image.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

export FOTA_BROKER_ACCESS=dynsec
# Registration is what this test checks: it registers each device itself (or not), the agents
# it starts included.
export FOTA_REGISTER_AGENTS=0
fota_tmpdir T
fota_pki "$T/pki" dev-6
fota_broker_start "$T/broker"
export FOTA_ORCH_STATE=$T/orch
ORCH_KEY=$FOTA_PKI/signing/orchestrator/orch-1.pem
ORCH_KEY_ARGS=(--orch-key "$ORCH_KEY" --broker-access dynsec)

# sub_result NAME TOPIC [client id]: "denied" when the broker refused the subscription (SUBACK
# 0x80, which mosquitto_sub reports), "granted" when it held it until the timeout.
sub_result() {
	local out rc=0 id=()
	[ -z "${3:-}" ] || id=(-i "$3")
	out=$(FOTA_CLIENT_TIMEOUT=5 fota_sub "$1" -V mqttv311 "${id[@]}" -t "$2" -W 1 2>&1) || rc=$?
	if grep -q "All subscription requests were denied" <<<"$out"; then
		echo denied
	elif [ "$rc" = 27 ]; then # -W ran out: subscribed, nothing retained
		echo granted
	else
		echo "error $rc: $out"
	fi
}
expect_sub() {
	local got
	got=$(sub_result "$1" "$2" "${4:-}")
	check "$1 subscribing $2: $3" [ "$got" = "$3" ]
}
add() {
	fota_orch device add "$1" --groups "$2" "${ORCH_KEY_ARGS[@]}" 2>>"$T/add.err" ||
		fail "device add $1 --groups $2: $(tail -3 "$T/add.err")"
}
groups_are() {
	[ "$(fota_status_json "$1" | jq -c '.groups' 2>/dev/null)" = "$2" ]
}

# 1. Nothing for a device the registry does not know.
expect_sub dev-1 fota/v1/devices/dev-1/chunks denied

# 2. Registered: exactly its own topics and its groups'.
add dev-1 A
add dev-6 B
check "device add granted dev-1 group A" grep -q "broker access for dev-1: groups A" "$T/add.err"
expect_sub dev-1 fota/v1/groups/A/directive granted
expect_sub dev-1 'fota/v1/groups/A/images/+/chunks' granted
expect_sub dev-1 fota/v1/groups/B/directive denied
expect_sub dev-1 'fota/v1/groups/+/directive' denied
expect_sub dev-1 fota/v1/devices/dev-1/assignment granted
expect_sub dev-1 fota/v1/devices/dev-6/assignment denied
expect_sub dev-1 fota/v1/devices/dev-6/chunks denied

# Publishing: its own status arrives, a forged one for dev-6 does not.
fota_sub_bg orchestrator "$T/statuses" -V mqttv311 -t 'fota/v1/devices/+/status' -v
sleep 1 # the subscription is in place before the publishes below (not an assertion)
fota_pub dev-1 -V mqttv311 -q 1 -t fota/v1/devices/dev-6/status -m forged-by-dev-1 || true
fota_pub dev-1 -V mqttv311 -q 1 -r -t fota/v1/groups/A/directive -m forged-directive || true
fota_pub dev-1 -V mqttv311 -q 1 -t fota/v1/devices/dev-1/status -m own-status ||
	fail "dev-1 could not publish its own status"
fota_wait_line "$T/statuses" "fota/v1/devices/dev-1/status own-status" 10 ||
	fail "dev-1's own status did not arrive"
check "dev-1 cannot publish dev-6's status" [ "$(grep -c forged-by-dev-1 "$T/statuses")" = 0 ]
check "dev-1 cannot publish a group directive" \
	[ -z "$(FOTA_CLIENT_TIMEOUT=5 fota_sub orchestrator -t fota/v1/groups/A/directive -C 1 -W 2 2>/dev/null)" ]

# 3. The agents: dev-1's configuration names a group it is not granted; the retained
# assignment corrects it.
fota_client_conf dev-1 "$T" lab
fota_client_conf dev-6 "$T" B
fota_client_start dev-1 "$T"
fota_client_start dev-6 "$T"
check "dev-1 follows its assignment (A), not its configuration" fota_wait_for 30 groups_are dev-1 '["A"]'
check "dev-6 follows B" fota_wait_for 30 groups_are dev-6 '["B"]'
check "dev-1 logged the refused configuration group" grep -q "refused subscription 'fota/v1/groups/lab/directive'" "$T/dev-1/client.log"

# 4. Takeover: dev-1's certificate with client id dev-6 gets client id dev-1 instead, so it can
# only replace its own session.
before=$(wc -l <"$FOTA_BROKER_LOG")
check "the impostor connected" [ "$(sub_result dev-1 fota/v1/groups/A/directive dev-6)" = granted ]
tail -n "+$((before + 1))" "$FOTA_BROKER_LOG" >"$T/takeover.log"
check "dev-6's connection was not closed" [ "$(grep -c "Client dev-6 already connected" "$T/takeover.log")" = 0 ]
check "no session was opened as dev-6" [ "$(grep -c " as dev-6 " "$T/takeover.log")" = 0 ]
check "the impostor was given client id dev-1" grep -q " as dev-1 (.*u'dev-1')" "$T/takeover.log"
check "dev-6 is still online" [ "$(fota_status_field dev-6 state)" != offline ]

# ... and on the orchestrator's listener, which keeps client ids: it trusts only the operator
# CA, so dev-1's certificate fails the TLS handshake there and cannot close dev-6's session
# either. A watcher sees every status of dev-6 (the last will would be "offline"); the fence
# message after the attempt marks the end of what it must have seen.
fota_sub_bg orchestrator "$T/dev-6.watch" -V mqttv311 -t fota/v1/devices/dev-6/status -t fota/v1/fence
fota_wait_line "$T/dev-6.watch" '"dev-6"' 10 || fail "no retained status of dev-6 to watch"
before=$(wc -l <"$FOTA_BROKER_LOG")
read -r crt key < <(fota_cert dev-1)
rc=0
out=$(timeout 10 mosquitto_sub -h "$FOTA_BROKER_BIND" -p "$FOTA_BROKER_ORCH_PORT" -V mqttv311 \
	--cafile "$FOTA_PKI/ca.crt" --cert "$crt" --key "$key" -i dev-6 -t fota/v1/groups/A/directive \
	-W 2 2>&1) || rc=$?
refused() { [ "$rc" != 0 ] && [ "$rc" != 27 ]; } # 27: -W ran out, so it was connected
check "dev-1's certificate is refused on the orchestrator listener (exit $rc: $out)" refused
fota_pub orchestrator -q 1 -t fota/v1/fence -m fence-orch-listener || fail "fence publish failed"
fota_wait_line "$T/dev-6.watch" fence-orch-listener 10 || fail "the fence did not arrive"
tail -n "+$((before + 1))" "$FOTA_BROKER_LOG" >"$T/takeover-orch.log"
check "the broker refused it in the TLS handshake" grep -q "certificate verify failed" "$T/takeover-orch.log"
check "dev-6's connection was not closed" [ "$(grep -c "already connected" "$T/takeover-orch.log")" = 0 ]
check "no session was opened as dev-6" [ "$(grep -c " as dev-6 " "$T/takeover-orch.log")" = 0 ]
check "no last will of dev-6 was published" [ "$(grep -c '"offline"' "$T/dev-6.watch")" = 0 ]

# 5. Several orchestrator connections at once: serve stays connected while commands run.
fota_role_cert "$T" rita release-manager
read -r bcrt bkey < <(fota_cert broker)
port=$(fota__free_port) || fail "no free loopback port"
serve_start "$T/serve.log" --http-listen "127.0.0.1:$port" --http-cert "$bcrt" \
	--http-key "$bkey" --http-ca "$FOTA_PKI/ca.crt"
add dev-6 B
check "serve kept its connection" [ "$(grep -ci "connection lost" "$T/serve.log")" = 0 ]

# 6. Live move A -> C: no broker restart, the agent follows on its own.
add dev-1 C
check "dev-1 moved to C" fota_wait_for 30 groups_are dev-1 '["C"]'
# The probes below take over dev-1's session (its client id is its CN): the agent is stopped
# meanwhile rather than left to reconnect after each, with its backoff growing.
fota_client_kill dev-1 TERM
expect_sub dev-1 fota/v1/groups/C/directive granted
expect_sub dev-1 fota/v1/groups/A/directive denied
check "the broker was not restarted" kill -0 "$FOTA_BROKER_PID"

# ... and C -> B through the HTTP API (PUT of its groups): serve grants B, takes C away and
# sends the assignment, which the agent follows when it comes back.
code=$(curl -s -o "$T/put.json" -w '%{http_code}' --cacert "$FOTA_PKI/ca.crt" \
	--cert "$T/rita.crt" --key "$T/rita.key" -X PUT -H 'Content-Type: application/json' \
	--data '{"groups": ["B"]}' "https://127.0.0.1:$port/api/v1/devices/dev-1/groups") || true
check "PUT of dev-1's groups answers 200, assignment published (got $code)" \
	[ "$code:$(jq -c '[.groups, .assignment_published]' "$T/put.json" 2>/dev/null)" = '200:["B",true]' ]
check "serve granted dev-1 group B" fota_wait_line "$T/serve.log" "broker access for dev-1: groups B" 10
expect_sub dev-1 fota/v1/groups/B/directive granted
expect_sub dev-1 fota/v1/groups/C/directive denied
fota_client_start dev-1 "$T"
check "dev-1 follows the API's move to B" fota_wait_for 30 groups_are dev-1 '["B"]'

# 7. The registry moves dev-6 to A without an assignment (no key at hand): its grants still say
# B. A campaign on A makes serve grant A, take B away and send the assignment; dev-6 installs.
fota_orch device add dev-6 --groups A --broker-access dynsec 2>>"$T/add.err" ||
	fail "device add dev-6 --groups A: $(tail -3 "$T/add.err")"
fota_random_image "$T/image-a.bin" 64k
ida=$(fota_image_add "$T/image-a.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
fota_orch campaign create ca --image "$ida" --group A --stage 100% >/dev/null || fail "campaign create ca"
fota_orch campaign start ca >/dev/null || fail "campaign start ca"
check "serve granted dev-6 group A" fota_wait_line "$T/serve.log" "broker access for dev-6: groups A" 30
completed() { [ "$(cstatus "$1" .state)" = completed ]; }
if fota_wait_for 60 completed ca; then
	pass "the campaign on A completes under dynamic security"
else
	fail_soft "ca: $(fota_orch campaign status ca 2>&1 | tail -3); dev-6: $(fota_status_json dev-6)"
fi
fota_same "$T/dev-6/target/firmware.bin" "$T/image-a.bin" "dev-6's image from the campaign on A"

# 8. dev-6 is out of B: the broker refuses B's topics to it (SUBACK 0x80) and it reads nothing
# of B's next image.
fota_random_image "$T/image-b.bin" 64k
idb=$(fota_image_add "$T/image-b.bin" 3.0.0 11 --chunk-size 16384) || fail "image add failed"
fota_orch campaign create cb --image "$idb" --group B --stage 100% >/dev/null || fail "campaign create cb"
fota_orch campaign start cb >/dev/null || fail "campaign start cb"
directive_cb() {
	FOTA_CLIENT_TIMEOUT=5 fota_sub orchestrator -t fota/v1/groups/B/directive -C 1 -W 2 2>/dev/null |
		grep -q .
}
check "B's next directive is out" fota_wait_for 30 directive_cb
# The probes take over dev-6's session (as in 6.): the agent is stopped meanwhile, and started
# again from its configuration, which still names B; the broker refuses B, its assignment says A.
fota_client_kill dev-6 TERM
expect_sub dev-6 'fota/v1/groups/B/#' denied
expect_sub dev-6 fota/v1/groups/B/directive denied
before=$(wc -l <"$T/dev-6/client.log")
fota_client_start dev-6 "$T"
since_restart() { grep -qF -- "$1" <<<"$(tail -n "+$((before + 1))" "$T/dev-6/client.log")"; }
check "dev-6, started again, follows A" fota_wait_for 30 since_restart "groups: A (assignment"
version_is() { [ "$(fota_status_field "$1" version)" = "$2" ]; }
check "dev-6 still runs A's image" fota_wait_for 30 version_is dev-6 2.0.0
check "dev-6 never saw campaign cb" [ "$(grep -c "campaign cb" "$T/dev-6/client.log")" = 0 ]

# 9. An import grants its devices in one command list, and a device the broker does not hold as
# wanted fails it by name, with what the broker holds: here imp-2, put in a stray group behind
# the orchestrator's back (no registry group of it takes it out again).
fota_pub orchestrator -q 1 -t '$CONTROL/dynamic-security/v1' -m '{"commands":[
	{"command":"createGroup","groupname":"fota-group-stray"},
	{"command":"createClient","username":"imp-2","groups":[{"groupname":"fota-group-stray"}]}]}' ||
	fail "could not put imp-2 in a stray group"
printf 'id,groups\nimp-1,A\nimp-2,A\nimp-3,B\n' >"$T/batch.csv"
if out=$(fota_orch device import "$T/batch.csv" "${ORCH_KEY_ARGS[@]}" 2>&1); then
	fail_soft "the import with imp-2 in a stray group succeeded: $out"
fi
check "the import's failure names imp-2 and why" grep -q \
	"device imp-2: dynsec: client imp-2 does not hold exactly its role and groups A" <<<"$out"
check "imp-1, before it in the command list, was granted" \
	grep -q "broker access for imp-1: groups A" <<<"$out"
no_assignment() { ! grep -q "^assignment " <<<"$out"; }
check "no assignment of the failed batch was published" no_assignment

# 10. Every client allowed on $CONTROL gets every answer on its one response topic: serve's,
# another orchestrator process's, an operator's mosquitto_ctrl. An import while another client
# sends command lists as fast as it can takes only the answer tagged as its own.
fota__tls_args orchestrator
yes '{"commands":[{"command":"listGroups","correlationData":"noise"}]}' |
	mosquitto_pub "${FOTA__ARGS[@]}" -q 0 -t '$CONTROL/dynamic-security/v1' -l &
noise_pid=$! # mosquitto_pub's own; yes ends on SIGPIPE with it
fota_cleanup_pid "$noise_pid"
fota_sub_bg orchestrator "$T/answers.txt" -t '$CONTROL/dynamic-security/v1/response'
answers() { [ "$(wc -l <"$T/answers.txt")" -ge "$1" ]; }
fota_wait_for 20 answers 1000 || fail "the other \$CONTROL client's lists are not answered"
printf 'id,groups\nimp-4,A\nimp-5,B\n' >"$T/batch2.csv"
out=$(fota_orch device import "$T/batch2.csv" "${ORCH_KEY_ARGS[@]}" 2>&1) ||
	fail_soft "the import beside another \$CONTROL client failed: $out"
check "the import beside another \$CONTROL client granted imp-4" \
	grep -q "broker access for imp-4: groups A" <<<"$out"
check "... and imp-5" grep -q "broker access for imp-5: groups B" <<<"$out"
echo "answers to the other client's lists so far: $(wc -l <"$T/answers.txt")"
fota_stop_wait "$noise_pid" TERM "the other \$CONTROL client" || fail "the other client did not stop"
fota_summary
