#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Encrypted payloads on the orchestrator's side, against the real broker: an image
# added with --encrypt goes over the broker as ciphertext only; a campaign gives its content
# key, wrapped to the device's registered certificate, on the device's own key topic before
# the directive, and python3-jwcrypto unwraps that key with the device's TLS key; a group
# member without a certificate is not admitted and gets no key; no device reads another's
# key topic; the retained key is removed once the device confirms. `publish` to a group does
# the same for the members it admits with a certificate; there, real agents show tampered
# ciphertext dropped for its GCM tag and re-requested by repair before an install of the
# signed image, and a device handed another device's wrapped key failing with `content key
# does not unwrap`. The same signed manifest imported into another store (image import) is
# sealed there under a content key of its own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_require jq
# Debian's interpreter, where python3-jwcrypto (and python3-cryptography) install, whatever
# python3 PATH finds first.
py=/usr/bin/python3
"$py" -c 'import jwcrypto, cryptography' 2>/dev/null ||
	{ [ "${FOTA_ALLOW_SKIP:-0}" = 1 ] && exit 77; fail "python3-jwcrypto is not installed"; }
fota_transfer_env
ORCH_KEY_ARGS=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")

# open_payload KEY SEALED IMAGE_ID CHUNK_SIZE SIZE KIND: the plaintext of sealed chunks
# (ciphertext || 16-byte tag each), opened independently of our code (docs/protocol.md).
open_payload() {
	"$py" - "$@" <<'PY'
import struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = open(sys.argv[1], "rb").read()
sealed = open(sys.argv[2], "rb").read()
image_id, chunk, size, kind = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
out, off, i = b"", 0, 0
while len(out) < size:
    n = min(chunk, size - len(out)) + 16
    aad = image_id.encode() + b"\0" + struct.pack(">QI", i, kind)
    out += AESGCM(key).decrypt(struct.pack(">IQ", kind, i), sealed[off:off + n], aad)
    off, i = off + n, i + 1
assert off == len(sealed), "trailing bytes"
sys.stdout.buffer.write(out)
PY
}

# unwrap JWE_FILE DEVICE_KEY: the content key inside a compact JWE, by jwcrypto.
unwrap() {
	"$py" - "$@" <<'PY'
import sys
from jwcrypto import jwe, jwk
key = jwk.JWK.from_pem(open(sys.argv[2], "rb").read())
tok = jwe.JWE()
tok.deserialize(open(sys.argv[1]).read().strip(), key=key)
sys.stdout.buffer.write(tok.payload)
PY
}

# key_doc DEV: the retained key document on DEV's key topic, read as DEV (empty if none).
key_doc() {
	FOTA_CLIENT_TIMEOUT=3 fota_sub "$1" -t "fota/v1/devices/$1/key" -C 1 -W 1 2>/dev/null || true
}

fota_random_image "$T/image.bin" 200k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384 --encrypt) ||
	fail "image add --encrypt failed"
store=$FOTA_ORCH_STATE/images/$id
check "the manifest says image.encryption" \
	[ "$(fota_orch image show "$id" --json | jq -r .encryption)" = A256GCM-chunk ]
check "the content key is kept 0600 beside the image" \
	[ "$(stat -c '%a %s' "$store/content.key")" = "600 32" ]
check "the store keeps ciphertext, a tag per chunk, no plaintext" \
	[ "$(stat -c %s "$store/image.bin")" = $((204800 + 13 * 16)) ]
open_payload "$store/content.key" "$store/image.bin" "$id" 16384 204800 0 >"$T/opened.bin" ||
	fail "the stored chunks do not open with the content key"
