#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Transport security against the real broker: mTLS admission and the shipped ACL, per identity.
# The one test on the ACL file rather than the harness's default dynamic security: its purpose
# is the shipped docker/mosquitto/acl, what a broker without the plugin enforces (the
# orchestrator's default, [broker] access = acl_file); broker_dynsec.sh checks the plugin's.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
export FOTA_BROKER_ACCESS=acl_file

fota_tmpdir T
fota_pki "$T/pki"
fota_broker_start "$T/broker"
echo "broker: $FOTA_BROKER_URI (pid $FOTA_BROKER_PID)"

# How "not delivered" is shown: MQTT 3.1.1 has no negative PUBACK, so a denied publish is
# dropped silently. After each forbidden publish an allowed one (the fence) is sent; once the
# fence arrives, a forbidden message that got through would already be there too, because the
# broker handles publishes in order and mosquitto_pub exits only after its PUBACK.

# token VAR PREFIX: VAR = a string no other message of this run contains.
token_no=0
token() {
	token_no=$((token_no + 1))
	printf -v "$1" '%s-%d-%d' "$2" "$token_no" "$RANDOM"
}

# The orchestrator watches everything under the prefix for the whole test.
WATCH=$T/orchestrator.log
fota_sub_bg orchestrator "$WATCH" -i orch-watch -q 1 -v -t 'fota/v1/#'

# live FILE TOPIC: publishes as orchestrator on TOPIC until a subscriber writing FILE has it.
live_tok=""
live_once() {
	fota_pub orchestrator -q 1 -r -t "$2" -m "$live_tok" && grep -qF -- "$live_tok" "$1"
}
live() {
	token live_tok live
	fota_wait_for 10 live_once "$1" "$2"
}
live "$WATCH" fota/v1/groups/g0/directive || fail "orchestrator subscriber is not receiving"

# fence NAME: NAME publishes on its own status topic; waits until the orchestrator has it.
fence() {
	local tok
	token tok fence
	fota_pub "$1" -q 1 -t "fota/v1/devices/$1/status" -m "$tok" && fota_wait_line "$WATCH" "$tok" 5
}
seen() { grep -qF -- "$1" "$WATCH"; }
# absent FILE TEXT: no line of FILE contains TEXT.
absent() { ! grep -qF -- "$2" "$1"; }

# --- Admission (mutual TLS) ------------------------------------------------------------------

# Retained, as the client does: dev-2 below must not be able to read it.
token tok status
if fota_pub dev-1 -i dev-1 -q 1 -r -t fota/v1/devices/dev-1/status -m "$tok" 2>"$T/err" &&
	fota_wait_line "$WATCH" "fota/v1/devices/dev-1/status $tok" 5; then
	pass "valid device connects and publishes its own status"
else
	fail_soft "valid device connects and publishes its own status: $(cat "$T/err")"
fi

# The orchestrator (the watcher above) is connected with a certificate of the operator CA, not
# the device CA: the shared listener trusts both (client-cas.crt).
operator_ca_only() {
	openssl verify -CAfile "$FOTA_PKI/operator-ca.crt" "$FOTA_PKI/orchestrator.crt" >/dev/null &&
		! openssl verify -CAfile "$FOTA_PKI/ca.crt" "$FOTA_PKI/orchestrator.crt" >/dev/null 2>&1
}
check "the orchestrator's certificate is from the operator CA only" operator_ca_only
# A PKI from before the operator CA (its orchestrator certificate from the device CA): mkpki
# run over it again adds the operator CA and reissues the orchestrator certificate from it.
# (Only what mkpki checks, so that it has little to summarise: it runs in a few seconds.)
old=$T/old-pki
mkdir -p "$old/devices"
cp -a "$FOTA_PKI"/{ca,broker,forger,wrong-ca}.* "$FOTA_PKI/signing" "$old/"
cp -a "$FOTA_PKI"/devices/{dev-1,wrong-ca-device,expired-device}.* "$old/devices/"
fota_role_cert "$old" orchestrator none
reissued() {
	"$FOTA_SRC/certs/mkpki.sh" "$old" --devices dev-1 >"$T/old-pki.log" 2>&1 &&
		grep -q "issuing it again from the operator CA" "$T/old-pki.log" &&
		openssl verify -CAfile "$old/operator-ca.crt" "$old/orchestrator.crt" >/dev/null &&
		[ "$(grep -c "BEGIN CERTIFICATE" "$old/client-cas.crt")" = 2 ]
}
check "mkpki reissues an old PKI's orchestrator certificate from the operator CA" reissued

