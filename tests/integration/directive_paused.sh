#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A paused directive starts nothing new, and a running job holds: with the table and every
# chunk delivered, nothing is installed until an active directive names the image again
# (docs/manifest.md, "Acting on a directive").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"
. "$(dirname "$0")/directive_lib.sh"

fota_transfer_env
ORCH=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")
# Repairs slow enough that the second job is still running when it is paused.
ORCH_KEY_ARGS=(--rate 64K)
fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
serve_start "$T/serve.log" # answers repair requests once a job may go on
fota_wait_for 30 registered lab 1 || fail "dev-1 did not register"

# broadcast IMAGE [publish options]: the image's directive (sequence 1 on lab, below the
# paused one), table and every chunk on lab's topics; waits until the broadcast is out.
broadcast() {
	local img=$1
	shift
	fota_orch publish "$img" --group lab "${ORCH[@]}" "$@" >>"$T/publish.log" 2>&1 ||
		fail "publish $img failed (see $T/publish.log)"
}

# 1. Nothing new starts: a paused directive for an image dev-1 lacks, then table and chunks.
fota_random_image "$T/v2.bin" 1
id=$(fota_image_add "$T/v2.bin" 2.0.0 10) || fail "image add failed"
fota_orch publish "$id" --group staging --no-broadcast "${ORCH[@]}" >"$T/publish.log" 2>&1 ||
	fail "publish to staging failed"
directive_resign staging '.group = "lab" | .directive_seq = 50 | .state = "paused"' "$T/paused.jws"
directive_send "$T/paused.jws" lab
check "dev-1 took the paused directive" \
	fota_wait_line "$T/dev-1/client.log" "campaign c-$id paused: nothing new starts" 15
broadcast "$id"
check "dev-1 ignored the older active directive" \
	fota_wait_line "$T/dev-1/client.log" "sequence 1 < 50 already seen" 15
check "nothing was installed under the paused directive" [ ! -e "$T/dev-1/target/firmware.bin" ]
check "dev-1 did not start a job" [ "$(fota_status_field dev-1 state)" = idle ]

# Resumed (a higher active directive): it acts.
directive_resign staging '.group = "lab" | .directive_seq = 51' "$T/active.jws"
directive_send "$T/active.jws" lab
if fota_wait_state dev-1 confirmed 90; then
	pass "resumed: dev-1 installed the image"
else
	fail_soft "resumed: $(fota_status_json dev-1)"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/v2.bin" "dev-1's image"

# 2. A running job holds: paused mid-download while the broadcast delivers the rest.
fota_random_image "$T/v3.bin" 2
id3=$(fota_image_add "$T/v3.bin" 3.0.0 11) || fail "image add failed"
fota_orch publish "$id3" --group staging --no-broadcast "${ORCH[@]}" >>"$T/publish.log" 2>&1 ||
	fail "publish to staging failed"
directive_resign staging '.group = "lab" | .directive_seq = 60' "$T/active3.jws"
directive_send "$T/active3.jws" lab
fota_wait_state dev-1 downloading 20 || fail "dev-1 did not start: $(fota_status_json dev-1)"
directive_resign staging '.group = "lab" | .directive_seq = 61 | .state = "paused"' "$T/paused3.jws"
directive_send "$T/paused3.jws" lab
check "dev-1 took the paused directive" \
	fota_wait_line "$T/dev-1/client.log" "campaign c-$id3 paused: nothing new starts" 15
# The broadcast carries every chunk to the held job (its own directive, sequence 2 < 61, is
# ignored); publish returns once all of it is sent.
broadcast "$id3"
check "dev-1 ignored the broadcast's older directive" \
	fota_wait_line "$T/dev-1/client.log" "sequence 2 < 61 already seen" 15
held() {
	[ "$(fota_status_field dev-1 state)" = downloading ] &&
		cmp -s "$T/dev-1/target/firmware.bin" "$T/v2.bin"
}
check "the held job installed nothing" held
directive_resign staging '.group = "lab" | .directive_seq = 62' "$T/active4.jws"
directive_send "$T/active4.jws" lab
if fota_wait_state dev-1 confirmed 90; then
	pass "resumed: the held job completed"
else
	fail_soft "resumed: $(fota_status_json dev-1)"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/v3.bin" "dev-1's image after the resume"
fota_summary
