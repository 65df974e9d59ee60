#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# MQTT client ids with the shipped configuration (client_id = orchestrator): ad-hoc commands
# connect under ids of their own, so they never push `serve` off the broker, and `serve`
# takes [broker] serve_client_id when it is set.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_transfer_env
read -r crt key < <(fota_cert orchestrator)
# The shipped orchestrator.conf with the test broker's address, files and state directory.
sed -e "s|^uri = .*|uri = $FOTA_BROKER_ORCH_URI|" -e "s|^ca = .*|ca = $FOTA_PKI/ca.crt|" \
	-e "s|^cert = .*|cert = $crt|" -e "s|^key = .*|key = $key|" \
	-e "s|^state_dir = .*|state_dir = $FOTA_ORCH_STATE|" \
	-e "s|^orchestrator_key = .*|orchestrator_key = $FOTA_PKI/signing/orchestrator/orch-1.pem|" \
	"$FOTA_SRC/orchestrator/orchestrator.conf.example" >"$T/orchestrator.conf"
grep -q "^client_id = orchestrator\$" "$T/orchestrator.conf" ||
	fail "the shipped configuration no longer sets client_id = orchestrator"
conf() {
	"$FOTA_ORCH_BIN" --config "$T/orchestrator.conf" "$@"
}
# serve_bg LOG: `serve` with that configuration; SERVE_PID is the daemon itself.
serve_bg() {
	(exec "$FOTA_ORCH_BIN" --config "$T/orchestrator.conf" serve >"$1" 2>&1) &
	SERVE_PID=$!
	fota_cleanup_pid "$SERVE_PID"
	fota_wait_line "$1" "serving" 20 || { cat "$1"; fail "serve did not start"; }
}

# absent TEXT FILE: FILE has no line containing TEXT.
absent() {
	! grep -qF -- "$1" "$2"
}

serve_bg "$T/serve.log"
serve_id=$(sed -n 's/.*serving .* as \([^ ]*\).*/\1/p' "$T/serve.log")
pass "serve connected as '$serve_id'"

for i in 1 2 3; do
	conf status --wait 1 >"$T/status-$i.out" 2>&1 || fail "status $i failed: $(cat "$T/status-$i.out")"
done
pass "three ad-hoc 'status' runs with the same configuration"
check "serve was never pushed off the broker" absent "broker connection lost" "$T/serve.log"
check "the broker closed no connection for a duplicate id" \
	absent "already connected, closing old connection" "$FOTA_BROKER_LOG"
ids=$(sed -n 's/.*New client connected from .* as \([^ ]*\) .*/\1/p' "$FOTA_BROKER_LOG" |
	grep '^orchestrator' | sort | uniq -d)
check "every orchestrator connection had its own client id (repeated: '$ids')" [ -z "$ids" ]
fota_stop_pid "$SERVE_PID"

# A fixed id for the daemon only; ad-hoc commands keep deriving theirs.
sed -i "s|^client_id = orchestrator\$|&\nserve_client_id = fota-serve-main|" "$T/orchestrator.conf"
serve_bg "$T/serve2.log"
check "serve connects as [broker] serve_client_id" \
	grep -q "serving .* as fota-serve-main" "$T/serve2.log"
conf status --wait 1 >/dev/null 2>&1 || fail "status beside serve failed"
check "an ad-hoc command beside it left it connected" absent "broker connection lost" "$T/serve2.log"
check "the broker saw the fixed id once" \
	[ "$(grep -c "as fota-serve-main " "$FOTA_BROKER_LOG")" -eq 1 ]
fota_summary
