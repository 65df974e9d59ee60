#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Orchestrator entrypoint: waits for the PKI, then runs fota-orchestrator (default: serve).
# With FOTA_STORE (docker/compose.postgresql.yaml) the store is that URI: the entrypoint writes
# the image's configuration with `store = FOTA_STORE` to FOTA_ORCHESTRATOR_CONFIG, which every
# fota-orchestrator command in the container then reads, and waits for the database.
#
# FOTA_REGISTER ("id=group[;group] ...", docker/compose.yaml): on the first start (no
# registered-devices in the state directory yet), `device import` of these devices with their
# certificates from /pki/devices: the broker (dynamic security) admits a device only once it is
# registered. Then, for each device, an empty file FOTA_REGISTRY_DIR/<id>
# (/var/lib/fota-registry), which the gateway's entrypoint waits for. Later starts import
# nothing: the registry may have changed since (a device moved through the API).
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
if [ -n "${FOTA_REGISTER:-}" ]; then
	state=/var/lib/fota-orchestrator
	registry=${FOTA_REGISTRY_DIR:-/var/lib/fota-registry}
	if [ ! -e "$state/registered-devices" ]; then
		csv=$state/inventory.csv
		echo "id,groups,cert" >"$csv"
		for d in $FOTA_REGISTER; do
			echo "${d%%=*},${d#*=},$pki/devices/${d%%=*}.crt" >>"$csv"
		done
		# The broker may still be starting: exit 4 (no broker) is tried again, up to 60 s.
		i=0
		until out=$(fota-orchestrator --config "$conf" device import "$csv" 2>&1); do
			rc=$?
			i=$((i + 1))
			[ "$rc" = 4 ] && [ "$i" -lt 30 ] || {
				echo "device import of FOTA_REGISTER failed (exit $rc): $out" >&2
				exit 1
			}
			sleep 2
		done
		echo "$out"
		cut -d, -f1 "$csv" | tail -n +2 >"$state/registered-devices"
	fi
	while read -r id; do
		: >"$registry/$id"
	done <"$state/registered-devices"
fi
exec fota-orchestrator --config "$conf" "$@"
