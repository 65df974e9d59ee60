#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Forged chunks (well-formed frames, right image id, wrong bytes) published by a rogue
# identity are dropped before they touch storage, re-requested, and the image ends correct.
# Then the same for a delta payload (image.delta): forged frames on the delta's topic are
# dropped, the delta's chunks are re-requested and the image built from it is the signed one.
# First, the registry accepts a device's certificate (content keys are wrapped to its key)
# only if it chains to the device CA, is valid, names the device and holds a P-256 key.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

# cert_refused ID FILE REASON [options...]: `device add ID --device-cert FILE` exits 1 naming
# REASON, and the registry holds no certificate for ID after it.
cert_refused() {
	local id=$1 file=$2 reason=$3 rc=0
	shift 3
	fota_orch device add "$id" --device-cert "$file" "$@" >/dev/null 2>"$T/cert.err" || rc=$?
	[ "$rc" = 1 ] || { echo "exit $rc: $(cat "$T/cert.err")"; return 1; }
	grep -qF -- "$reason" "$T/cert.err" || { echo "no '$reason' in: $(cat "$T/cert.err")"; return 1; }
	! grep -q "^certificate: CN" <<<"$(fota_orch device show "$id" 2>/dev/null)"
}
pki=$FOTA_PKI/devices
check "a certificate of another CA is refused" \
	cert_refused wrong-ca-device "$pki/wrong-ca-device.crt" "does not verify against"
check "an expired certificate is refused" \
	cert_refused expired-device "$pki/expired-device.crt" "certificate has expired"
check "another device's certificate is refused" \
	cert_refused dev-1 "$pki/dev-2.crt" "the certificate's CN 'dev-2' is not the device id 'dev-1'"
check "a server-only certificate is refused" \
	cert_refused mosquitto "$FOTA_PKI/broker.crt" "unsuitable certificate purpose"
check "a key is not a certificate" cert_refused dev-1 "$pki/dev-1.key" "not a PEM certificate"
cat "$pki/dev-1.crt" "$FOTA_PKI/ca.crt" >"$T/chain.pem"
check "a file of two certificates is refused" \
	cert_refused dev-1 "$T/chain.pem" "more than one certificate"
check "a device CA that did not sign it refuses it" \
	cert_refused dev-1 "$pki/dev-1.crt" "does not verify against" --device-ca "$FOTA_PKI/wrong-ca.crt"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/rsa.key" -subj /CN=dev-1 -days 2 \
	-out "$T/rsa.crt" 2>/dev/null
check "a key that is not P-256 is refused" \
	cert_refused dev-1 "$T/rsa.crt" "not EC P-256" --device-ca "$T/rsa.crt"
fota_orch device add dev-1 --groups forgetest --device-cert "$pki/dev-1.crt" 2>"$T/cert.err" ||
	fail "device add --device-cert: $(cat "$T/cert.err")"
check "device show names the registered certificate" \
	grep -q "^certificate: CN dev-1, valid until 20" <(fota_orch device show dev-1)
printf 'id,groups,cert\ndev-2,forgetest,devices/dev-2.crt\ndev-3,forgetest,devices/dev-4.crt\n' \
	>"$FOTA_PKI/inventory.csv"
check "device import refuses a cert column naming another device's certificate" \
	grep -q "inventory.csv:3: certificate refused: the certificate's CN 'dev-4'" \
	<(fota_orch device import "$FOTA_PKI/inventory.csv" 2>&1 || true)
check "... and imports nothing of the file" grep -q "^certificate: none" <(fota_orch device show dev-2 2>&1 || echo "certificate: none")
printf 'id,groups,cert\ndev-2,forgetest,devices/dev-2.crt\n' >"$FOTA_PKI/inventory.csv"
fota_orch device import "$FOTA_PKI/inventory.csv" >/dev/null 2>"$T/cert.err" ||
	fail "device import with a cert column: $(cat "$T/cert.err")"
check "device import registers the cert column's certificate, relative to the CSV" \
	grep -q "^certificate: CN dev-2," <(fota_orch device show dev-2)

fota_random_image "$T/image.bin" 1
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
count=16 # 1 MiB in 64 KiB chunks

fota_client_conf dev-1 "$T" forgetest
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
# Directive and table only: the device must fetch every chunk by repair, so that a forged
# chunk that arrives first really has to be re-requested.
fota_orch publish "$id" --group forgetest --no-broadcast \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish.log" 2>&1 ||
	{ cat "$T/publish.log" >&2; fail "publish failed"; }
