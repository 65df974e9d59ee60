#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ctrl-C (SIGINT) on the orchestrator CLI: `image add` stops its copy and stores nothing,
# `campaign wait` says it was interrupted (exit 130); `campaign status --watch` clears the
# screen only on a terminal, never in a pipe or file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 1

# uses_store PID: the process has the store open, so its signal handlers are in place.
uses_store() {
	grep -q "orchestrator.db" <<<"$(ls -l "/proc/$1/fd" 2>/dev/null)"
}
# staging: an image is being copied into the store.
staging() {
	compgen -G "$FOTA_ORCH_STATE/images/.staging-*" >/dev/null
}

# A sparse 2 GiB image: copying it takes long enough to be interrupted halfway.
truncate -s 2G "$T/big.bin"
fota_orch_bg "$T/add.log" image add "$T/big.bin" --name firmware --version 9.0.0 \
	--vendor acme --model gw-100 --sequence 90 --chunk-size 1048576 \
	--release-key "$FOTA_PKI/signing/release/release-1.pem"
add=$FOTA_ORCH_PID
fota_wait_for 30 staging || fail "image add did not start copying: $(cat "$T/add.log")"
fota_stop_wait "$add" INT "image add" "$T/add.log" || fail "image add did not end on SIGINT"
RC=$FOTA_STOP_RC
check "image add interrupted: exit 130 (got $RC)" [ "$RC" -eq 130 ]
check "image add says so: $(cat "$T/add.log")" grep -q "image add: interrupted; nothing was stored" "$T/add.log"
check "no staging debris is left" bash -c "! compgen -G '$FOTA_ORCH_STATE/images/.staging-*'"
check "no image was stored" [ "$(fota_orch image list --json | jq length)" -eq 0 ]

fota_random_image "$T/small.bin" 64k
id=$(fota_image_add "$T/small.bin" 2.0.0 10 --chunk-size 4096) || fail "image add failed"
fota_orch device add sim-1 --groups lab --model gw-100 >/dev/null || fail "device add"
fota_orch campaign create r1 --image "$id" --group lab --stage 100% >/dev/null ||
	fail "campaign create"

fota_orch_bg "$T/wait.log" campaign wait r1 --state completed --timeout 600
wait_pid=$FOTA_ORCH_PID
fota_wait_for 20 uses_store "$wait_pid" || fail "campaign wait did not open the store"
fota_stop_wait "$wait_pid" INT "campaign wait" "$T/wait.log" || fail "campaign wait did not end on SIGINT"
RC=$FOTA_STOP_RC
check "campaign wait interrupted: exit 130 (got $RC)" [ "$RC" -eq 130 ]
check "campaign wait says so: $(cat "$T/wait.log")" \
	grep -q "campaign wait: interrupted; campaign r1 is still draft" "$T/wait.log"

# --watch into a file: snapshots, never the terminal's clear-screen codes.
fota_orch_bg "$T/watch.out" campaign status r1 --watch 1
watch_pid=$FOTA_ORCH_PID
snapshots() {
	[ "$(grep -c "^campaign r1" "$T/watch.out")" -ge 2 ]
}
fota_wait_for 20 snapshots || fail "--watch did not refresh: $(cat "$T/watch.out")"
fota_stop_wait "$watch_pid" INT "campaign status --watch" "$T/watch.out" || fail "campaign status --watch did not end on SIGINT"
RC=$FOTA_STOP_RC
check "--watch stops on SIGINT with exit 0 (got $RC)" [ "$RC" -eq 0 ]
check "--watch writes no escape codes into a file" bash -c "! grep -q $'\e' '$T/watch.out'"
# On a terminal it still clears the screen before each refresh.
if command -v script >/dev/null; then
	crt=$FOTA_PKI/orchestrator.crt
	script -qec "timeout -s INT 3 $FOTA_ORCH_BIN --state-dir $FOTA_ORCH_STATE campaign status r1 --watch 1" \
		"$T/tty.out" >/dev/null 2>&1 || true
	check "--watch clears the screen on a terminal" grep -q $'\e\[2J' "$T/tty.out"
fi
fota_summary
