#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Orchestrator entrypoint: waits for the PKI, then runs fota-orchestrator (default: serve).
set -eu
. /usr/local/lib/fota/wait-pki.sh
pki=${FOTA_PKI_DIR:-/pki}
wait_pki "$pki/ca.crt" "$pki/orchestrator.crt" "$pki/orchestrator.key" \
	"$pki/signing/orchestrator/orch-1.pem" "$pki/http.crt" "$pki/http.key"
exec fota-orchestrator --config /etc/fota/orchestrator.conf "$@"
