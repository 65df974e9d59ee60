#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One exit code for one meaning (docs/orchestrator.md): a TLS file that cannot be read is a
# configuration error (2) naming the file, before any connection is tried; an image that is
# not in the store is "not found" (5) for publish as for campaign create.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_tmpdir T
fota_pki "$T/pki"
export FOTA_ORCH_STATE=$T/orch
crt=$FOTA_PKI/orchestrator.crt
# exits CODE TEXT ARGS...: the orchestrator ends with CODE and says TEXT on stderr.
exits() {
	local want=$1 text=$2 rc=0
	shift 2
	"$FOTA_ORCH_BIN" --state-dir "$FOTA_ORCH_STATE" "$@" >/dev/null 2>"$T/err" || rc=$?
	if [ "$rc" = "$want" ] && grep -qF -- "$text" "$T/err"; then
		pass "$* -> exit $rc: $(head -n 1 "$T/err")"
	else
		fail_soft "$* -> exit $rc (want $want and '$text'): $(cat "$T/err")"
	fi
}

# No broker listens on this port: exit 2 proves the files were checked before connecting.
broker=ssl://127.0.0.1:1
exits 2 "/nonexistent.key cannot be read" --broker "$broker" --ca "$FOTA_PKI/ca.crt" \
	--key /nonexistent.key status
exits 2 "/nonexistent.crt cannot be read" --broker "$broker" --ca "$FOTA_PKI/ca.crt" \
	--cert /nonexistent.crt serve
exits 2 "/nonexistent-ca.crt cannot be read" --broker "$broker" --ca /nonexistent-ca.crt status
exits 4 "" --broker "$broker" --ca "$FOTA_PKI/ca.crt" status

exits 5 "not in the store" publish 0011223344556677 --group lab \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem"
exits 5 "not in the store" campaign create r1 --image 0011223344556677 --group lab \
	--stage 100%
fota_summary
