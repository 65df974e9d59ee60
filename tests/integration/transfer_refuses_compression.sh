#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/manifest.md and docs/install.md: what this agent does with an encoded payload it cannot
# use. A correctly signed delta-only manifest (image.from_sha256, no full payload) is refused
# before anything is downloaded, with result unsupported and the reason. A correctly signed
# manifest that says zstd over a payload that is not zstd is downloaded and verified, then
# refused by the decoder with result integrity; in both cases the target is untouched.
# A manifest that offers a delta (image.delta) next to the full payload is installed from the
# full payload, without an operator, by a device whose installed image is not the delta's base
# (here: none), and by one whose base was changed after it was installed (the base's hash is
# checked before the apply); the confirmed status says why.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

jws_tool=$FOTA_BUILD/tests/tools/fota_jws_tool
[ -x "$jws_tool" ] || fail "$jws_tool is not built"
fota_transfer_env

# resign ID JQ: the stored manifest of ID, changed by JQ and signed again by the release key.
resign() {
	local store=$FOTA_ORCH_STATE/images/$1
	"$jws_tool" verify "$FOTA_PKI/trust" release "$store/manifest.jws" >"$T/payload.json" ||
		fail "the stored manifest does not verify"
	jq -c "$2" "$T/payload.json" | tr -d '\n' >"$T/changed.json"
	"$jws_tool" sign "$FOTA_PKI/signing/release/release-1.pem" - "$T/changed.json" \
		>"$store/manifest.jws" || fail "signing the changed manifest failed"
}

# publish_fails ID: publish to dev-1, which must end failed (exit 1).
publish_fails() {
	local rc=0
	fota_orch publish "$1" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
		--wait-devices dev-1 --wait-state confirmed --timeout 60 >"$T/publish.log" 2>&1 || rc=$?
	[ "$rc" = 1 ] && pass "publish ended with exit 1: dev-1 failed" ||
		{ cat "$T/publish.log"; fail_soft "publish exit $rc, expected 1"; }
}

fota_random_image "$T/delta.bin" 1
delta=$(fota_image_add "$T/delta.bin" 2.0.0 10) || fail "image add failed"
resign "$delta" '.image.from_sha256 = .image.sha256 | .image.decoded_size = 1 |
	.image.decoded_sha256 = .image.sha256'
pass "image $delta now carries a signed delta manifest"
fota_random_image "$T/plain.bin" 1
plain=$(fota_image_add "$T/plain.bin" 3.0.0 11) || fail "image add failed"
resign "$plain" '.image.compression = "zstd" | .image.decoded_size = .image.size |
	.image.decoded_sha256 = .image.sha256'
pass "image $plain now carries a signed zstd manifest over a payload that is not zstd"

fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

publish_fails "$delta"
result=$(fota_status_field dev-1 result)
[ "$result" = unsupported ] && pass "delta: dev-1 reports result unsupported" ||
	fail_soft "delta: dev-1 reports result '$result'"
reason=$(fota_status_field dev-1 reason)
[[ "$reason" == *"delta-only payloads (image.from_sha256) are not supported by this agent"* ]] &&
	pass "delta: the reason says why: $reason" || fail_soft "delta: reason '$reason'"

publish_fails "$plain"
result=$(fota_status_field dev-1 result)
reason=$(fota_status_field dev-1 reason)
[ "$result" = integrity ] && pass "zstd over plain bytes: result integrity" ||
	fail_soft "zstd over plain bytes: result '$result'"
[[ "$reason" == zstd:* ]] && pass "zstd over plain bytes: the decoder says why: $reason" ||
	fail_soft "zstd over plain bytes: reason '$reason'"
check "the target was not written" test ! -e "$T/dev-1/target/firmware.bin"
check "no decoded or staged file is left" test -z "$(ls "$T/dev-1/state/transfer/")"

# publish_confirms ID LOG: publish to dev-1 and serve repairs until it is confirmed.
publish_confirms() {
	fota_orch publish "$1" --group lab --serve \
		--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
		--wait-devices dev-1 --wait-state confirmed --timeout 60 >"$2" 2>&1 ||
		{ cat "$2"; tail -n 20 "$T/dev-1/client.log"; fail "publish $1: dev-1 not confirmed"; }
}
base=$(fota_image_add "$T/plain.bin" 4.0.0 12) || fail "image add failed"
{ head -c 500000 "$T/plain.bin"; head -c 1000 /dev/urandom; tail -c +500001 "$T/plain.bin"; } \
	>"$T/next.bin"
next=$(fota_image_add "$T/next.bin" 5.0.0 13 --delta-from "$base") ||
	fail "image add --delta-from failed"
next_delta=$(jq -r '.image.delta.sha256[0:16]' <("$jws_tool" verify "$FOTA_PKI/trust" release \
	"$FOTA_ORCH_STATE/images/$next/manifest.jws"))
if fota_image_add "$T/next.bin" 5.0.1 20 --delta-from "$next_delta" >"$T/add.log" 2>&1; then
	fail_soft "--delta-from a delta payload was accepted"
else
	grep -q "delta: --delta-from $next_delta: that is a delta payload, not an image" "$T/add.log" &&
		pass "--delta-from a delta payload is refused, saying why" ||
		fail_soft "--delta-from a delta payload: $(cat "$T/add.log")"
fi
publish_confirms "$next" "$T/publish-next.log"
reason=$(fota_status_field dev-1 reason)
[[ "$reason" == "full payload: the delta's base ${base}... is not the installed image (none)" ]] &&
	pass "wrong base: dev-1 installed the full payload and says why: $reason" ||
	fail_soft "wrong base: reason '$reason'"
fota_same "$T/dev-1/target/firmware.bin" "$T/next.bin" "wrong base: the installed image"

{ head -c 700000 "$T/next.bin"; head -c 1000 /dev/urandom; tail -c +700001 "$T/next.bin"; } \
	>"$T/last.bin"
last=$(fota_image_add "$T/last.bin" 6.0.0 14 --delta-from "$next") ||
	fail "image add --delta-from failed"
printf 'X' | dd of="$T/dev-1/target/firmware.bin" bs=1 seek=10 conv=notrunc 2>/dev/null
publish_confirms "$last" "$T/publish-last.log"
grep -q "accepted: firmware 6.0.0 (delta payload" "$T/dev-1/client.log" &&
	pass "changed base: the journal chose the delta" || fail_soft "changed base: no delta chosen"
reason=$(fota_status_field dev-1 reason)
[[ "$reason" == "full payload: delta base: the installed image holds "*", not the delta's base ${next}..." ]] &&
	pass "changed base: the base's hash refused the apply, full payload installed: $reason" ||
	fail_soft "changed base: reason '$reason'"
fota_same "$T/dev-1/target/firmware.bin" "$T/last.bin" "changed base: the installed image"
fota_summary
