#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A device behind a bad link: its own network namespace, 10 % random packet loss each way
# (iptables statistic) and a 512 kbit/s token bucket (tc tbf). It still finishes the image,
# and receives at most 1.05 times its size: it does not ask for chunks the broadcast is about
# to bring. The broker listens on the namespace link's host-side test address only; nothing
# leaves the machine. Skips (77) with a clear message only where network namespaces are
# unavailable. FOTA_LOSSY_MIB, FOTA_LOSSY_KBIT, FOTA_LOSSY_PERCENT and FOTA_LOSSY_RATE (the
# broadcast's pace) change the scene.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

IMAGE_MIB=${FOTA_LOSSY_MIB:-4}
KBIT=${FOTA_LOSSY_KBIT:-512}
LOSS_PERCENT=${FOTA_LOSSY_PERCENT:-10}
# Broadcast pace (bytes/s): 7/8 of the link, the rest is TCP, TLS and MQTT overhead.
RATE=${FOTA_LOSSY_RATE:-$((KBIT * 1000 / 8 * 7 / 8))}
LOSS=$(printf '0.%02d' "$LOSS_PERCENT")
n=$((RANDOM % 200 + 20))
NS=fota-lossy-$$
HOST_IF=fl$$h
DEV_IF=fl$$d
HOST_IP=10.251.$n.1
DEV_IP=10.251.$n.2

if [ "$(id -u)" -ne 0 ] || ! ip netns add "$NS" 2>/dev/null; then
	echo "skipped: network namespaces unavailable (needs root and ip netns)"
	exit 77
fi
fota_cleanup_add "ip netns del $NS 2>/dev/null || true"
fota_cleanup_add "ip link del $HOST_IF 2>/dev/null || true"
ip link add "$HOST_IF" type veth peer name "$DEV_IF" netns "$NS"
ip addr add "$HOST_IP/30" dev "$HOST_IF"
ip link set "$HOST_IF" up
ip -n "$NS" addr add "$DEV_IP/30" dev "$DEV_IF"
ip -n "$NS" link set "$DEV_IF" up
ip -n "$NS" link set lo up
# The bad link: the same rate and loss both ways.
tc qdisc add dev "$HOST_IF" root tbf rate "${KBIT}kbit" burst 32kbit latency 400ms
ip netns exec "$NS" tc qdisc add dev "$DEV_IF" root tbf rate "${KBIT}kbit" burst 32kbit latency 400ms
ip netns exec "$NS" iptables -A INPUT -m statistic --mode random --probability "$LOSS" -j DROP
ip netns exec "$NS" iptables -A OUTPUT -m statistic --mode random --probability "$LOSS" -j DROP
pass "namespace $NS behind $KBIT kbit/s with $LOSS_PERCENT % loss each way"

export FOTA_BROKER_BIND=$HOST_IP
. "$(dirname "$0")/transfer_lib.sh"
fota_transfer_env

fota_random_image "$T/image.bin" "$IMAGE_MIB"
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
fota_client_conf dev-1 "$T" lab "stall_timeout_s=240" "gap_ms=1000"
# Started in the namespace, not by fota_client_start: registered here, as it would do.
fota_register dev-1=lab
ip netns exec "$NS" "$FOTA_CLIENT_BIN" --config "$T/dev-1/client.conf" >>"$T/dev-1/client.log" 2>&1 &
FOTA_CLIENT_PIDS[dev-1]=$!
fota_cleanup_pid "$!"
fota_wait_for 60 fota__state_is dev-1 idle || fail "dev-1 did not come online over the lossy link"

start=$SECONDS
# Paced to the link: a faster broadcast would only queue in the broker.
if fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--rate "$RATE" --wait-devices dev-1 --wait-state confirmed --timeout 500 >"$T/publish.log" 2>&1; then
	pass "dev-1 confirmed over the lossy link in $((SECONDS - start)) s"
else
	tail -n 20 "$T/publish.log" "$T/dev-1/client.log" >&2
	fail "dev-1 did not finish over the lossy link"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
rx=$(fota_rx_bytes "$T/dev-1/client.log")
size=$(stat -c %s "$T/image.bin")
echo "received ${rx:-?} bytes for $size ($(awk -v r="${rx:-0}" -v s="$size" \
	'BEGIN {printf "%.3f", r / s}')x); repairs served: $(grep -c 'repair for .*: sent' "$T/publish.log" || true);" \
	"dropped packets: $(ip netns exec "$NS" iptables -L -v -n | awk '/statistic/ {s += $1} END {print s}')"
# Chunks the broadcast brings anyway must not be asked for as well.
[ -n "$rx" ] && [ $((rx * 100)) -le $((size * 105)) ] &&
	pass "dev-1 received at most 1.05x the image" ||
	fail_soft "dev-1 received ${rx:-no count of} bytes, more than 1.05x the image ($size)"
fota_summary
