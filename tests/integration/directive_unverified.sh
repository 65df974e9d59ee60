#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A directive that does not verify belongs to nobody: sent during a running download (alg none,
# a key the device does not know, an oversize one), it is logged and counted in the status
# member "unverified", and nothing else changes. The download goes on and completes, the
# campaign (failure threshold 1) counts no failure, history records no failure, and after a
# restart the legitimate retained directive is still acted on.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_transfer_env
# Slow enough that the download is still running when the forgeries arrive.
ORCH_KEY_ARGS=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate 128K)

# forgetest is the one group the test-only "forger" identity may publish to (lib.sh).
fota_client_conf dev-1 "$T" forgetest
fota_client_start dev-1 "$T"
fota_random_image "$T/image.bin" 2
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
serve_start "$T/serve.log"
fota_wait_for 30 registered forgetest 1 || fail "dev-1 did not register"
fota_orch campaign create c1 --image "$id" --group forgetest --stage 100% \
	--fail-threshold 1 >/dev/null || fail "campaign create"
fota_orch campaign start c1 >/dev/null || fail "campaign start"

present() {
	[ "$(fota_status_field dev-1 state)" = downloading ] &&
		[ "$(fota_status_field dev-1 present)" -gt 0 ] 2>/dev/null
}
fota_wait_for 60 present || fail "dev-1 did not start downloading: $(fota_status_json dev-1)"
pass "dev-1 is downloading ($(fota_status_field dev-1 present) of $(fota_status_field dev-1 count) chunks)"

# 1. alg none, naming the orchestrator's key id.
payload=$(printf '{"schema":"fota-directive/1","directive_seq":99}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
prot=$(printf '{"alg":"none","kid":"orch-1"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf '{"payload":"%s","protected":"%s","signature":""}' "$payload" "$prot" >"$T/none.jws"
# 2. A well-formed directive signed by a key the device does not know (a key rotation).
mkdir -p "$T/rogue"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/rogue/orch-9.pem" 2>/dev/null
printf '{"schema":"fota-directive/1","directive_seq":99}' >"$T/rogue.json"
"$FOTA_BUILD/tests/tools/fota_jws_tool" sign "$T/rogue/orch-9.pem" - "$T/rogue.json" >"$T/rogue.jws"
# 3. Oversize.
head -c $((300 * 1024)) /dev/zero | tr '\0' 'x' >"$T/huge"
for f in none.jws rogue.jws huge; do
	fota_pub forger -t fota/v1/groups/forgetest/directive -q 1 -f "$T/$f" ||
		fail "publishing $f failed"
done

unverified_is() {
	[ "$(fota_status_field dev-1 unverified)" = "$1" ]
}
if fota_wait_for 20 unverified_is 3; then
	pass "status counts 3 unverified directives"
else
	fail_soft "status: $(fota_status_json dev-1)"
fi
check "dev-1 logged why: alg none" grep -q "directive rejected: .*alg 'none' not allowed" "$T/dev-1/client.log"
check "dev-1 logged why: unknown key" grep -q "directive rejected: .*orch-9" "$T/dev-1/client.log"
check "dev-1 logged why: oversize" grep -q "directive rejected: .*limit" "$T/dev-1/client.log"
check "dev-1 is still downloading" [ "$(fota_status_field dev-1 state)" = downloading ]

# A power cut mid-download: the retained legitimate directive comes again and is acted on.
fota_client_kill dev-1
fota_client_start dev-1 "$T"
if fota_wait_state dev-1 confirmed 120; then
	pass "dev-1 completed the job"
else
	fail_soft "dev-1: $(fota_status_json dev-1)"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
check "the campaign counts no failure" [ "$(cstatus c1 .counts.failed)" = 0 ]
check "the campaign did not pause itself" [ "$(cstatus c1 .state)" != paused ]
check "history records no failure" [ "$(grep -c '"outcome":"failed"' "$T/dev-1/state/history.jsonl" || true)" = 0 ]
fota_summary