# refused LABEL NAME|- [mosquitto_pub options]: the connection fails and nothing is delivered.
refused() {
	local label=$1 name=$2 tok
	shift 2
	token tok leak
	if fota_pub "$name" "$@" -q 1 -t fota/v1/devices/dev-1/status -m "$tok" 2>"$T/err"; then
		fail_soft "$label: connection was accepted"
	elif fence dev-1 && ! seen "$tok"; then
		pass "$label ($(head -n 1 "$T/err"))"
	else
		fail_soft "$label: a message got through or the fence did not arrive"
	fi
}
refused "client without certificate refused" -
refused "certificate from another CA refused" wrong-ca-device
refused "expired certificate refused" expired-device
# A client that skips checking the server is still checked by the server.
refused "client without certificate refused even with --insecure" - --insecure

# Each refused certificate is sound except for the one property under test, so the refusal
# above is for that property: the expired one fails verification for its dates only, the
# foreign one verifies against its own CA.
expired_only() {
	local ca=$FOTA_PKI/ca.crt crt=$FOTA_PKI/devices/expired-device.crt out
	openssl verify -no_check_time -CAfile "$ca" "$crt" >/dev/null || return 1
	! out=$(openssl verify -CAfile "$ca" "$crt" 2>&1) && [[ "$out" == *"certificate has expired"* ]]
}
check "expired certificate fails verification only for its dates" expired_only
foreign_valid() {
	openssl verify -CAfile "$FOTA_PKI/wrong-ca.crt" "$FOTA_PKI/devices/wrong-ca-device.crt" \
		>/dev/null
}
check "foreign certificate is valid under its own CA" foreign_valid
# The broker refused them in the TLS handshake, and says so in its log for the operator.
tls_refusals() {
	[ "$(grep -c "peer did not return a certificate" "$FOTA_BROKER_LOG")" -ge 2 ] &&
		[ "$(grep -c "certificate verify failed" "$FOTA_BROKER_LOG")" -ge 2 ]
}
check "broker log shows refusals in the TLS handshake" tls_refusals

# --- Group topics: the orchestrator writes, devices read -------------------------------------

DEV1=$T/dev-1.log
fota_sub_bg dev-1 "$DEV1" -i dev-1-sub -q 1 -v -t 'fota/v1/groups/g1/#'
check "device reads its group's directive" live "$DEV1" fota/v1/groups/g1/directive
directive=$live_tok

for topic in fota/v1/groups/g1/directive fota/v1/groups/g1/images/0011223344556677/chunks \
	fota/v1/groups/g1/images/0011223344556677/table fota/v1/groups/forgetest/images/00/chunks; do
	token tok devgroup
	fota_pub dev-1 -q 1 -r -t "$topic" -m "$tok" 2>/dev/null || true
	if fence dev-1 && ! seen "$tok" && ! grep -qF -- "$tok" "$DEV1"; then
		pass "device cannot publish to $topic"
	else
		fail_soft "device cannot publish to $topic"
	fi
done
# Nor did the denied retained publish replace the directive that late joiners get.
last=$(fota_sub dev-2 -q 1 -t fota/v1/groups/g1/directive -C 1 -W 3 2>&1 || true)
check "retained group directive is still the orchestrator's ($last)" test "$last" = "$directive"

# The test-only forger identity writes its test group and nothing else.
token tok forged
fota_pub forger -q 1 -t fota/v1/groups/forgetest/images/00/chunks -m "$tok" 2>/dev/null || true
check "test forger can publish to the forgetest group" fota_wait_line "$WATCH" "$tok" 5
token tok forged
fota_pub forger -q 1 -t fota/v1/groups/g1/directive -m "$tok" 2>/dev/null || true
if fence dev-1 && ! seen "$tok"; then
	pass "test forger cannot publish to another group"
