#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `serve` started before the broker waits for it, retrying with a growing delay, and serves
# once it is up; it stops on SIGTERM while waiting; only settings that can never work end it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_transfer_env
# The broker's port and configuration are known; stop it so that serve comes up first.
fota_broker_stop
read -r crt key < <(fota_cert orchestrator)
serve_bg() {
	(exec "$FOTA_ORCH_BIN" serve --broker "$1" --ca "$FOTA_PKI/ca.crt" --cert "$crt" \
		--key "$key" --state-dir "$FOTA_ORCH_STATE" >"$2" 2>&1) &
	SERVE_PID=$!
	fota_cleanup_pid "$SERVE_PID"
}
retries() {
	[ "$(grep -c "retrying in" "$1")" -ge "$2" ]
}

serve_bg "$FOTA_BROKER_ORCH_URI" "$T/serve.log"
check "serve retries while the broker is down" \
	fota_wait_for 20 retries "$T/serve.log" 3
check "and is still running" kill -0 "$SERVE_PID"
delays=$(sed -n 's/.*retrying in \([0-9]*\) ms.*/\1/p' "$T/serve.log" | sed -n 1,3p | xargs)
check "the delay grows ($delays)" [ "$delays" = "500 1000 2000" ]
check "each retry names the cause" grep -q "Connection refused; retrying in" "$T/serve.log"
fota_broker_restart
check "serve connects once the broker is up" fota_wait_line "$T/serve.log" "serving" 40
check "and keeps running" kill -0 "$SERVE_PID"
fota_stop_pid "$SERVE_PID"

# SIGTERM while waiting for the broker: a clean stop.
fota_broker_stop
serve_bg "$FOTA_BROKER_ORCH_URI" "$T/serve2.log"
fota_wait_for 20 retries "$T/serve2.log" 1 || fail "serve did not wait for the broker"
fota_stop_wait "$SERVE_PID" TERM "fota-orchestrator serve" "$T/serve2.log" ||
	fail "serve did not end on SIGTERM"
RC=$FOTA_STOP_RC
check "SIGTERM while waiting for the broker: exit 0 (got $RC)" [ "$RC" -eq 0 ]

# Settings that can never work end it at once with exit 2.
RC=0
timeout 20 "$FOTA_ORCH_BIN" serve --broker "http://127.0.0.1:1883" --ca "$FOTA_PKI/ca.crt" \
	--cert "$crt" --key "$key" --state-dir "$FOTA_ORCH_STATE" >"$T/serve3.log" 2>&1 || RC=$?
check "serve with an http:// uri exits 2 (got $RC): $(cat "$T/serve3.log")" [ "$RC" -eq 2 ]
fota_summary