fota_wait_line "$T/dev-1/client.log" "downloading" 10 || fail "dev-1 did not start"
for ((i = 0; i < count; i++)); do
	head -c 65536 /dev/urandom >"$T/junk"
	fota_forge_frame "$id" "$i" "$count" "$T/junk" >"$T/forged.$i"
	fota_pub forger -t "fota/v1/groups/forgetest/images/$id/chunks" -q 1 -f "$T/forged.$i" ||
		fail "forger could not publish (ACL for the test identity?)"
done
pass "forger published $count forged chunks"
fota_wait_for 10 grep -q "dropped" "$T/dev-1/client.log" || fail "no forged chunk was dropped"
dropped=$(grep -c "dropped: " "$T/dev-1/client.log" || true)
[ "$dropped" -ge "$count" ] && pass "all $count forged chunks dropped ($dropped drops logged)" ||
	fail_soft "only $dropped of $count forged chunks dropped"
[ -e "$T/dev-1/target/firmware.bin" ] && fail_soft "something was installed before repair" ||
	pass "nothing installed from forged data"

fota_orch_bg "$T/serve.log" serve
fota_wait_state dev-1 confirmed 60 && pass "dev-1 confirmed after repair" ||
	{ tail -n 30 "$T/dev-1/client.log" >&2; fail "dev-1 did not finish"; }
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"

fota_orch_stop
{ head -c 300000 "$T/image.bin"; head -c 2000 /dev/urandom; tail -c +300001 "$T/image.bin"; } \
	>"$T/image2.bin"
id2=$(fota_image_add "$T/image2.bin" 3.0.0 11 --delta-from "$id") ||
	fail "image add --delta-from failed"
delta_id=$(jq -r '.image.delta.sha256[0:16]' \
	<("$FOTA_BUILD/tests/tools/fota_jws_tool" verify "$FOTA_PKI/trust" release \
		"$FOTA_ORCH_STATE/images/$id2/manifest.jws"))
dsize=$(stat -c %s "$FOTA_ORCH_STATE/images/$delta_id/image.bin")
[ "$dsize" -le 65536 ] || fail "delta of $dsize bytes: the test expects one chunk"
check "image list --json lists the two images, not the delta payload as a third" \
	[ "$(fota_orch image list --json | jq -r '[.[].image_id] | sort | join(" ")')" = \
		"$(printf '%s\n' "$id" "$id2" | sort | paste -sd' ')" ]
check "... and names the delta under its image" \
	[ "$(fota_orch image list --json | jq -r --arg i "$id2" \
		'.[] | select(.image_id == $i) | .delta | "\(.image_id) \(.from_sha256[0:16]) \(.size)"')" = \
		"$delta_id $id $dsize" ]
under=$(fota_orch image list | grep -A1 "^$id2 " | tail -n 1)
check "image list shows the delta on a line under its image" \
	grep -Eq "^  delta $delta_id from $id +$dsize +1$" <<<"$under"
fota_orch publish "$id2" --group forgetest --no-broadcast \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish2.log" 2>&1 ||
	{ cat "$T/publish2.log" >&2; fail "publish failed"; }
fota_wait_line "$T/dev-1/client.log" "(delta payload $delta_id" 10 || fail "dev-1 did not take the delta"
opened() { [ "$(grep -c "fota-client info: downloading$" "$T/dev-1/client.log")" -ge 2 ]; }
fota_wait_for 10 opened || fail "dev-1 did not open the delta's transfer from its retained table"
head -c "$dsize" /dev/urandom >"$T/junk"
fota_forge_frame "$delta_id" 0 1 "$T/junk" >"$T/forged.delta"
fota_pub forger -t "fota/v1/groups/forgetest/images/$delta_id/chunks" -q 1 -f "$T/forged.delta" ||
	fail "forger could not publish"
fota_wait_line "$T/dev-1/client.log" "chunk 0 of $delta_id dropped" 10 &&
	pass "the forged delta chunk was dropped" || fail "the forged delta chunk was not dropped"
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "nothing installed from forged delta data:"

fota_orch_bg "$T/serve2.log" serve
confirmed_2() { [ "$(fota_status_field dev-1 image)" = "$id2" ] && fota__state_is dev-1 confirmed; }
fota_wait_for 60 confirmed_2 && pass "dev-1 confirmed 3.0.0 after repairing the delta" ||
	{ tail -n 30 "$T/dev-1/client.log" >&2; fail "dev-1 did not finish the delta"; }
fota_same "$T/dev-1/target/firmware.bin" "$T/image2.bin" "dev-1's image built from the delta"
fota_summary
