#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Local demo: a Mosquitto with mutual TLS on loopback that enforces each gateway's groups
# (dynamic security, as the compose stack), the orchestrator, three gateway agents registered
# before they connect, and one real signed update end to end, then a summary. Installs missing packages, builds.
# Usage: tests/e2e/demo.sh [IMAGE_MIB]   (default 16; FOTA_KEEP_TMP=1 keeps the work folder)
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$(pwd)
mib=${1:-16}

bash tests/install-deps.sh --demo
echo "== building"
cmake -S "$src" -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null

export FOTA_SRC=$src FOTA_BUILD=$src/build/release
. tests/integration/lib.sh
. tests/integration/transfer_lib.sh

fota_tmpdir T
echo "== work folder $T"
echo "== development PKI: CA, broker, orchestrator, devices, release and orchestrator keys"
fota_pki "$T/pki"
fota_broker_start "$T/broker"
echo "== mosquitto with mutual TLS and dynamic security on $FOTA_BROKER_URI (orchestrator: $FOTA_BROKER_ORCH_URI)"
export FOTA_ORCH_STATE=$T/orch

echo "== three gateways registered in group 'demo' (device import: broker grants, assignments), then started"
for d in dev-1 dev-2 dev-3; do fota_client_conf "$d" "$T" demo; done
# (The first start registers all three in one device import: fota_register.)
for d in dev-1 dev-2 dev-3; do fota_client_start "$d" "$T"; done
fota_wait_for 10 fota__state_is dev-3 idle || fail "the gateways did not come online"

echo "== release engineer signs a $mib MiB image (release key)"
fota_random_image "$T/firmware-2.0.0.bin" "$mib"
id=$(fota_image_add "$T/firmware-2.0.0.bin" 2.0.0 10)
echo "   image id $id"

echo "== orchestrator signs a directive (orchestrator key) and broadcasts the image once"
start=$(date +%s.%N)
fota_orch publish "$id" --group demo --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--wait-devices dev-1,dev-2,dev-3 --wait-state confirmed --timeout 300
end=$(date +%s.%N)

echo
echo "== fleet status as the orchestrator sees it"
fota_orch status --wait 2 || true
echo
echo "== summary"
ok=0
for d in dev-1 dev-2 dev-3; do
	if cmp -s "$T/$d/target/firmware.bin" "$T/firmware-2.0.0.bin"; then
		echo "   $d: installed 2.0.0, byte-identical, received $(fota_rx_bytes "$T/$d/client.log") bytes"
		ok=$((ok + 1))
	else
		echo "   $d: NOT installed (see $T/$d/client.log)"
	fi
done
awk -v s="$start" -v e="$end" -v m="$mib" \
	'BEGIN {printf "   %d MiB to 3 gateways in %.1f s\n", m, e - s}'
[ "$ok" -eq 3 ] && echo "demo passed: 3 of 3 gateways updated" || { echo "demo FAILED"; exit 1; }
