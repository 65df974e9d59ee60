#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `fota-client --check` catches each broker setting that would make the agent useless: a
# missing key, a key of another certificate, a URI without or with the wrong scheme, an id
# that differs from the certificate's CN. The daemon refuses them at start the same way.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_tmpdir T
fota_pki "$T/pki"
# No broker: --check works offline, and these settings must be refused before any connect.
FOTA_BROKER_URI=ssl://127.0.0.1:1
fota_client_conf dev-1 "$T" lab
good=$T/dev-1/client.conf
read -r crt key < <(fota_cert dev-1)
read -r _ key2 < <(fota_cert dev-2)

# variant NAME SED-EXPRESSION: a copy of the good configuration with one line changed.
variant() {
	sed -e "$2" "$good" >"$T/$1.conf"
	echo "$T/$1.conf"
}

RC=0
"$FOTA_CLIENT_BIN" --config "$good" --check >"$T/out" 2>&1 || RC=$?
check "a good configuration passes --check (exit $RC: $(cat "$T/out"))" [ "$RC" -eq 0 ]

# expect_refused WHAT CONF TEXT: --check exits 2 with TEXT in its one-line reason.
expect_refused() {
	local rc=0
	"$FOTA_CLIENT_BIN" --config "$2" --check >"$T/out" 2>&1 || rc=$?
	check "--check refuses $1 with exit 2 (got $rc)" [ "$rc" -eq 2 ]
	check "--check says why for $1: $(cat "$T/out")" grep -qF -- "$3" "$T/out"
}
expect_refused "a missing key file" "$(variant nokey "s|^key = .*|key = $T/absent.key|")" \
	"$T/absent.key: No such file or directory"
expect_refused "a key that does not match the certificate" \
	"$(variant otherkey "s|^key = .*|key = $key2|")" "key $key2 does not match certificate $crt"
expect_refused "uri = localhost" "$(variant noscheme "s|^uri = .*|uri = localhost|")" \
	"broker uri 'localhost' has no scheme"
expect_refused "an http:// uri" "$(variant http "s|^uri = .*|uri = http://localhost:8883|")" \
	"scheme 'http' is not an MQTT one"
expect_refused "an id that differs from the certificate's CN" \
	"$(variant otherid "s|^id = .*|id = dev-9|")" \
	"[device] id 'dev-9' differs from the CN 'dev-1' of certificate $crt"
expect_refused "a missing CA file" "$(variant noca "s|^ca = .*|ca = $T/absent-ca.crt|")" \
	"$T/absent-ca.crt: No such file or directory"

# The daemon itself stops at once on the same mistakes instead of retrying a connection
# that cannot work (bounded, so that a daemon that keeps retrying fails the test).
RC=0
timeout 20 "$FOTA_CLIENT_BIN" --config "$T/otherkey.conf" >"$T/out" 2>&1 || RC=$?
check "the agent with a mismatched key exits 2 at start (got $RC)" [ "$RC" -eq 2 ]
check "and says why: $(head -n 1 "$T/out")" grep -q "does not match certificate" "$T/out"
fota_summary
