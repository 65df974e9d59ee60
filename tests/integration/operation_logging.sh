#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# serve's log: the configured level filters lines, each line carries its journald priority when
# stderr is the journal's stream, device events name device and campaign, and SIGHUP rereads
# the configuration, applies log_level and says what changed (or why the file was refused).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 3
fota_random_image "$T/image.bin" 64k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"

log=$T/serve.log
printf '[orchestrator]\nlog_level = warning\n' >"$T/orch.conf"
: >"$log"
read -r crt key < <(fota_cert orchestrator)
# systemd names the journal socket it gives a service as stderr by device and inode; the log
# file stands in for it.
JOURNAL_STREAM=$(stat -c '%d:%i' "$log") "$FOTA_ORCH_BIN" serve --config "$T/orch.conf" \
	--broker "$FOTA_BROKER_ORCH_URI" --ca "$FOTA_PKI/ca.crt" --cert "$crt" --key "$key" \
	--state-dir "$FOTA_ORCH_STATE" "${ORCH_KEY_ARGS[@]}" >>"$log" 2>&1 &
SERVE_PID=$!
fota_cleanup_pid "$SERVE_PID"
sim_start 3 lab "$T/sim.log" --step-ms 200
fota_wait_for 30 registered lab 3 || fail "devices did not register"
check "log_level = warning: no info line while devices registered" \
	[ "$(grep -c '^<6>' "$log" || true)" = 0 ]
check "every line carries a journald priority" [ "$(grep -vc '^<[3-7]>fota-orchestrator: ' "$log" || true)" = 0 ]

# `systemctl reload` runs the packaged unit's ExecReload with $MAINPID the daemon's pid: the
# first reload is that very command.
exec_reload=$(sed -n 's/^ExecReload=//p' "$FOTA_SRC/cmake/systemd/fota-orchestrator.service.in")
check "the unit's ExecReload sends SIGHUP to the daemon ($exec_reload)" \
	[ "$exec_reload" = '/bin/kill -HUP $MAINPID' ]
printf '[orchestrator]\nlog_level = info\nrate_bytes_per_s = 1M\n' >"$T/orch.conf"
${exec_reload//\$MAINPID/$SERVE_PID}
fota_wait_line "$log" "<5>fota-orchestrator: reload: [orchestrator] log_level: warning -> info" 10 ||
	fail_soft "SIGHUP applied log_level and said so"
check "SIGHUP names a key that needs a restart" grep -qF \
	"reload: [orchestrator] rate_bytes_per_s: 0 -> 1048576 (takes effect after a restart)" "$log"
# Back to what runs (the rate never changed in the daemon): nothing to say but that.
printf '[orchestrator]\nlog_level = info\n' >"$T/orch.conf"
kill -HUP "$SERVE_PID"
fota_wait_line "$log" "<5>fota-orchestrator: reload: configuration unchanged" 10 ||
	fail_soft "a SIGHUP with the running configuration says nothing changed"

fota_orch campaign create lg --image "$id" --group lab --stage 100% >/dev/null || fail "campaign create"
fota_orch campaign start lg >/dev/null || fail "campaign start"
fota_orch campaign wait lg --state completed --timeout 60 >/dev/null || fail "campaign did not complete"
for d in sim-1 sim-2 sim-3; do
	fota_wait_line "$log" "<6>fota-orchestrator: $d: " 10 || true
	check "$d: its move to confirmed is one info line naming the campaign" \
		grep -qE "^<6>fota-orchestrator: $d: [a-z_]+ -> confirmed \(campaign lg, image $id" "$log"
done

printf '[orchestrator]\nlog_level = loud\n' >"$T/orch.conf"
kill -HUP "$SERVE_PID"
fota_wait_line "$log" "reload: configuration (the running one stays)" 10 ||
	fail_soft "a bad file on SIGHUP is refused"
check "the refusal is an error line naming the key" \
	grep -qF "<3>fota-orchestrator: reload: configuration (the running one stays): config $T/orch.conf line 2: log_level: 'loud' is not one of" "$log"
check "serve still runs after the refused reload" kill -0 "$SERVE_PID"
check "the level still applies" grep -q '^<6>' "$log"
fota_stop_wait "$SERVE_PID" TERM "fota-orchestrator serve" "$log" || fail "serve did not end on SIGTERM"

check "--log-level with an unknown level is a usage error" exits_with 2 \
	fota_orch --log-level loud image list
check "... naming the choices" grep -qF "log_level: 'loud' is not one of error, warning, notice, info, debug" "$T/exits.err"
fota_summary