else
	fail_soft "test forger cannot publish to another group"
fi

# --- Device topics: each device only its own -------------------------------------------------

# dev-2 asks for dev-1's unicast chunks by name and by wildcards; only its own may arrive.
DEV2=$T/dev-2.log
fota_sub_bg dev-2 "$DEV2" -i dev-2 -q 1 -v -t fota/v1/devices/dev-1/chunks \
	-t 'fota/v1/devices/+/chunks' -t 'fota/v1/#'
check "device reads its own chunks topic" live "$DEV2" fota/v1/devices/dev-2/chunks
secret=""
token secret dev1-chunk
fota_pub orchestrator -q 1 -t fota/v1/devices/dev-1/chunks -m "$secret"
# Published after the secret on dev-2's own topic, so delivered to dev-2 after it as well.
token tok dev2-fence
fota_pub orchestrator -q 1 -t fota/v1/devices/dev-2/chunks -m "$tok"
if fota_wait_line "$DEV2" "$tok" 5 && ! grep -qF -- "$secret" "$DEV2"; then
	pass "device cannot read another device's chunks topic"
else
	fail_soft "device cannot read another device's chunks topic"
fi

for leaf in status request; do
	token tok "impersonate-$leaf"
	fota_pub dev-2 -q 1 -r -t "fota/v1/devices/dev-1/$leaf" -m "$tok" 2>/dev/null || true
	if fence dev-2 && ! seen "$tok"; then
		pass "device cannot write another device's $leaf"
	else
		fail_soft "device cannot write another device's $leaf"
	fi
done
last=$(fota_sub orchestrator -q 1 -t fota/v1/devices/dev-1/status -C 1 -W 3 2>&1 || true)
case "$last" in
impersonate-*) fail_soft "retained status of dev-1 was overwritten by dev-2" ;;
status-*) pass "retained status of dev-1 is still dev-1's" ;;
*) fail_soft "retained status of dev-1 is missing ($last)" ;;
esac

# dev-2 has been subscribed to fota/v1/# all along: dev-1's retained status and the fences
# dev-1 published since must not have reached it.
fence dev-1 || fail_soft "dev-1 fence did not arrive"
check "device cannot read another device's status" \
	absent "$DEV2" "fota/v1/devices/dev-1/status"

token tok request
fota_pub dev-2 -q 1 -t fota/v1/devices/dev-2/request -m "$tok" 2>/dev/null || true
check "device writes its own request topic" fota_wait_line "$WATCH" "$tok" 5

# --- Message size limit ----------------------------------------------------------------------

# The largest legal frame (1 MiB chunk + 32-byte header) passes; one byte over the broker's
# limit (1 MiB + 64 KiB) is dropped rather than fanned out.
DEV3=$T/dev-3.log
fota_sub_bg dev-3 "$DEV3" -i dev-3 -q 1 -F '%t %l' -t fota/v1/devices/dev-3/chunks
# This subscriber prints lengths, not payloads: it is live once a 5-byte message shows up.
ready5() {
	fota_pub orchestrator -q 1 -t fota/v1/devices/dev-3/chunks -m ready &&
		grep -qx "fota/v1/devices/dev-3/chunks 5" "$DEV3"
}
fota_wait_for 10 ready5 || fail "dev-3 subscriber is not receiving"
head -c $((1024 * 1024 + 32)) /dev/urandom >"$T/frame-max"
head -c $((1024 * 1024 + 64 * 1024 + 1)) /dev/urandom >"$T/frame-over"
fota_pub orchestrator -q 1 -t fota/v1/devices/dev-3/chunks -f "$T/frame-over" || true
fota_pub orchestrator -q 1 -t fota/v1/devices/dev-3/chunks -f "$T/frame-max"
check "broker carries the largest frame (1 MiB + 32 bytes)" \
	fota_wait_line "$DEV3" "fota/v1/devices/dev-3/chunks $((1024 * 1024 + 32))" 10
check "broker drops a payload over message_size_limit" \
	absent "$DEV3" "chunks $((1024 * 1024 + 64 * 1024 + 1))"

fota_summary