fota_same "$T/opened.bin" "$T/image.bin" "the stored chunks, opened independently,"
# The same signed manifest imported on another host: image import seals as image add does,
# under a content key of its own, and the chunks open independently with that key.
# First with a file size limit that fits the 200 KiB copy but not the sealed chunks (a tag
# more each): sealing fails, the import says why and stores nothing.
imported=$T/imported/images/$id
rc=0
(
	trap '' XFSZ
	ulimit -f 200
	exec "$FOTA_ORCH_BIN" --state-dir "$T/imported" image import "$T/image.bin" \
		--manifest "$store/manifest.jws" --trust "$FOTA_PKI/trust"
) >/dev/null 2>"$T/import-fail.err" || rc=$?
[ "$rc" = 1 ] && grep -q "image.encryption A256GCM-chunk, and sealing the payload failed: write .*: File too large; nothing was stored" "$T/import-fail.err" &&
	[ ! -e "$imported" ] && pass "an import whose sealing fails stores nothing: $(cat "$T/import-fail.err")" ||
	fail_soft "failed sealing: exit $rc, $(cat "$T/import-fail.err")"
"$FOTA_ORCH_BIN" --state-dir "$T/imported" image import "$T/image.bin" \
	--manifest "$store/manifest.jws" --trust "$FOTA_PKI/trust" >/dev/null ||
	fail "image import of an encrypted manifest failed"
check "import keeps its own content key 0600" \
	[ "$(stat -c '%a %s' "$imported/content.key")" = "600 32" ]
check "... a new one, not the key image add made" \
	eval '! cmp -s "$imported/content.key" "$store/content.key"'
check "import stores ciphertext, a tag per chunk, no plaintext" \
	[ "$(stat -c %s "$imported/image.bin")" = $((204800 + 13 * 16)) ]
open_payload "$imported/content.key" "$imported/image.bin" "$id" 16384 204800 0 \
	>"$T/opened-import.bin" || fail "the imported chunks do not open with their content key"
fota_same "$T/opened-import.bin" "$T/image.bin" "the imported chunks, opened independently,"
check "a delta from an encrypted image is refused" \
	grep -q "that image is stored encrypted" \
	<(fota_image_add "$T/image.bin" 2.0.1 11 --delta-from "$id" 2>&1 || true)

# dev-1 and dev-2 registered with their certificates, dev-3 in the group without one (first
# with the broker, as every device is before it connects: fota_register).
fota_register dev-1=lab dev-2=lab dev-3=lab
for d in dev-1 dev-2; do
	fota_orch device add "$d" --groups lab --model gw-100 --hw B \
		--device-cert "$FOTA_PKI/devices/$d.crt" 2>/dev/null || fail "device add $d"
done
fota_orch device add dev-3 --groups lab --model gw-100 --hw B 2>/dev/null || fail "device add dev-3"

# What a group member sees on the broadcast: dev-3 listens to the group's chunks.
fota_sub_bg dev-3 "$T/frames" -t "fota/v1/groups/lab/images/$id/chunks" -F '%x'
DEV3_SUB=$FOTA_BG_PID
serve_start "$T/serve.log"
fota_orch campaign create enc --image "$id" --group lab --stage 100% >/dev/null ||
	fail "campaign create"
fota_orch campaign start enc >/dev/null || fail "campaign start"
directive_out() { [ -n "$(events enc | jq -r '.[] | select(.kind == "directive") | .seq')" ]; }
fota_wait_for 20 directive_out || { cat "$T/serve.log" >&2; fail "no directive"; }

key_doc dev-1 >"$T/dev-1.jws"
check "dev-1's key document is retained on its key topic" [ -s "$T/dev-1.jws" ]
"$FOTA_BUILD/tests/tools/fota_jws_tool" verify "$FOTA_PKI/trust" orchestrator "$T/dev-1.jws" \
	>"$T/dev-1.json" || fail "dev-1's key document does not verify as the orchestrator's"
check "it names dev-1 and the image" \
	[ "$(jq -r '[.type, .device, .image_id] | join(" ")' "$T/dev-1.json")" = "fota-key/1 dev-1 $id" ]
jq -r .jwe "$T/dev-1.json" >"$T/dev-1.jwe"
unwrap "$T/dev-1.jwe" "$FOTA_PKI/devices/dev-1.key" >"$T/dev-1.cek" ||
	fail "jwcrypto cannot unwrap dev-1's key with dev-1's TLS key"
check "jwcrypto unwraps the orchestrator's wrapped key with dev-1's TLS key" \
	cmp -s "$T/dev-1.cek" "$store/content.key"
