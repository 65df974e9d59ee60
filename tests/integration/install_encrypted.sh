#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/client.md, "Encrypted images", with real agents: an image added with --encrypt installs
# on a device registered with its certificate (the agent unwraps the content key with its TLS
# key and opens every chunk), and a group member that got no key fails with `no content key`
# once its stall timeout runs out; one given another device's wrapped key (signed, re-addressed)
# fails with `content key does not unwrap`; tampered ciphertext is dropped on its GCM tag and
# re-requested; a later job for the same image (a newer directive, no new key document) finds
# the key again after the failed first job wiped it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/directive_lib.sh"

fota_transfer_env
fota_random_image "$T/image.bin" 200k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384 --encrypt) ||
	fail "image add --encrypt failed"
fota_orch device add dev-1 --groups lab --model gw-100 --hw B \
	--device-cert "$FOTA_PKI/devices/dev-1.crt" 2>/dev/null || fail "device add dev-1"
fota_orch device add dev-2 --groups lab --model gw-100 --hw B 2>/dev/null ||
	fail "device add dev-2"

fota_client_conf dev-1 "$T" lab
fota_client_conf dev-2 "$T" lab stall_timeout_s=5
fota_client_start dev-1 "$T"
fota_client_start dev-2 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
fota_wait_for 10 fota__state_is dev-2 idle || fail "dev-2 did not come online"
fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--wait-devices dev-1 --wait-state confirmed --timeout 60 >"$T/publish.log" 2>&1 ||
	{ cat "$T/publish.log"; tail -n 20 "$T/dev-1/client.log"; fail "publish did not end confirmed"; }
pass "dev-1 confirmed the encrypted update"
fota_same "$T/image.bin" "$T/dev-1/target/firmware.bin" "dev-1's installed image"
check "dev-1 accepted its key document" grep -q "key document .* for image $id accepted" \
	"$T/dev-1/client.log"
# The key lives in the agent's memory only: no file under its state directory holds it.
key_on_disk() {
	python3 - "$FOTA_ORCH_STATE/images/$id/content.key" "$T/dev-1/state" <<'PY'
import os, sys
key = open(sys.argv[1], "rb").read()
for root, _, files in os.walk(sys.argv[2]):
    for f in files:
        if key in open(os.path.join(root, f), "rb").read():
            sys.exit(0)
sys.exit(1)
PY
}
check "dev-1 never wrote the content key to its state directory" eval '! key_on_disk'

fota_wait_state dev-2 failed 30 ||
	{ tail -n 20 "$T/dev-2/client.log"; fail "dev-2 (no certificate, no key) did not fail"; }
reason=$(fota_status_field dev-2 reason)
case "$reason" in
"no content key"*) pass "dev-2, which got no key, failed: $reason" ;;
*) fail_soft "dev-2 failed with '$reason', not 'no content key'" ;;
esac
check "dev-2 wrote nothing to its target" test ! -s "$T/dev-2/target/firmware.bin"

# dev-1's wrapped key, re-addressed to dev-3 and signed with the orchestrator key: it verifies,
# but the JWE does not open with dev-3's TLS key.
FOTA_CLIENT_TIMEOUT=3 fota_sub orchestrator -t fota/v1/devices/dev-1/key -C 1 -W 3 >"$T/k1.jws" ||
	fail "no key document for dev-1"
"$FOTA_BUILD/tests/tools/fota_jws_tool" verify "$FOTA_PKI/trust" orchestrator "$T/k1.jws" |
	jq -c '.device = "dev-3" | .seq = 1' >"$T/k3.json" || fail "dev-1's key document"
"$FOTA_BUILD/tests/tools/fota_jws_tool" sign "$FOTA_PKI/signing/orchestrator/orch-1.pem" - \
	"$T/k3.json" >"$T/k3.jws" || fail "signing the re-addressed key document"
fota_pub orchestrator -t fota/v1/devices/dev-3/key -r -f "$T/k3.jws" || fail "publishing it"
fota_orch device add dev-3 --groups lab --model gw-100 --hw B 2>/dev/null ||
	fail "device add dev-3"
fota_client_conf dev-3 "$T" lab stall_timeout_s=5
fota_client_start dev-3 "$T"
fota_wait_state dev-3 failed 30 ||
	{ tail -n 20 "$T/dev-3/client.log"; fail "dev-3 (another device's key) did not fail"; }
reason=$(fota_status_field dev-3 reason)
case "$reason" in
"content key does not unwrap"*) pass "dev-3, given dev-1's wrapped key, failed: $reason" ;;
*) fail_soft "dev-3 failed with '$reason', not 'content key does not unwrap'" ;;
esac
check "dev-3 logged why it ignored the key document" \
	grep -q "key document ignored: content key does not unwrap" "$T/dev-3/client.log"

