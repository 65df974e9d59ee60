#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device keeps the directive's window: before not_before nothing starts, the device
# reports "deferred" with the reason and acts once the window opens; after not_after nothing
# starts and the refusal says why (docs/manifest.md, "Acting on a directive").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"
. "$(dirname "$0")/directive_lib.sh"

fota_transfer_env
ORCH=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")
fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
serve_start "$T/serve.log" # answers the repair requests of the agent
fota_wait_for 30 registered lab 1 || fail "dev-1 did not register"

# Signed documents come from the real orchestrator: published to a group nobody follows, then
# moved to lab with another window and sequence, and signed again with the orchestrator key.
fota_random_image "$T/v2.bin" 1
id=$(fota_image_add "$T/v2.bin" 2.0.0 10) || fail "image add failed"
fota_orch publish "$id" --group staging --no-broadcast "${ORCH[@]}" >"$T/publish.log" 2>&1 ||
	fail "publish to staging failed"

# 1. The window opens in 20 s.
opens=$(rfc3339 20)
directive_resign staging ".group = \"lab\" | .directive_seq = 10 | .window = {\"not_before\": \"$opens\"}" \
	"$T/later.jws"
directive_send "$T/later.jws" lab
if fota_wait_state dev-1 deferred 15; then
	pass "before the window: deferred ($(fota_status_field dev-1 reason))"
else
	fail_soft "before the window: $(fota_status_json dev-1)"
fi
check "the reason names the window's opening" \
	[ "$(fota_status_field dev-1 reason)" = "campaign c-$id: directive window opens at $opens" ]
check "the status names the campaign" [ "$(fota_status_field dev-1 campaign)" = "c-$id" ]
check "nothing was installed before the window" [ ! -e "$T/dev-1/target/firmware.bin" ]
check "nothing was downloaded before the window" [ "$(fota_status_field dev-1 present)" = 0 ]
if fota_wait_state dev-1 confirmed 90; then
	pass "the window opened and dev-1 installed the image"
else
	fail_soft "after the window opened: $(fota_status_json dev-1)"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/v2.bin" "dev-1's image"

# 2. The window closed an hour ago.
fota_random_image "$T/v3.bin" 1
id3=$(fota_image_add "$T/v3.bin" 3.0.0 11) || fail "image add failed"
fota_orch publish "$id3" --group staging --no-broadcast "${ORCH[@]}" >>"$T/publish.log" 2>&1 ||
	fail "publish to staging failed"
closed=$(rfc3339 -3600)
directive_resign staging ".group = \"lab\" | .directive_seq = 11 |
	.window = {\"not_before\": \"$(rfc3339 -7200)\", \"not_after\": \"$closed\"}" "$T/closed.jws"
directive_send "$T/closed.jws" lab
failed_closed() {
	[ "$(fota_status_field dev-1 state)" = failed ] &&
		[ "$(fota_status_field dev-1 result)" = expired ]
}
if fota_wait_for 20 failed_closed; then
	pass "after the window: refused ($(fota_status_field dev-1 reason))"
else
	fail_soft "after the window: $(fota_status_json dev-1)"
fi
check "the reason names the window's end" \
	[ "$(fota_status_field dev-1 reason)" = "directive rejected: window closed at $closed" ]
check "the refusal is booked to its campaign" [ "$(fota_status_field dev-1 campaign)" = "c-$id3" ]
fota_same "$T/dev-1/target/firmware.bin" "$T/v2.bin" "dev-1's image after the closed window"
fota_summary
