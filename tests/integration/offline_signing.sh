#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The offline-signing flow of docs/deploy.md end to end: `image sign` makes the signed
# manifest on a machine with the release key and no state directory, `image import` stores
# the image on the orchestrator host against its trust store, and a real device installs it.
# Also: what import refuses (other bytes, an untrusted key), and that sign writes nothing
# when it fails. Then the next release signed offline with --compress and --delta-from (the
# base is the image file of the first), imported with --delta: the device, running the
# first, installs it from the delta payload. A third release imported without its delta: the
# device, running its base, asks for the delta, gets nothing (it is not in the store), and
# falls back to the full payload by itself, saying why.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env
release=$FOTA_PKI/signing/release/release-1.pem
offline=$T/offline
mkdir -p "$offline"
fota_random_image "$offline/fw.bin" 1
sign() {
	"$FOTA_ORCH_BIN" --state-dir "$offline/no-state" image sign "$offline/fw.bin" \
		--name firmware --version 2.0.0 --vendor acme --model gw-100 --hw B --sequence 10 "$@"
}

# Offline machine: the release key, the image, no state directory, no broker.
id=$(sign --release-key "$release" --out "$offline/fw.jws") || fail "image sign failed"
[[ "$id" =~ ^[0-9a-f]{16}$ ]] || fail "image sign printed '$id', not an image id"
check "image sign wrote the signed manifest" test -s "$offline/fw.jws"
check "image sign made no state directory" test ! -e "$offline/no-state"
[ "$id" = "$(sha256sum "$offline/fw.bin" | cut -c1-16)" ] &&
	pass "the image id is the first 8 bytes of the image SHA-256" ||
	fail_soft "image id $id is not the start of the image SHA-256"

# Failures leave no manifest behind and say why.
rc=0
sign --out "$offline/nokey.jws" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "no release key" "$T/err" && [ ! -e "$offline/nokey.jws" ] &&
	pass "no release key: exit 2, nothing written" || fail_soft "no release key: exit $rc: $(cat "$T/err")"
rc=0
sign --release-key "$release" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--out" "$T/err" && pass "no --out: exit 2" ||
	fail_soft "no --out: exit $rc: $(cat "$T/err")"

# Orchestrator host: a trust store holding only the release public key, as docs/deploy.md
# tells the operator to install it (trust/release/<kid>.pem).
host_trust=$T/host/trust
install -d "$host_trust/release"
install -m 0644 "$FOTA_PKI/trust/release/release-1.pem" "$host_trust/release/release-1.pem"
got=$(fota_orch image import "$offline/fw.bin" --manifest "$offline/fw.jws" \
	--trust "$host_trust") || fail "image import of the offline-signed image failed"
[ "$got" = "$id" ] && pass "image import stored image $id" || fail_soft "import printed '$got'"

cp "$offline/fw.bin" "$T/other.bin"
printf 'x' | dd of="$T/other.bin" bs=1 seek=1000 conv=notrunc status=none
rc=0
fota_orch image import "$T/other.bin" --manifest "$offline/fw.jws" --trust "$host_trust" \
	2>"$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "SHA-256" "$T/err" && pass "import of other bytes refused: $(cat "$T/err")" ||
	fail_soft "import of other bytes: exit $rc: $(cat "$T/err")"
# Signed with the orchestrator key: valid signature, wrong role for a manifest.
sign --release-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --out "$offline/wrong.jws" \
	>/dev/null || fail "image sign with another key failed"
rc=0
fota_orch image import "$offline/fw.bin" --manifest "$offline/wrong.jws" \
	--trust "$host_trust" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && pass "import of a manifest no release key signed refused: $(cat "$T/err")" ||
	fail_soft "import of a manifest signed by the orchestrator key: exit $rc"

# A device takes the imported image like any other.
fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
if fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--wait-devices dev-1 --wait-state confirmed --timeout 120 >"$T/publish.log" 2>&1; then
	pass "dev-1 confirmed the offline-signed image"
else
	cat "$T/publish.log" >&2
	fail_soft "publish of the imported image did not end with dev-1 confirmed"
fi
fota_same "$T/dev-1/target/firmware.bin" "$offline/fw.bin" "dev-1's installed image"

{ head -c 400000 "$offline/fw.bin"; head -c 3000 /dev/urandom; tail -c +400001 "$offline/fw.bin"; } \
	>"$offline/fw2.bin"
id2=$("$FOTA_ORCH_BIN" --state-dir "$offline/no-state" image sign "$offline/fw2.bin" \
	--name firmware --version 3.0.0 --vendor acme --model gw-100 --hw B --sequence 11 \
	--release-key "$release" --out "$offline/fw2.jws" --compress zstd \
	--payload-out "$offline/fw2.zst" --delta-from "$offline/fw.bin" \
	--delta-out "$offline/fw2.delta") || fail "image sign --compress --delta-from failed"