# Tampered ciphertext: each real sealed chunk with one bit flipped, published by a rogue
# identity before any genuine chunk, is dropped on its GCM tag, re-requested, and the image
# ends correct. dev-4 is alone in the group the test forger may write to, and the directive
# goes out without a broadcast.
fota_orch device add dev-4 --groups forgetest --model gw-100 --hw B \
	--device-cert "$FOTA_PKI/devices/dev-4.crt" 2>/dev/null || fail "device add dev-4"
fota_client_conf dev-4 "$T" forgetest
fota_client_start dev-4 "$T"
fota_wait_for 10 fota__state_is dev-4 idle || fail "dev-4 did not come online"
fota_orch publish "$id" --group forgetest --no-broadcast \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish4.log" 2>&1 ||
	{ cat "$T/publish4.log" >&2; fail "publish failed"; }
fota_wait_line "$T/dev-4/client.log" "content key for image $id in use" 10 ||
	{ tail -n 20 "$T/dev-4/client.log"; fail "dev-4 did not take its content key"; }
count=13 # 200 KiB in 16 KiB chunks
sealed=$FOTA_ORCH_STATE/images/$id/image.bin
for ((i = 0; i < count; i++)); do
	n=$((16384 + 16))
	[ "$i" -lt $((count - 1)) ] || n=$((204800 - 12 * 16384 + 16))
	python3 - "$sealed" $((i * (16384 + 16))) "$n" >"$T/tampered.$i" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()[int(sys.argv[2]):int(sys.argv[2]) + int(sys.argv[3])]
sys.stdout.buffer.write(data[:100] + bytes([data[100] ^ 1]) + data[101:])
PY
	fota_forge_frame "$id" "$i" "$count" "$T/tampered.$i" >"$T/frame.$i"
	fota_pub forger -t "fota/v1/groups/forgetest/images/$id/chunks" -q 1 -f "$T/frame.$i" ||
		fail "forger could not publish"
done
tag_drops() { [ "$(grep -c "dropped: chunk [0-9]*: GCM tag mismatch" "$T/dev-4/client.log")" -ge "$count" ]; }
fota_wait_for 10 tag_drops && pass "all $count tampered chunks dropped on their GCM tag" ||
	fail_soft "$(grep -c "GCM tag mismatch" "$T/dev-4/client.log") of $count tampered chunks dropped"
check "nothing installed from tampered data" test ! -e "$T/dev-4/target/firmware.bin"
fota_orch_bg "$T/serve.log" serve
fota_wait_state dev-4 confirmed 60 && pass "dev-4 confirmed after the chunks were re-requested" ||
	{ tail -n 30 "$T/dev-4/client.log" >&2; fail "dev-4 did not finish"; }
fota_same "$T/image.bin" "$T/dev-4/target/firmware.bin" "dev-4's installed image"

# A later job for the same image, as a campaign's retry sends it: dev-5's first job gets its
# key and directive but no chunk (nothing serves repairs) and fails on its stall timeout, which
# wipes the key. A newer directive for the same image comes with no new key document (the
# retained one is not sent again on a subscription that stays): the agent opens the document
# it kept, instead of failing with `no content key`.
fota_orch_stop
fota_orch device add dev-5 --groups again --model gw-100 --hw B \
	--device-cert "$FOTA_PKI/devices/dev-5.crt" 2>/dev/null || fail "device add dev-5"
fota_client_conf dev-5 "$T" again stall_timeout_s=3
fota_client_start dev-5 "$T"
fota_wait_for 10 fota__state_is dev-5 idle || fail "dev-5 did not come online"
fota_orch publish "$id" --group again --no-broadcast \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish5.log" 2>&1 ||
	{ cat "$T/publish5.log" >&2; fail "publish to again failed"; }
fota_wait_state dev-5 failed 30 ||
	{ tail -n 20 "$T/dev-5/client.log"; fail "dev-5's first job (no chunks served) did not fail"; }
check "dev-5's first job had its key" \
	grep -q "content key for image $id in use" "$T/dev-5/client.log"
directive_resign again '.directive_seq += 1' "$T/again-2.jws"
directive_send "$T/again-2.jws" again
fota_orch_bg "$T/serve-2.log" serve
fota_wait_state dev-5 confirmed 60 && pass "dev-5's second job for the image confirmed" ||
	{ tail -n 20 "$T/dev-5/client.log" >&2; fail "dev-5's second job did not confirm"; }
check "dev-5 opened the key document it kept, receiving none" \
	[ "$(grep -c "key document .* accepted" "$T/dev-5/client.log")" = 1 ]
fota_same "$T/image.bin" "$T/dev-5/target/firmware.bin" "dev-5's installed image"
fota_summary
