#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A device behind a bad link: its own network namespace, 5 % random packet loss each way
# (iptables statistic) and a 2 Mbit/s token bucket (tc tbf). It still finishes a 4 MiB image.
# The broker listens on the namespace link's host-side test address only; nothing leaves the
# machine. Skips (77) with a clear message only where network namespaces are unavailable.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

IMAGE_MIB=${FOTA_LOSSY_MIB:-4}
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
# The bad link: 2 Mbit/s both ways, 5 % of packets dropped both ways.
tc qdisc add dev "$HOST_IF" root tbf rate 2mbit burst 32kbit latency 400ms
ip netns exec "$NS" tc qdisc add dev "$DEV_IF" root tbf rate 2mbit burst 32kbit latency 400ms
ip netns exec "$NS" iptables -A INPUT -m statistic --mode random --probability 0.05 -j DROP
ip netns exec "$NS" iptables -A OUTPUT -m statistic --mode random --probability 0.05 -j DROP
pass "namespace $NS behind 2 Mbit/s with 5 % loss each way"

export FOTA_BROKER_BIND=$HOST_IP
. "$(dirname "$0")/transfer_lib.sh"
fota_transfer_env

fota_random_image "$T/image.bin" "$IMAGE_MIB"
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
fota_client_conf dev-1 "$T" lab "stall_timeout_s=240"
ip netns exec "$NS" "$FOTA_CLIENT_BIN" --config "$T/dev-1/client.conf" >>"$T/dev-1/client.log" 2>&1 &
FOTA_CLIENT_PIDS[dev-1]=$!
fota_cleanup_pid "$!"
fota_wait_for 60 fota__state_is dev-1 idle || fail "dev-1 did not come online over the lossy link"

start=$SECONDS
# Paced to the link: a faster broadcast would only queue in the broker.
if fota_orch publish "$id" --group lab --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" \
	--rate 200000 --wait-devices dev-1 --wait-state confirmed --timeout 400 >"$T/publish.log" 2>&1; then
	pass "dev-1 confirmed over the lossy link in $((SECONDS - start)) s"
else
	tail -n 20 "$T/publish.log" "$T/dev-1/client.log" >&2
	fail "dev-1 did not finish over the lossy link"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
echo "received $(fota_rx_bytes "$T/dev-1/client.log") bytes for $(stat -c %s "$T/image.bin");" \
	"dropped packets: $(ip netns exec "$NS" iptables -L -v -n | awk '/statistic/ {s += $1} END {print s}')"
fota_summary
