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
# falls back to the full payload by itself, saying why. A fourth release signed offline with
# --encrypt and imported: the orchestrator host makes its content key and seals the chunks,
# and the device installs it from ciphertext that a subscriber sees on the wire.
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
# publish_confirmed ID LOG WHAT [publish options...]: publishes ID to group lab and passes once
# dev-1 confirmed it.
publish_confirmed() {
	local id=$1 log=$2 what=$3
	shift 3
	if fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
		--wait-devices dev-1 --wait-state confirmed "$@" >"$log" 2>&1; then
		pass "dev-1 confirmed $what"
	else
		cat "$log" >&2
		fail_soft "publish of $what did not end with dev-1 confirmed"
	fi
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
publish_confirmed "$id" "$T/publish.log" "the offline-signed image" --timeout 120
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
publish_confirmed "$id2" "$T/publish2.log" "the offline-signed release" --timeout 120 --serve
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
publish_confirmed "$id3" "$T/publish3.log" "a release whose delta is not in the store" \
	--timeout 120 --serve
reason=$(fota_status_field dev-1 reason)
[[ "$reason" == "full payload: stalled: 2 repair requests brought no new chunk"* ]] &&
	pass "the unavailable delta fell back to the full payload: $reason" ||
	fail_soft "unavailable delta: reason '$reason'"
fota_same "$T/dev-1/target/firmware.bin" "$offline/fw3.bin" "dev-1's image from the full payload"

# A release signed offline with --encrypt: the release key signs image.encryption, import
# makes the content key on this host and stores the chunks sealed, and dev-1 (registered with
# its certificate, so it gets the key wrapped to it) installs it from ciphertext. A subscriber
# with the orchestrator's certificate sees every chunk on the wire: none is its plaintext.
fota_random_image "$offline/fw4.bin" 200k
id4=$("$FOTA_ORCH_BIN" --state-dir "$offline/no-state" image sign "$offline/fw4.bin" \
	--name firmware --version 5.0.0 --vendor acme --model gw-100 --hw B --sequence 13 \
	--chunk-size 16384 --release-key "$release" --out "$offline/fw4.jws" --encrypt) ||
	fail "image sign --encrypt failed"
check "image sign --encrypt made no state directory and no key" test ! -e "$offline/no-state"
"$FOTA_BUILD/tests/tools/fota_jws_tool" verify "$FOTA_PKI/trust" release "$offline/fw4.jws" \
	>"$T/fw4.json" || fail "the --encrypt manifest does not verify as the release key's"
check "the release key signed image.encryption, listed as critical" \
	[ "$(jq -c '[.image.encryption.alg, .image.encryption.key_wrap, .critical]' "$T/fw4.json")" \
	= '["A256GCM-chunk","ECDH-ES+A256KW",["image.encryption"]]' ]
fota_orch image import "$offline/fw4.bin" --manifest "$offline/fw4.jws" --trust "$host_trust" \
	--json >"$T/import4.json" 2>"$T/import4.err" ||
	{ cat "$T/import4.err" >&2; fail "image import of the --encrypt manifest failed"; }
check "import stored image $id4 as encrypted" \
	[ "$(jq -r '[.image_id, .encryption] | join(" ")' "$T/import4.json")" = "$id4 A256GCM-chunk" ]
store4=$FOTA_ORCH_STATE/images/$id4
check "its content key is kept 0600 beside it" [ "$(stat -c '%a %s' "$store4/content.key")" = "600 32" ]
check "the store keeps the sealed chunks (a 16-byte tag each), no plaintext" \
	[ "$(stat -c %s "$store4/image.bin")" = $((204800 + 13 * 16)) ]
key4=$(od -An -tx1 "$store4/content.key" | tr -d ' \n')
check "import did not print the content key" eval '! grep -qi "$key4" "$T/import4.json" "$T/import4.err"'
fota_orch device add dev-1 --groups lab --model gw-100 --hw B \
	--device-cert "$FOTA_PKI/devices/dev-1.crt" 2>/dev/null || fail "device add dev-1"
# dev-1's retained status arrives once the subscription (one SUBSCRIBE for both topics) holds.
fota_sub_bg orchestrator "$T/frames4" -t "fota/v1/groups/lab/images/$id4/chunks" \
	-t fota/v1/devices/dev-1/status -F '%t %x'
fota_wait_line "$T/frames4" "fota/v1/devices/dev-1/status " 10 ||
	fail "the chunk subscriber did not subscribe"
publish_confirmed "$id4" "$T/publish4.log" "the release signed offline with --encrypt" --timeout 60 --serve
fota_same "$T/dev-1/target/firmware.bin" "$offline/fw4.bin" "dev-1's image opened from ciphertext"
check "dev-1 took its content key" grep -q "content key for image $id4 in use" "$T/dev-1/client.log"
check "no log holds the content key" eval '! grep -qi "$key4" "$T/publish4.log" "$T/dev-1/client.log"'
python3 - "$T/frames4" "$offline/fw4.bin" "$id4" <<'PY' &&
import struct, sys
chunk = 16384
plain = open(sys.argv[2], "rb").read()
topic = "fota/v1/groups/lab/images/%s/chunks " % sys.argv[3]
frames = [bytes.fromhex(l[len(topic):].strip()) for l in open(sys.argv[1]) if l.startswith(topic)]
seen = set()
for f in frames:
    assert f[8:16].hex() == sys.argv[3], "frame of another image"
    (i,) = struct.unpack(">I", f[16:20])
    want = plain[i * chunk:(i + 1) * chunk]
    assert f[32:] != want and want[:64] not in f[32:], "chunk %d on the wire is plaintext" % i
    assert len(f) - 32 == len(want) + 16, "chunk %d is not ciphertext || tag" % i
    seen.add(i)
assert seen == set(range(13)), "chunks seen on the wire: %s of 13" % sorted(seen)
print(len(frames))
PY
	pass "every chunk of the encrypted import crossed the broker as ciphertext || tag" ||
	fail_soft "the wire carried plaintext chunks of the encrypted import (or not all chunks)"
fota_summary
