#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every kind of bad update is refused with a precise reason and nothing is installed: bad
# manifest signature, unknown key, expired, not newer, wrong model/hardware, malformed frames.
# Directives that do not verify (wrong role, oversize, unsigned) are only logged and counted
# in the status member "unverified" (docs/manifest.md, "Acting on a directive").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env
ORCH_KEY=$FOTA_PKI/signing/orchestrator/orch-1.pem
REL_KEY=$FOTA_PKI/signing/release/release-1.pem

fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_client_conf dev-3 "$T" forgetest
fota_client_start dev-3 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
fota_wait_for 10 fota__state_is dev-3 idle || fail "dev-3 did not come online"

# A good install first, so "not newer" has something to compare with.
fota_random_image "$T/v2.bin" 1
id=$(fota_image_add "$T/v2.bin" 2.0.0 10)
fota_orch publish "$id" --group lab --orch-key "$ORCH_KEY" --wait-devices dev-1 \
	--wait-state confirmed --timeout 60 >"$T/good.log" 2>&1 || fail "good update failed"
fota_same "$T/dev-1/target/firmware.bin" "$T/v2.bin" "baseline install"
cp "$T/dev-1/target/firmware.bin" "$T/installed.bin"

# expect_refusal NAME RESULT REASON_SUBSTRING: waits for dev-1 to report failed with both.
expect_refusal() {
	local name=$1 result=$2 reason=$3
	if fota_wait_for 20 fota__failed_with dev-1 "$result" "$reason"; then
		pass "$name refused: $(fota_status_field dev-1 reason)"
	else
		fail_soft "$name: expected failed/$result with '$reason', got" \
			"$(fota_status_json dev-1)"
	fi
	cmp -s "$T/dev-1/target/firmware.bin" "$T/installed.bin" ||
		fail_soft "$name: the installed image changed"
}
fota__failed_with() {
	local s
	s=$(fota_status_json "$1")
	[ "$(jq -r .state <<<"$s")" = failed ] && [ "$(jq -r .result <<<"$s")" = "$2" ] &&
		grep -qiF -- "$3" <<<"$(jq -r .reason <<<"$s")"
}
# expect_unverified DEV COUNT LOG_TEXT: the agent counted COUNT unverified directives and
# logged why; its state did not change to failed for it.
expect_unverified() {
	local dev=$1 n=$2 text=$3
	if fota_wait_for 20 fota__unverified_is "$dev" "$n"; then
		pass "$dev counts $n unverified directive(s)"
	else
		fail_soft "$dev: expected unverified $n, got $(fota_status_json "$dev")"
	fi
	grep -q "directive rejected: .*$text" "$T/$dev/client.log" &&
		pass "$dev logged why: $(grep -m1 "directive rejected: .*$text" "$T/$dev/client.log" | cut -c1-150)" ||
		fail_soft "$dev did not log '$text'"
}
fota__unverified_is() {
	[ "$(fota_status_field "$1" unverified)" = "$2" ]
}
publish_bad() {
	fota_orch publish "$1" --group lab --orch-key "${2:-$ORCH_KEY}" >>"$T/bad.log" 2>&1 ||
		fail "publish of a bad case failed on the orchestrator side (see $T/bad.log)"
}

fota_random_image "$T/v3.bin" 1

id=$(fota_image_add "$T/v3.bin" 1.5.0 5)
publish_bad "$id"
expect_refusal "older sequence" rollback "sequence 5 <= installed 10"

fota_orch image add "$T/v3.bin" --name firmware --version 3.0.1 --vendor acme --model gw-999 \
	--hw B --sequence 11 --release-key "$REL_KEY" >"$T/id" && id=$(cat "$T/id")
publish_bad "$id"
expect_refusal "wrong model" unsupported "model"

fota_orch image add "$T/v3.bin" --name firmware --version 3.0.2 --vendor acme --model gw-100 \
	--hw Z --sequence 12 --release-key "$REL_KEY" >"$T/id" && id=$(cat "$T/id")
