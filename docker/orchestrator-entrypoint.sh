#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Orchestrator entrypoint: waits for the PKI, then runs fota-orchestrator (default: serve).
# With FOTA_STORE (docker/compose.postgresql.yaml) the store is that URI: the entrypoint writes
# the image's configuration with `store = FOTA_STORE` to FOTA_ORCHESTRATOR_CONFIG, which every
# fota-orchestrator command in the container then reads, and waits for the database.
set -eu
. /usr/local/lib/fota/wait-pki.sh
pki=${FOTA_PKI_DIR:-/pki}
wait_pki "$pki/ca.crt" "$pki/orchestrator.crt" "$pki/orchestrator.key" \
	"$pki/signing/orchestrator/orch-1.pem" "$pki/http.crt" "$pki/http.key"
conf=/etc/fota/orchestrator.conf
if [ -n "${FOTA_STORE:-}" ]; then
	[ -n "${FOTA_ORCHESTRATOR_CONFIG:-}" ] && [ "$FOTA_ORCHESTRATOR_CONFIG" != "$conf" ] || {
		echo "FOTA_STORE needs FOTA_ORCHESTRATOR_CONFIG: where to write the configuration" >&2
		exit 1
	}
	(umask 077 && sed "/^\[orchestrator\]/a store = $FOTA_STORE" "$conf" >"$FOTA_ORCHESTRATOR_CONFIG")
	conf=$FOTA_ORCHESTRATOR_CONFIG
	# The database may still be starting (a first start runs initdb): up to 120 s.
	i=0
	until err=$(fota-orchestrator --config "$conf" device list 2>&1 >/dev/null); do
		i=$((i + 1))
		[ "$i" -lt 60 ] || { echo "the store does not answer: $err" >&2; exit 1; }
		sleep 2
	done
fi
exec fota-orchestrator --config "$conf" "$@"
