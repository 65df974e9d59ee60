#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/manifest.md: this agent decompresses nothing. A correctly signed manifest that says
# compression zstd is refused before anything is downloaded, with result unsupported and
# the reason; the target is untouched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

jws_tool=$FOTA_BUILD/tests/tools/fota_jws_tool
[ -x "$jws_tool" ] || fail "$jws_tool is not built"
fota_transfer_env
fota_random_image "$T/image.bin" 1
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"

# The stored manifest, re-signed by the release key with compression zstd.
store=$FOTA_ORCH_STATE/images/$id
"$jws_tool" verify "$FOTA_PKI/trust" release "$store/manifest.jws" >"$T/payload.json" ||
	fail "the stored manifest does not verify"
jq -c '.image.compression = "zstd"' "$T/payload.json" | tr -d '\n' >"$T/zstd.json"
"$jws_tool" sign "$FOTA_PKI/signing/release/release-1.pem" - "$T/zstd.json" >"$T/zstd.jws" ||
	fail "signing the zstd manifest failed"
cp "$T/zstd.jws" "$store/manifest.jws"
pass "image $id now carries a signed manifest with compression zstd"

fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
rc=0
fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--wait-devices dev-1 --wait-state confirmed --timeout 60 >"$T/publish.log" 2>&1 || rc=$?
[ "$rc" = 1 ] && pass "publish ended with exit 1: dev-1 failed" ||
	{ cat "$T/publish.log"; fail_soft "publish exit $rc, expected 1"; }
result=$(fota_status_field dev-1 result)
reason=$(fota_status_field dev-1 reason)
[ "$result" = unsupported ] && pass "dev-1 reports result unsupported" ||
	fail_soft "dev-1 reports result '$result'"
[[ "$reason" == *"compression 'zstd' not supported by this agent"* ]] &&
	pass "the reason says why: $reason" || fail_soft "reason '$reason'"
check "the target was not written" test ! -e "$T/dev-1/target/firmware.bin"
fota_summary
