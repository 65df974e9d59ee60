#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A device that requires two release signatures ([trust] release_threshold = 2, three release
# keys in its trust store) installs a manifest signed by two of them, refuses one signed by a
# single key with the reason, and refuses at start a threshold its store cannot meet
# (docs/client.md, [trust]; docs/security.md, "Thresholds and rotation").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env
JWS_TOOL=$FOTA_BUILD/tests/tools/fota_jws_tool
ORCH=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")
REL=$FOTA_PKI/signing/release

# Two more release engineers' keys; the device trusts all three.
cp -r "$FOTA_PKI/trust" "$T/trust"
for k in release-2 release-3; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$REL/$k.pem" 2>/dev/null
	openssl pkey -in "$REL/$k.pem" -pubout -out "$T/trust/release/$k.pem" 2>/dev/null
done
fota_client_conf dev-1 "$T" lab
sed -i "s|^trust = .*|trust = $T/trust|" "$T/dev-1/client.conf"
printf '\n[trust]\nrelease_threshold = 2\n' >>"$T/dev-1/client.conf"

# A threshold above the store's release keys is refused before anything runs.
rc=0
"$FOTA_CLIENT_BIN" --config "$T/dev-1/client.conf" --set trust.release_threshold=4 --check \
	>"$T/check.log" 2>&1 || rc=$?
check "release_threshold 4 with 3 release keys: exit 2" [ "$rc" = 2 ]
check "... saying why" grep -q "release_threshold = 4 but trust store $T/trust holds 3 release key(s)" "$T/check.log"
check "release_threshold 2 with 3 release keys passes --check" \
	"$FOTA_CLIENT_BIN" --config "$T/dev-1/client.conf" --check

fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

# sign_offline FILE VERSION SEQUENCE KEYS OUT: the manifest image sign makes, signed by every
# key file in the comma-separated KEYS, in OUT.
sign_offline() {
	fota_orch image sign "$1" --name firmware --version "$2" --vendor acme --model gw-100 \
		--hw B --sequence "$3" --release-key "$REL/release-1.pem" --out "$5.one" \
		>/dev/null || fail "image sign failed"
	"$JWS_TOOL" verify "$FOTA_PKI/trust" release "$5.one" >"$5.payload" ||
		fail "the signed manifest does not verify"
	"$JWS_TOOL" sign "$4" - "$5.payload" | tr -d '\n' >"$5" || fail "signing with $4 failed"
}
# import_publish FILE MANIFEST: stores the image and publishes it to lab.
import_publish() {
	local id
	id=$(fota_orch image import "$1" --manifest "$2" --trust "$T/trust") ||
		fail "image import failed"
	fota_orch publish "$id" --group lab "${ORCH[@]}" >>"$T/publish.log" 2>&1 ||
		fail "publish failed (see $T/publish.log)"
}

# One release signature: refused.
fota_random_image "$T/one.bin" 1
sign_offline "$T/one.bin" 2.0.0 10 "$REL/release-1.pem" "$T/one.jws"
import_publish "$T/one.bin" "$T/one.jws"
refused() {
	[ "$(fota_status_field dev-1 state)" = failed ] &&
		[ "$(fota_status_field dev-1 result)" = signature ]
}
if fota_wait_for 30 refused; then
	pass "one release signature refused: $(fota_status_field dev-1 reason)"
else
	fail_soft "one release signature: $(fota_status_json dev-1)"
fi
reason_counts() {
	grep -qF "1 valid release signature(s), 2 needed" <<<"$(fota_status_field dev-1 reason)"
}
check "the reason counts the signatures" reason_counts
check "nothing was installed" [ ! -e "$T/dev-1/target/firmware.bin" ]

# Two of three: installed.
fota_random_image "$T/two.bin" 1
sign_offline "$T/two.bin" 2.0.1 11 "$REL/release-1.pem,$REL/release-3.pem" "$T/two.jws"
check "the manifest carries two signatures" [ "$(jq '.signatures | length' "$T/two.jws")" = 2 ]
import_publish "$T/two.bin" "$T/two.jws"
if fota_wait_state dev-1 confirmed 60; then
	pass "a manifest signed by 2 of 3 release keys installed"
else
	fail_soft "2 of 3: $(fota_status_json dev-1)"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/two.bin" "dev-1's image"
fota_summary
