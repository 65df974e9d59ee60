#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One writer per state directory: a second `serve` or a second fota-client on the same state
# directory exits 2 with one line naming the holder's pid, and the first keeps its session.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_transfer_env

# second_run LOG CMD...: runs CMD (bounded, so that a second daemon that starts fails the test
# instead of hanging it) and stores its exit code in RC.
second_run() {
	local log=$1
	shift
	RC=0
	timeout 20 "$@" >"$log" 2>&1 || RC=$?
}

# one_line_naming LOG PID: LOG is exactly one line and names PID as the holder.
one_line_naming() {
	[ "$(wc -l <"$1")" -eq 1 ] && grep -q "in use by process $2\$" "$1"
}

# absent TEXT FILE: FILE has no line containing TEXT.
absent() {
	! grep -qF -- "$1" "$2"
}

serve_start "$T/serve.log"
read -r crt key < <(fota_cert orchestrator)
second_run "$T/serve2.log" "$FOTA_ORCH_BIN" serve --broker "$FOTA_BROKER_ORCH_URI" \
	--ca "$FOTA_PKI/ca.crt" --cert "$crt" --key "$key" --state-dir "$FOTA_ORCH_STATE"
check "second serve exits 2 (got $RC)" [ "$RC" -eq 2 ]
check "second serve says in one line that pid $SERVE_PID holds the state directory: $(cat "$T/serve2.log")" \
	one_line_naming "$T/serve2.log" "$SERVE_PID"
check "first serve still runs" kill -0 "$SERVE_PID"
check "first serve was not knocked off the broker" \
	absent "broker connection lost" "$T/serve.log"

fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_line "$T/dev-1/client.log" "connected as dev-1" 20 || fail "dev-1 did not connect"
first=${FOTA_CLIENT_PIDS[dev-1]}
second_run "$T/client2.log" "$FOTA_CLIENT_BIN" --config "$T/dev-1/client.conf"
check "second fota-client exits 2 (got $RC)" [ "$RC" -eq 2 ]
check "second fota-client says in one line that pid $first holds the state directory: $(cat "$T/client2.log")" \
	one_line_naming "$T/client2.log" "$first"
check "first fota-client still runs" kill -0 "$first"
check "first fota-client was not knocked off the broker" \
	absent "connection lost" "$T/dev-1/client.log"
check "--check beside a running agent still works" \
	"$FOTA_CLIENT_BIN" --config "$T/dev-1/client.conf" --check

# After the holder stops, the state directory is free again.
fota_stop_pid "$SERVE_PID"
serve_start "$T/serve.log"
pass "serve starts again once the first one stopped"
fota_summary