unwrap_fails() { ! unwrap "$@" >/dev/null 2>&1; }
check "... and not with dev-2's" unwrap_fails "$T/dev-1.jwe" "$FOTA_PKI/devices/dev-2.key"
key_before_directive() {
	events enc | jq -e '[.[] | select(.kind == "key" or .kind == "directive") | .kind] |
		index("key") < index("directive")' >/dev/null
}
check "the key went out before the directive" key_before_directive
check "dev-3, without a certificate, is not admitted, with the reason" \
	[ "$(cstatus enc '.incompatible[] | select(.device == "dev-3") | .reason')" = "no device certificate" ]
# The broadcast dev-3 received is ciphertext: no 64-byte run of the image's plaintext in it.
got_frames() { [ "$(wc -l <"$T/frames")" -ge 13 ]; }
fota_wait_for 30 got_frames || fail "dev-3 received $(wc -l <"$T/frames") chunk frames of 13"
"$py" - "$T/frames" "$T/image.bin" <<'PY' || fail "plaintext of the image reached dev-3"
import sys
frames = [bytes.fromhex(l.strip()) for l in open(sys.argv[1]) if l.strip()]
plain = open(sys.argv[2], "rb").read()
seen = b"".join(f[32:] for f in frames)
assert all(plain[i:i + 64] not in seen for i in range(0, len(plain) - 64, 4096)), "plaintext"
assert all(len(f) - 32 in (16384 + 16, 204800 - 12 * 16384 + 16) for f in frames), "lengths"
PY
pass "dev-3 received $(wc -l <"$T/frames") frames of ciphertext (chunk + 16-byte tag), no plaintext"
# Only now another connection as dev-3: its client id is its CN, so it would have taken over
# the listener's session.
fota_stop_pid "$DEV3_SUB" KILL
check "dev-3 gets no key document" [ -z "$(key_doc dev-3)" ]
check "dev-3 cannot read dev-1's key topic" \
	[ -z "$(FOTA_CLIENT_TIMEOUT=3 fota_sub dev-3 -t fota/v1/devices/dev-1/key -C 1 -W 1 2>/dev/null || true)" ]

# dev-1 confirms: its retained key is taken back.
ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fota_pub dev-1 -i dev-1 -q 1 -r -t fota/v1/devices/dev-1/status \
	-m "{\"device\":\"dev-1\",\"state\":\"confirmed\",\"result\":\"success\",\"campaign\":\"enc\",\"image\":\"$id\",\"version\":\"2.0.0\",\"groups\":[\"lab\"],\"ts\":\"$ts\"}" ||
	fail "status of dev-1"
key_gone() { [ -z "$(key_doc dev-1)" ]; }
fota_wait_for 20 key_gone && pass "dev-1's retained key is removed once it confirmed" ||
	fail_soft "dev-1's key document is still retained after it confirmed"
check "... and dev-2's stays until it confirms" [ -n "$(key_doc dev-2)" ]
fota_stop_pid "$SERVE_PID"

# publish to a group: the members it admits with a certificate get the key first; dev-2, a
# member with a certificate that this publish does not admit, gets no new one.
fota_orch device add dev-4 --groups forgetest --device-cert "$FOTA_PKI/devices/dev-4.crt" 2>/dev/null ||
	fail "device add dev-4"
fota_orch device add dev-5 --groups forgetest 2>/dev/null || fail "device add dev-5"
fota_orch device add dev-2 --groups lab,forgetest 2>/dev/null || fail "device add dev-2"
key_seq() { "$FOTA_BUILD/tests/tools/fota_jws_tool" verify "$FOTA_PKI/trust" orchestrator <(key_doc "$1") | jq -r .seq; }
dev2_seq=$(key_seq dev-2)
# Real agents: dev-4 (admitted, with a certificate) and dev-5, which is handed a key document
# the orchestrator signed for it but wrapped to another device's key.
fota_client_conf dev-4 "$T" forgetest
fota_client_conf dev-5 "$T" forgetest stall_timeout_s=6
fota_client_start dev-4 "$T"
fota_client_start dev-5 "$T"
fota_wait_for 10 fota__state_is dev-4 idle || fail "dev-4 did not come online"
fota_wait_for 10 fota__state_is dev-5 idle || fail "dev-5 did not come online"
jq -c --arg id "$id" '{type: "fota-key/1", device: "dev-5", image_id: $id, seq: 1, jwe: .jwe}' \
	"$T/dev-1.json" >"$T/foreign.json"
