#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One device identity floods `serve` with the largest legal repair requests while another
# device fetches a whole image by repair. Bound: the other device completes within 60 s of
# starting (a few seconds without the flood); the flooding device keeps being served, at most
# its per-device rate (16 MiB/s after a 16 MiB burst, orchestrator/src/repair_sched.h), and
# the log says so in a handful of lines, not one per request.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

CHUNK=16384
DEVICE_RATE=$((16 * 1024 * 1024))
DEVICE_BURST=$((16 * 1024 * 1024))
BOUND_S=60
fota_transfer_env
ORCH_KEY_ARGS=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")

# 256 chunks: the largest legal request asks for all of them.
fota_random_image "$T/image.bin" 4
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size "$CHUNK") || fail "image add failed"
serve_start "$T/serve.log"

# The flooder's frames, one line each, to count what it is served (read as the orchestrator:
# the flooder's connections take dev-1's client id, its CN, and would take this one over).
fota_register dev-1=lab
fota_sub_bg orchestrator "$T/flood-frames.txt" -t fota/v1/devices/dev-1/chunks -F '%l'
for i in $(seq 1 10000); do
	case $((i % 3)) in
	0) echo "{\"image\":\"$id\",\"table\":true,\"ranges\":[[0,256]]}" ;;
	1) echo "{\"image\":\"$id\",\"table\":false,\"ranges\":[[0,128],[128,128]]}" ;;
	2) echo "{\"image\":\"$id\",\"table\":false,\"ranges\":[[64,192],[0,64]]}" ;;
	esac
done >"$T/flood.txt"
fota__tls_args dev-1
(
	while [ ! -e "$T/flood.stop" ]; do
		mosquitto_pub "${FOTA__ARGS[@]}" -t fota/v1/devices/dev-1/request -l <"$T/flood.txt" ||
			sleep 0.2
		echo x >>"$T/flood.rounds"
	done
) &
FLOOD_PID=$!
fota_cleanup_pid "$FLOOD_PID"
flood_start=$SECONDS
# The flood is on once serve answers it.
fota_wait_for 20 test -s "$T/flood-frames.txt" || fail "serve never answered the flood"
pass "dev-1 floods serve with 256-chunk repair requests"

# dev-2 takes the image by repair only: the directive goes out without a broadcast.
fota_orch publish "$id" --group lab "${ORCH_KEY_ARGS[@]}" --no-broadcast >"$T/publish.log" 2>&1 ||
	{ cat "$T/publish.log" >&2; fail "publish failed"; }
fota_client_conf dev-2 "$T" lab
victim_start=$SECONDS
fota_client_start dev-2 "$T"
if fota_wait_state dev-2 confirmed "$BOUND_S"; then
	pass "dev-2 completed its repair within $BOUND_S s during the flood ($((SECONDS - victim_start)) s)"
else
	tail -n 20 "$T/dev-2/client.log" "$T/serve.log" >&2
	fail_soft "dev-2 did not complete within $BOUND_S s during the flood"
fi
touch "$T/flood.stop"
elapsed=$((SECONDS - flood_start))
sleep 1
fota_stop_wait "$FLOOD_PID" TERM "the flood" || fail "the flood did not end on SIGTERM"
fota_same "$T/dev-2/target/firmware.bin" "$T/image.bin" "dev-2's installed image"

requests=$(($(wc -l <"$T/flood.rounds" 2>/dev/null || echo 0) * 10000))
frames=$(wc -l <"$T/flood-frames.txt")
bytes=$(awk '{ s += $1 } END { print s + 0 }' "$T/flood-frames.txt")
echo "flood: at least $requests requests in ${elapsed} s; dev-1 was sent $frames frames, $bytes bytes"
check "the flooding device kept being served (at least one full image, $frames frames)" \
	[ "$frames" -ge 256 ]
check "the flooding device drew at most 16 MiB/s after its burst ($bytes bytes in ${elapsed} s)" \
	[ "$bytes" -le $((DEVICE_BURST + DEVICE_RATE * (elapsed + 2))) ]
lines=$(grep -c "dev-1" "$T/serve.log")
echo "serve logged $lines lines about dev-1"
check "floods are logged once per 10 s, not per request ($lines lines in ${elapsed} s)" \
	[ "$lines" -le $((elapsed / 10 + 3)) ]
grep "repair requests from dev-1" "$T/serve.log" | tail -n 2
fota_summary