check "image sign made no state directory" test ! -e "$offline/no-state"
[ "$id2" = "$(sha256sum "$offline/fw2.zst" | cut -c1-16)" ] &&
	pass "with --compress the id is the compressed payload's" || fail_soft "id2 $id2"
cmp -s <(zstd -dc "$offline/fw2.zst") "$offline/fw2.bin" && pass "--payload-out is zstd of FILE" ||
	fail_soft "--payload-out is not zstd of FILE"
rc=0
sign --release-key "$release" --out "$offline/half.jws" --compress zstd 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--compress and --payload-out go together" "$T/err" &&
	[ ! -e "$offline/half.jws" ] && pass "--compress without --payload-out: exit 2, nothing written" ||
	fail_soft "--compress without --payload-out: exit $rc: $(cat "$T/err")"
rc=0
fota_orch image import "$offline/fw2.zst" --manifest "$offline/fw2.jws" --trust "$host_trust" \
	--delta "$offline/fw2.bin" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "fw2.bin has .* bytes, the manifest says" "$T/err" &&
	pass "import of a wrong --delta refused: $(cat "$T/err")" ||
	fail_soft "import of a wrong --delta: exit $rc: $(cat "$T/err")"
rc=0
fota_orch image import "$offline/fw.bin" --manifest "$offline/fw.jws" --trust "$host_trust" \
	--delta "$offline/fw2.delta" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "the manifest offers no delta" "$T/err" &&
	pass "--delta for a manifest without one refused" ||
	fail_soft "--delta without image.delta: exit $rc: $(cat "$T/err")"
got=$(fota_orch image import "$offline/fw2.zst" --manifest "$offline/fw2.jws" \
	--trust "$host_trust" --delta "$offline/fw2.delta") || fail "image import --delta failed"
[ "$got" = "$id2" ] && pass "image import stored image $id2 and its delta" ||
	fail_soft "import printed '$got'"
delta_id=$(sha256sum "$offline/fw2.delta" | cut -c1-16)
check "the delta payload is in the store" cmp -s "$offline/fw2.delta" \
	"$FOTA_ORCH_STATE/images/$delta_id/image.bin"
if fota_orch publish "$id2" --group lab --serve \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--wait-devices dev-1 --wait-state confirmed --timeout 120 >"$T/publish2.log" 2>&1; then
	pass "dev-1 confirmed the offline-signed release"
else
	cat "$T/publish2.log" >&2
	fail_soft "publish of the second imported image did not end with dev-1 confirmed"
fi
grep -q "accepted: firmware 3.0.0 (delta payload $delta_id" "$T/dev-1/client.log" &&
	pass "dev-1 took the offline-signed delta" || fail_soft "dev-1 did not take the delta"
fota_same "$T/dev-1/target/firmware.bin" "$offline/fw2.bin" "dev-1's image built from the delta"

{ head -c 200000 "$offline/fw2.bin"; head -c 3000 /dev/urandom; tail -c +200001 "$offline/fw2.bin"; } \
	>"$offline/fw3.bin"
id3=$("$FOTA_ORCH_BIN" --state-dir "$offline/no-state" image sign "$offline/fw3.bin" \
	--name firmware --version 4.0.0 --vendor acme --model gw-100 --hw B --sequence 12 \
	--release-key "$release" --out "$offline/fw3.jws" --delta-from "$offline/fw2.bin" \
	--delta-out "$offline/fw3.delta") || fail "image sign --delta-from failed"
fota_orch image import "$offline/fw3.bin" --manifest "$offline/fw3.jws" \
	--trust "$host_trust" >/dev/null || fail "image import without --delta failed"
fota_client_kill dev-1
fota_client_conf dev-1 "$T" lab max_retries=2
fota_client_start dev-1 "$T"
if fota_orch publish "$id3" --group lab --serve \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--wait-devices dev-1 --wait-state confirmed --timeout 120 >"$T/publish3.log" 2>&1; then
	pass "dev-1 confirmed a release whose delta is not in the store"
else
	cat "$T/publish3.log" >&2
	fail_soft "publish of the third image did not end with dev-1 confirmed"
fi
reason=$(fota_status_field dev-1 reason)
[[ "$reason" == "full payload: stalled: 2 repair requests brought no new chunk"* ]] &&
	pass "the unavailable delta fell back to the full payload: $reason" ||
	fail_soft "unavailable delta: reason '$reason'"
fota_same "$T/dev-1/target/firmware.bin" "$offline/fw3.bin" "dev-1's image from the full payload"
fota_summary