"$FOTA_BUILD/tests/tools/fota_jws_tool" sign "$FOTA_PKI/signing/orchestrator/orch-1.pem" - \
	"$T/foreign.json" >"$T/foreign.jws" || fail "signing the foreign key document"
fota_pub orchestrator -q 1 -r -t fota/v1/devices/dev-5/key -f "$T/foreign.jws" ||
	fail "publishing the foreign key document"
fota_orch publish "$id" --group forgetest --admit dev-4,dev-5 --percent 0 --no-broadcast \
	"${ORCH_KEY_ARGS[@]}" >"$T/publish.log" 2>&1 || { cat "$T/publish.log" >&2; fail "publish failed"; }
# No broadcast: dev-4 must fetch every chunk by repair, so forged ciphertext that arrives first
# has to be dropped and asked for again.
fota_wait_line "$T/dev-4/client.log" "downloading" 10 || fail "dev-4 did not start"
for ((i = 0; i < 13; i++)); do
	len=16384
	[ "$i" -lt 12 ] || len=$((204800 - 12 * 16384))
	head -c $((len + 16)) /dev/urandom >"$T/junk"
	fota_forge_frame "$id" "$i" 13 "$T/junk" >"$T/forged.$i"
	fota_pub forger -t "fota/v1/groups/forgetest/images/$id/chunks" -q 1 -f "$T/forged.$i" ||
		fail "forger could not publish"
done
fota_wait_for 10 grep -q "dropped: chunk [0-9]*: GCM tag mismatch" "$T/dev-4/client.log" &&
	pass "dev-4 dropped tampered ciphertext (GCM tag mismatch)" ||
	fail_soft "no tampered frame was dropped for its tag"
[ -e "$T/dev-4/target/firmware.bin" ] && fail_soft "something was installed from tampered data" ||
	pass "nothing installed from tampered data"
serve_start "$T/serve2.log"
fota_wait_state dev-4 confirmed 60 && pass "dev-4 installed the encrypted image after repair" ||
	{ tail -n 30 "$T/dev-4/client.log" >&2; fail "dev-4 did not finish"; }
fota_same "$T/dev-4/target/firmware.bin" "$T/image.bin" "dev-4's installed image"
unwraps_not() { [[ "$(fota_status_field dev-5 reason)" == "content key does not unwrap"* ]]; }
fota_wait_for 30 unwraps_not && pass "dev-5, given another device's wrapped key, reports: content key does not unwrap" ||
	fail_soft "dev-5 reported '$(fota_status_field dev-5 state)/$(fota_status_field dev-5 reason)'"
[ -e "$T/dev-5/target/firmware.bin" ] && fail_soft "dev-5 installed something" ||
	pass "dev-5 installed nothing"
check "publish names the member it cannot give the key" \
	grep -q "dev-5: not sent the content key: no device certificate" "$T/publish.log"
"$FOTA_BUILD/tests/tools/fota_jws_tool" verify "$FOTA_PKI/trust" orchestrator \
	<(key_doc dev-4) >"$T/dev-4.json" || fail "publish left dev-4 no verifiable key document"
jq -r .jwe "$T/dev-4.json" >"$T/dev-4.jwe"
check "dev-4's key from publish unwraps with its TLS key to the content key" \
	cmp -s <(unwrap "$T/dev-4.jwe" "$FOTA_PKI/devices/dev-4.key") "$store/content.key"
same_doc() { [ "$(key_doc "$1")" = "$(cat "$2")" ]; }
check "dev-5 got none from publish (only the foreign one stays)" same_doc dev-5 "$T/foreign.jws"
check "dev-2, not admitted by this publish, got no key document from it" [ "$(key_seq dev-2)" = "$dev2_seq" ]
fota_summary
