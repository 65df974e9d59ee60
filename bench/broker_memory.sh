#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where the broker's memory goes when one image is broadcast to a large group: N simulated
# devices (fota-fleet-sim) connected and subscribed to their group, then a 1 MiB image
# published to the group's chunk topic by a plain Paho publisher, once per variant: QoS 1 and
# 0, chunk sizes, and the shipped configuration's queue settings changed one at a time. For
# each, the broker's resident memory with the devices idle and its peak (VmHWM, reset before
# each publish) until the broker is quiet again. One invocation, one Markdown table.
#
# Usage: bench/broker_memory.sh [--devices N] [--pki DIR] [--out FILE]
# Default 1,000 devices. --pki DIR as in campaign_fleet.sh (a PKI for at least N devices is
# reused). The devices ignore these frames (no directive asked for them): what is measured is
# the broker holding and sending them, not the devices' work. Needs a built tree (FOTA_BUILD).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export FOTA_SRC=${FOTA_SRC:-$(cd "$here/.." && pwd)}
export FOTA_BUILD=${FOTA_BUILD:-$FOTA_SRC/build/release}
N=1000 OUT="" PKI_DIR=""
while [ $# -gt 0 ]; do
	case "$1" in
	--devices) N=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--pki) PKI_DIR=$2; shift 2 ;;
	-h | --help) sed -n '3,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "broker_memory.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
soft=$(ulimit -Sn) hard=$(ulimit -Hn)
if [ "$soft" != "$hard" ]; then
	ulimit -n "$hard"
	echo "open files: soft limit raised from $soft to the hard limit $hard" >&2
fi

. "$here/bench_lib.sh"
. "$FOTA_SRC/tests/integration/campaign_lib.sh"
PAHO=${FOTA_BENCH_PAHO:-$FOTA_BUILD/bench/paho_bench}
[ -x "$PAHO" ] || fail "$PAHO is not built (set FOTA_BUILD)"

out() {
	echo "$*"
	[ -z "$OUT" ] || echo "$*" >>"$OUT"
}
rss_mib() { awk -v k="$2" '$1 == k":" {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

fota_tmpdir T
if [ -n "$PKI_DIR" ]; then
	[ -f "$PKI_DIR/devices/sim-$N.crt" ] || { rm -rf "$PKI_DIR"; campaign_pki "$PKI_DIR" "$N"; }
	FOTA_PKI=$(cd "$PKI_DIR" && pwd)
	export FOTA_PKI
else
	campaign_pki "$T/pki" "$N"
fi
fota_broker_start "$T/broker"
CONF=$FOTA_BROKER_DIR/mosquitto.conf
cp "$CONF" "$T/shipped.conf"
fota_random_image "$T/image.bin" 1
sim_launch "$N" lab "$T/sim.log"
fota_wait_for 1800 grep -q "^ready" "$T/sim.log.out" || fail "the devices did not connect"
topic="fota/v1/groups/lab/images/0000000000000000/chunks"

# connected: clients the broker has seen connect since log offset $1.
connected() { tail -c "+$(($1 + 1))" "$FOTA_BROKER_LOG" | grep -c "New client connected" || true; }

# use_conf "key value"...: the shipped configuration with these lines replaced; restarts the
# broker and waits until every device has reconnected (the simulator does so by itself).
use_conf() {
	local kv off
	cp "$T/shipped.conf" "$CONF"
	for kv in "$@"; do
		sed -i "s/^${kv%% *} .*/$kv/" "$CONF"
	done
	off=$(stat -c %s "$FOTA_BROKER_LOG")
	fota_broker_restart
	fota_wait_for 900 eval '[ "$(connected '"$off"')" -ge "$N" ]' ||
		fail "devices did not reconnect after the broker restart ($(connected "$off") of $N)"
	sleep 5
}

# measure LABEL QOS CHUNK: publishes the image; prints a table row.
measure() {
	local label=$1 qos=$2 chunk=$3 idle t0 t1 cpu0 prev=-1 c
	read -r crt key < <(fota_cert orchestrator)
	idle=$(rss_mib "$FOTA_BROKER_PID" VmRSS)
	hwm_reset
	cpu0=$(awk '{print $14 + $15}' "/proc/$FOTA_BROKER_PID/stat")
	t0=$(fota_now_ms)
	"$PAHO" pub --uri "$FOTA_BROKER_URI" --ca "$FOTA_PKI/ca.crt" --cert "$crt" --key "$key" \
		--id "mem-pub" --topic "$topic" --file "$T/image.bin" --chunk "$chunk" --window 8 \
		--qos "$qos" >"$T/pub.out" 2>&1 || fail "publisher failed: $(cat "$T/pub.out")"
	t1=$(fota_now_ms)
	# Until the broker is quiet: no CPU used for 2 s (every copy sent or dropped).
	while :; do
		sleep 2
		c=$(awk '{print $14 + $15}' "/proc/$FOTA_BROKER_PID/stat")
		[ "$c" != "$prev" ] || break
		prev=$c
	done
	out "| $label | $idle | $(rss_mib "$FOTA_BROKER_PID" VmHWM) | $(($(rss_mib "$FOTA_BROKER_PID" VmHWM) - idle)) | $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1000}') | $(awk -v a="$cpu0" -v b="$prev" -v t="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) / t}') |"
}
hwm_reset() { echo 5 >"/proc/$FOTA_BROKER_PID/clear_refs"; }

out ""
out "### Broker memory, 1 MiB broadcast to $N connected devices (Mosquitto $(mosquitto -h 2>/dev/null | awk 'NR == 1 {print $3}'), $(nproc) CPUs, $(date -u +%Y-%m-%d), load average at the start $(cut -d' ' -f1-3 /proc/loadavg))"
out ""
out "| variant (shipped configuration unless named) | idle RSS MiB | peak RSS MiB | peak above idle MiB | publish s | broker CPU s |"
out "|---|---|---|---|---|---|"
sleep 5
measure "QoS 1, 64 KiB chunks (the orchestrator's broadcast)" 1 65536
measure "QoS 0, 64 KiB chunks" 0 65536
measure "QoS 1, 16 KiB chunks" 1 16384
measure "QoS 1, 256 KiB chunks" 1 262144
use_conf "max_inflight_bytes 262144"
measure "QoS 1, 64 KiB, max_inflight_bytes 256 KiB (shipped 4 MiB)" 1 65536
use_conf "max_queued_bytes 1048576"
measure "QoS 1, 64 KiB, max_queued_bytes 1 MiB (shipped 64 MiB)" 1 65536
use_conf "max_inflight_messages 2" "max_inflight_bytes 131072" "max_queued_bytes 262144"
measure "QoS 1, 64 KiB, max_inflight_messages 2, max_inflight_bytes 128 KiB, max_queued_bytes 256 KiB" 1 65536
fota_stop_pid "$SIM_PID" TERM
echo "broker_memory: done" >&2
