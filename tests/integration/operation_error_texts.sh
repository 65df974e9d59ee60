#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Error texts name the actual cause: an unknown broker host, a closed port, a key of another
# certificate, a URI that is not MQTT (a configuration error, exit 2), a section header
# without its ']'.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_tmpdir T
fota_pki "$T/pki"
export FOTA_ORCH_STATE=$T/orch
read -r crt key < <(fota_cert orchestrator)
read -r _ devkey < <(fota_cert dev-1)

# orch_says WHAT WANT_RC TEXT ARGS...: the orchestrator with ARGS exits WANT_RC and its
# message contains TEXT.
orch_says() {
	local what=$1 want=$2 text=$3 rc=0
	shift 3
	timeout 60 "$FOTA_ORCH_BIN" --state-dir "$FOTA_ORCH_STATE" "$@" >"$T/out" 2>&1 || rc=$?
	check "$what: exit $want (got $rc)" [ "$rc" -eq "$want" ]
	check "$what: says '$text': $(cat "$T/out")" grep -qF -- "$text" "$T/out"
}
tls=(--ca "$FOTA_PKI/ca.crt" --cert "$crt" --key "$key")

orch_says "an http:// broker uri" 2 "scheme 'http' is not an MQTT one" \
	--broker http://localhost:1883 "${tls[@]}" status --wait 0
orch_says "a broker uri without scheme" 2 "broker uri 'localhost' has no scheme" \
	--broker localhost "${tls[@]}" status --wait 0
orch_says "a key of another certificate" 2 "key $devkey does not match certificate $crt" \
	--broker ssl://localhost:8883 --ca "$FOTA_PKI/ca.crt" --cert "$crt" --key "$devkey" \
	status --wait 0
orch_says "a broker host that does not resolve" 4 "cannot resolve broker host 'nosuchhost.invalid'" \
	--broker ssl://nosuchhost.invalid:8883 "${tls[@]}" status --wait 0
port=$(fota__free_port)
orch_says "a closed broker port" 4 "127.0.0.1 port $port: Connection refused" \
	--broker "ssl://127.0.0.1:$port" "${tls[@]}" status --wait 0

printf '[broker\nuri = ssl://localhost:8883\n' >"$T/broken.conf"
orch_says "a section header without ']'" 2 "line 1: '[broker' has no closing ']'" \
	--config "$T/broken.conf" image list
check "and does not blame an unknown section []" bash -c "! grep -q \"unknown section\" $T/out"

FOTA_BROKER_URI=ssl://127.0.0.1:1 fota_client_conf dev-1 "$T" lab
sed -i 's/^\[device\]$/[device/' "$T/dev-1/client.conf"
rc=0
"$FOTA_CLIENT_BIN" --config "$T/dev-1/client.conf" --check >"$T/out" 2>&1 || rc=$?
line=$(grep -n '^\[device$' "$T/dev-1/client.conf" | cut -d: -f1)
check "fota-client: a section header without ']' exits 2 (got $rc)" [ "$rc" -eq 2 ]
check "fota-client: says so: $(cat "$T/out")" \
	grep -qF "client.conf:$line: '[device' has no closing ']'" "$T/out"
fota_summary
