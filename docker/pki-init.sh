#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# One-shot PKI service: makes (or completes) the development PKI in the shared volume.
#
# Environment: FOTA_DEVICES (device ids, default "gw-1 gw-2 gw-3"), FOTA_BROKER_NAMES (extra
# DNS names for the broker certificate), FOTA_HTTP_NAMES (names of the orchestrator's HTTPS
# certificate, default "orchestrator"), FOTA_PKI_DIR (default /pki), FOTA_UID (the daemons'
# uid, default 10001). Rerunning keeps the existing CA and adds missing devices (mkpki.sh).
set -eu
out=${FOTA_PKI_DIR:-/pki}
uid=${FOTA_UID:-10001}

rm -f "$out/.ready"
mkpki.sh "$out" --devices "${FOTA_DEVICES:-gw-1 gw-2 gw-3}" \
	--broker-names "${FOTA_BROKER_NAMES:-mosquitto}" --http-names "${FOTA_HTTP_NAMES:-orchestrator}"
# The daemons run as an unprivileged user and mkpki makes keys 0600 for root. In this shared
# development volume every client can therefore read every device key: a real deployment gives
# each device only its own key (docs/deploy.md). The broker and Prometheus take their own
# copies of broker.key and monitor.key.
chown -R "$uid:$uid" "$out/devices" "$out/signing" "$out/orchestrator.crt" "$out/orchestrator.key" \
	"$out/http.crt" "$out/http.key"
touch "$out/.ready"
echo "pki-init: PKI ready in $out"
