#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A device that subscribes while the broadcast already runs asks for the chunks it missed at
# once, when it sees the first frame, and gets them while the broadcast still flows, instead
# of after the broadcast and a quiet gap; and it fetches nothing twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

fota_random_image "$T/image.bin" 8
size=$(stat -c %s "$T/image.bin")
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
# A small repair window: the head's answer (at most 8 chunks) shares the 1 MiB/s cap with the
# broadcast and still ends well before it.
fota_client_conf dev-1 "$T" lab window=8
# 8 MiB capped at 1 MiB/s: the broadcast runs about eight seconds.
fota_orch_bg "$T/publish.log" publish "$id" --group lab \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate 1M --serve \
	--wait-devices dev-1 --wait-state confirmed --timeout 120
fota_wait_line "$T/publish.log" "/128 chunks (" 30 ||
	fail "the broadcast did not start"
fota_client_start dev-1 "$T"
if fota_wait_state dev-1 confirmed 90; then
	pass "dev-1, started during the broadcast, confirmed"
else
	tail -n 20 "$T/dev-1/client.log" "$T/publish.log" >&2
	fail "dev-1 did not finish"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
cat "$T/publish.log"
first_repair=$(grep -n "repair for dev-1: sent" "$T/publish.log" | sed -n 1p | cut -d: -f1)
bcast_end=$(grep -n "^broadcast 128/128 chunks (100%)" "$T/publish.log" | sed -n 1p | cut -d: -f1)
check "the broadcast's last progress line is printed once" \
	[ "$(grep -c "^broadcast 128/128 chunks" "$T/publish.log")" -eq 1 ]
before() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ]; }
check "the missed head was repaired before the broadcast ended (log lines $first_repair, $bcast_end)" \
	before "$first_repair" "$bcast_end"
rx=$(fota_rx_bytes "$T/dev-1/client.log")
check "dev-1 received $rx bytes for $size: nothing twice" [ "${rx:-0}" -eq "$size" ]
fota_summary