publish_bad "$id"
expect_refusal "wrong hardware revision" unsupported "hw"

# A key the device does not know, and a forged key under a trusted key id.
mkdir -p "$T/rogue" "$T/impostor"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/rogue/rogue-1.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/impostor/release-1.pem" 2>/dev/null
fota_orch image add "$T/v3.bin" --name firmware --version 3.0.3 --vendor acme --model gw-100 \
	--hw B --sequence 13 --release-key "$T/rogue/rogue-1.pem" >"$T/id" && id=$(cat "$T/id")
publish_bad "$id"
expect_refusal "manifest by an unknown key" signature "rogue-1"

fota_orch image add "$T/v3.bin" --name firmware --version 3.0.4 --vendor acme --model gw-100 \
	--hw B --sequence 14 --release-key "$T/impostor/release-1.pem" >"$T/id" && id=$(cat "$T/id")
publish_bad "$id"
expect_refusal "manifest with a bad signature" signature "signature"

id=$(fota_image_add "$T/v3.bin" 3.0.5 15)
publish_bad "$id" "$REL_KEY"
expect_unverified dev-1 1 "role"
cmp -s "$T/dev-1/target/firmware.bin" "$T/installed.bin" ||
	fail_soft "wrong-role directive: the installed image changed"

# Expired: the device's clock is a year ahead of the documents' 30-day validity.
fota_client_conf dev-2 "$T" late
FOTA_FAKE_NOW=$(($(date +%s) + 400 * 86400)) fota_client_start dev-2 "$T"
fota_wait_for 10 fota__state_is dev-2 idle || fail "dev-2 did not come online"
fota_orch publish "$id" --group late --orch-key "$ORCH_KEY" >>"$T/bad.log" 2>&1
if fota_wait_for 20 fota__failed_with dev-2 expired "expired"; then
	pass "expired documents refused: $(fota_status_field dev-2 reason)"
else
	fail_soft "expired: got $(fota_status_json dev-2)"
fi
[ -e "$T/dev-2/target/firmware.bin" ] && fail_soft "dev-2 installed an expired image"

# Hostile bytes from a rogue identity on the test group: oversize, unsigned, malformed.
head -c $((300 * 1024)) /dev/zero | tr '\0' 'x' >"$T/huge"
fota_pub forger -t fota/v1/groups/forgetest/directive -q 1 -f "$T/huge"
expect_unverified dev-3 1 "limit"

payload=$(printf '{"schema":"fota-directive/1"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
prot=$(printf '{"alg":"none","kid":"orch-1"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf '{"payload":"%s","protected":"%s","signature":""}' "$payload" "$prot" >"$T/none.jws"
fota_pub forger -t fota/v1/groups/forgetest/directive -q 1 -f "$T/none.jws"
expect_unverified dev-3 2 "none"
check "dev-3 reports no failure for them" [ "$(fota_status_field dev-3 state)" = idle ]

for junk in "" "FOTA" "garbage that is no frame at all"; do
	printf '%s' "$junk" >"$T/junk"
	fota_pub forger -t "fota/v1/groups/forgetest/images/0011223344556677/chunks" -q 1 \
		-f "$T/junk" || true
done
head -c 100 /dev/urandom >"$T/junk"
fota_forge_frame 0011223344556677 9 3 "$T/junk" >"$T/badframe"
fota_pub forger -t "fota/v1/groups/forgetest/images/0011223344556677/table" -q 1 -f "$T/badframe"
fota_wait_for 10 grep -q "frame dropped" "$T/dev-3/client.log" &&
	pass "malformed frames dropped: $(grep -m1 'frame dropped' "$T/dev-3/client.log" | cut -c1-150)" ||
	fail_soft "no malformed frame was reported"
kill -0 "${FOTA_CLIENT_PIDS[dev-3]}" && pass "dev-3 still running after hostile input" ||
	fail_soft "dev-3 died on hostile input"
[ -e "$T/dev-3/target/firmware.bin" ] && fail_soft "dev-3 installed something"
fota_summary
