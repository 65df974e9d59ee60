#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 the agent at 5 random points of a transfer and restart it each time: it finishes
# byte-identical, and what it received stays within image size + restarts x one window.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

KILLS=${FOTA_KILLS:-5}
WINDOW=32
CHUNK=65536
fota_transfer_env

fota_random_image "$T/image.bin" 16
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
fota_client_conf dev-1 "$T" lab "window=$WINDOW" "sync_chunks=16"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

# 2 MiB/s: the broadcast takes ~8 s, long enough to kill the agent five times inside it.
fota_orch_bg "$T/publish.log" publish "$id" --group lab \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate 2097152 \
	--wait-devices dev-1 --wait-state confirmed --timeout 180
orch=$FOTA_ORCH_PID

fota_wait_line "$T/dev-1/client.log" "downloading" 20 || fail "dev-1 never started downloading"
for ((k = 1; k <= KILLS; k++)); do
	sleep "0.$((RANDOM % 9 + 1))"
	fota_client_kill dev-1 KILL
	echo "kill $k: $(ls "$T/dev-1/state/transfer" 2>/dev/null | tr '\n' ' ')"
	fota_client_start dev-1 "$T"
	sleep 0.5
done
pass "killed and restarted dev-1 $KILLS times"

if wait "$orch"; then
	pass "orchestrator saw dev-1 confirmed after $KILLS kills"
else
	cat "$T/publish.log" >&2
	fail "dev-1 did not finish after $KILLS kills"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
size=$(stat -c %s "$T/image.bin")
rx=$(fota_rx_bytes "$T/dev-1/client.log")
bound=$((size + KILLS * WINDOW * CHUNK))
echo "received $rx bytes for a $size-byte image after $KILLS kills (bound $bound," \
	"overhead $(((rx - size) * 100 / size)) %)"
[ -n "$rx" ] && [ "$rx" -le "$bound" ] && pass "received bytes within image + $KILLS windows" ||
	fail_soft "received $rx bytes, more than image + $KILLS windows ($bound)"
grep -q "resuming with" "$T/dev-1/client.log" && pass "a restart resumed from verified chunks" ||
	fail_soft "no restart resumed from its checkpoint"
fota_summary
