#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A staged campaign (canary of 5 named devices, 10 %, 100 %; 1 MiB image) to simulated devices
# on this machine: time from `campaign start` to completed, peak RSS and CPU time of the broker
# and the orchestrator, the orchestrator's status ingestion and its ingest lag (the age of the
# oldest status waiting in serve's queue, `fota_status_queue_oldest_seconds` on its /metrics,
# sampled each second), and repairs. One invocation, one Markdown table on stdout (and
# appended to --out FILE).
#
# Usage: bench/campaign_fleet.sh [--devices N] [--sim-procs P] [--pki DIR] [--out FILE]
# Default 100 devices; FOTA_FULL=1 makes it 2,000. --sim-procs spreads the devices over P
# simulator processes (default 2, at most one per device), so that one process reading every
# device's TLS stream does not hold the broker's deliveries back; their peak RSS and CPU time
# are reported summed. Raises the open-files limit to the hard limit first (each device holds
# a TLS connection to the broker, and the broker one per device) and says so. Needs a built
# tree (FOTA_BUILD, default ./build/release). --pki DIR keeps the PKI (sim-1..sim-N, minutes
# for 2,000 devices) in DIR and reuses it when DIR already holds one for at least N devices. No fixed deadline: it waits as long as devices keep connecting
# and the campaign keeps moving, and gives up after FOTA_FLEET_STALL_S (default 300) seconds
# without progress, printing why (each process alive or not, their last log lines, the
# campaign's status, the kernel's word on a crash, a core dump's backtrace).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export FOTA_SRC=${FOTA_SRC:-$(cd "$here/.." && pwd)}
# Absolute: the scene runs in its own folder.
FOTA_BUILD=$(cd "${FOTA_BUILD:-$FOTA_SRC/build/release}" && pwd)
export FOTA_BUILD
N=100
[ "${FOTA_FULL:-0}" = 1 ] && N=2000
OUT="" PKI_DIR="" PROCS=2
while [ $# -gt 0 ]; do
	case "$1" in
	--devices) N=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--pki) PKI_DIR=$2; shift 2 ;;
	--sim-procs) PROCS=$2; shift 2 ;;
	-h | --help) sed -n '3,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "campaign_fleet.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

[[ "$PROCS" =~ ^[1-9][0-9]*$ ]] || { echo "campaign_fleet.sh: --sim-procs $PROCS: not a positive count" >&2; exit 2; }
[ "$PROCS" -le "$N" ] || PROCS=$N

soft=$(ulimit -Sn) hard=$(ulimit -Hn)
if [ "$soft" != "$hard" ]; then
	ulimit -n "$hard"
	echo "open files: soft limit raised from $soft to the hard limit $hard" >&2
fi
[ "$hard" = unlimited ] || [ "$hard" -ge $((N + 256)) ] ||
	echo "open files: the hard limit $hard is below the ~$((N + 256)) $N devices need" >&2
# A crash leaves a core file in the scene's folder (the processes run there), and the
# diagnostics below print its backtrace.
ulimit -c unlimited 2>/dev/null && echo "core dumps: on (ulimit -c unlimited)" >&2
STALL_S=${FOTA_FLEET_STALL_S:-300}

. "$here/bench_lib.sh"
. "$FOTA_SRC/tests/integration/campaign_lib.sh"
fota_require curl jq

# rss_kib PID / cpu_s PID: peak resident set (VmHWM) and user+system CPU seconds so far.
rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$1/stat"; }
out() {
	echo "$*"
	[ -z "$OUT" ] || echo "$*" >>"$OUT"
}

t=$SECONDS
if [ -n "$PKI_DIR" ]; then
	# campaign_env, with the PKI kept across invocations.
	fota_tmpdir T
	[ -f "$PKI_DIR/devices/sim-$N.crt" ] || rm -rf "$PKI_DIR"
	# certs/mkpki.sh keeps what a kept PKI has and adds what a newer tree needs (the operator
	# CA, client-cas.crt): about 2 s for 2,000 kept devices.
	campaign_pki "$PKI_DIR" "$N"
	fota_broker_start "$T/broker"
	export FOTA_ORCH_STATE=$T/orch
else
	campaign_env "$N"
fi
echo "PKI for $N devices in $((SECONDS - t)) s" >&2
cd "$T"
kmsg_start=$(dmesg 2>/dev/null | wc -l) || kmsg_start=0

# why_stopped: run at exit unless the bench finished. Says which process is alive, the last
# lines of each log, the campaign's status, and what the kernel and any core file say.
finished=0
why_stopped() {
	local name pid log core
	[ "$finished" = 0 ] || return 0
	echo "=== why the fleet bench stopped ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)) ===" >&2
	for name in broker serve $(seq -f 'sim%g' 1 "$PROCS"); do
		case $name in
		broker) pid=${FOTA_BROKER_PID:-} log=${FOTA_BROKER_LOG:-} ;;
		serve) pid=${SERVE_PID:-} log=$T/serve.log ;;
		sim*) pid=${SIM_PIDS[${name#sim} - 1]:-} log=$T/$name.log ;;
		esac
		if [ -z "$pid" ]; then
			echo "--- $name: not started" >&2
		elif kill -0 "$pid" 2>/dev/null; then
			echo "--- $name (pid $pid): running, RSS $(awk '/^VmRSS:/ {print $2, $3}' "/proc/$pid/status" 2>/dev/null)" >&2
		else
			wait "$pid" 2>/dev/null
			echo "--- $name (pid $pid): exited, status $? (128+N: signal N)" >&2
		fi
		[ -z "$log" ] || [ ! -f "$log" ] || { echo "--- last lines of $log:" >&2; tail -n 15 "$log" >&2; }
	done
	for log in "$T"/sim*.log.out; do
		[ ! -f "$log" ] || { echo "--- $(basename "$log"):" >&2; tail -n 3 "$log" >&2; }
	done
	echo "--- campaign status:" >&2
	fota_orch campaign status fleet >&2 2>&1 || echo "(no campaign)" >&2
	echo "--- kernel messages since the start:" >&2
	dmesg 2>/dev/null | tail -n +$((kmsg_start + 1)) | grep -iE "segfault|killed process|out of memory|trap" >&2 || echo "(none about a crash)" >&2
	for core in "$T"/core*; do
		[ -f "$core" ] || continue
		echo "--- backtrace of $core:" >&2
		gdb -batch -ex bt -c "$core" \
			"$(file -b "$core" | sed -n "s/.*execfn: '\([^']*\)'.*/\1/p")" 2>&1 | grep -E "^#|signal" | sed -n 1,30p >&2
	done
}
fota_random_image "$T/image.bin" 1
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
metrics_port=$(fota__free_port) || fail "no free port for serve's metrics"
serve_start "$T/serve.log" --http-listen "127.0.0.1:$metrics_port"
# serve's ingest lag once a second from here on: the oldest queued status's age, the queue's
# length and the statuses dropped so far, with the phase (connect, then the campaign).
touch "$T/phase.connect"
(
	while kill -0 "$SERVE_PID" 2>/dev/null; do
		phase=connect
		[ ! -e "$T/phase.campaign" ] || phase=campaign
		curl -s --max-time 2 "http://127.0.0.1:$metrics_port/metrics" | awk -v p="$phase" '
			$1 == "fota_status_queue_oldest_seconds" { lag = $2 }
			$1 == "fota_status_queue_length" { len = $2 }
			$1 == "fota_status_dropped_total" { drop = $2 }
			END { if (lag != "") print p, lag, len, drop }'
		sleep 1
	done
) >"$T/ingest_lag" 2>/dev/null &
lag_sampler=$!
fota_cleanup_pid "$lag_sampler"
t=$SECONDS
# The simulators: devices sim-1..sim-N in PROCS contiguous slices, one process each, with its
# log in sim<K>.log, its stdout in sim<K>.log.out and its summary in summary<K>.json.
SIM_PIDS=()
for k in $(seq 1 "$PROCS"); do
	lo=$(((k - 1) * N / PROCS + 1)) hi=$((k * N / PROCS))
	# The simulator's default of 50 connection attempts a second, shared: the broker sees the
	# same rate of TLS handshakes whatever P.
	sim_launch 0 lab "$T/sim$k.log" --devices "$(seq -s, -f 'sim-%g' "$lo" "$hi")" \
		--connect-rate $(((50 + PROCS - 1) / PROCS)) --step-ms 100 --summary "$T/summary$k.json"
	SIM_PIDS+=("$SIM_PID")
done
fota_cleanup_add why_stopped # runs before the processes are stopped (last registered first)
# No fixed deadline for connecting: each simulator prints "connected K of M" as devices come
# (at a bounded rate, failed attempts retried), then "ready"; wait while the sum grows, give up
# after STALL_S seconds without a new device.
# sims_connected: devices connected over all simulators, from each one's latest progress line.
sims_connected() {
	local out n sum=0
	for out in "$T"/sim*.log.out; do
		n=$(grep -E "^(connected|ready)" "$out" 2>/dev/null | tail -n 1 | awk '{print $2}')
		sum=$((sum + ${n:-0}))
	done
	echo "$sum"
}
sims_ready() { [ "$(cat "$T"/sim*.log.out 2>/dev/null | grep -c "^ready")" = "$PROCS" ]; }
last=-1 moved=$SECONDS
until sims_ready; do
	for pid in "${SIM_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null || fail "a simulator (pid $pid) exited while connecting"
	done
	now=$(sims_connected)
	[ "$now" = "$last" ] || { last=$now moved=$SECONDS; }
	[ $((SECONDS - moved)) -lt "$STALL_S" ] ||
		fail "no device connected for $STALL_S s ($now of $N connected)"
	sleep 1
done
connect_s=$((SECONDS - t))
for k in $(seq 1 "$PROCS"); do echo "simulator $k: $(tail -n 1 "$T/sim$k.log")" >&2; done
fota_wait_for 300 registered lab "$N" || fail "devices did not register"

fota_orch campaign create fleet --image "$id" --group lab --stage sim-1,sim-2,sim-3,sim-4,sim-5 \
	--stage 10% --stage 100% >/dev/null || fail "campaign create"
# The broker's resident memory once a second, with the stage the campaign is in (the serve
# log's "stage N of 3" lines), for its peak per stage.
(
	while kill -0 "$FOTA_BROKER_PID" 2>/dev/null; do
		echo "$(awk '/^VmRSS:/ {print $2}' "/proc/$FOTA_BROKER_PID/status" 2>/dev/null) \
$(($(grep -c "campaign fleet: stage" "$T/serve.log") + 1))"
		sleep 1
	done
) >"$T/broker_rss" 2>/dev/null &
sampler=$!
fota_cleanup_pid "$sampler"
start=$(date +%s.%N)
touch "$T/phase.campaign"
fota_orch campaign start fleet >/dev/null || fail "campaign start"
# No fixed deadline: wait while the campaign moves (its stage or any device count changes),
# give up after STALL_S seconds in which nothing changed, or at once when a process died.
last="" moved=$SECONDS
until fota_orch campaign wait fleet --state completed --timeout 30 >/dev/null 2>&1; do
	for pid in "$FOTA_BROKER_PID" "$SERVE_PID" "${SIM_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null || fail "process $pid ended during the campaign"
	done
	now=$(cstatus fleet '[.stage, .state, .counts] | tostring')
	[ "$now" = "$last" ] || { last=$now moved=$SECONDS; }
	[ $((SECONDS - moved)) -lt "$STALL_S" ] ||
		fail "the campaign did not move for $STALL_S s: $now"
done
end=$(date +%s.%N)
confirmed=$(cstatus fleet .counts.confirmed)
broker_rss=$(rss_kib "$FOTA_BROKER_PID") broker_cpu=$(cpu_s "$FOTA_BROKER_PID")
orch_rss=$(rss_kib "$SERVE_PID") orch_cpu=$(cpu_s "$SERVE_PID")
# The simulators' figures summed over the processes (peak RSS: the sum of each one's peak, an
# upper bound of their peak together).
sim_rss=0 sim_cpu=0
for pid in "${SIM_PIDS[@]}"; do
	sim_rss=$((sim_rss + $(rss_kib "$pid")))
	sim_cpu=$(awk -v a="$sim_cpu" -v b="$(cpu_s "$pid")" 'BEGIN { printf "%.1f", a + b }')
done
fota_stop_pid "$sampler" TERM
fota_stop_pid "$lag_sampler" TERM
fota_stop_pid "$SERVE_PID" TERM
for pid in "${SIM_PIDS[@]}"; do fota_stop_pid "$pid" TERM; done
per_stage=$(awk '$1 > p[$2] {p[$2] = $1} END {for (s = 1; s <= 3; s++) printf "%s%d MiB", (s > 1 ? ", " : ""), p[s] / 1024}' "$T/broker_rss")
ingest=$(grep "status ingestion" "$T/serve.log" | tail -n 1 | sed 's/^fota-orchestrator: //')
repairs=$(grep "repairs served" "$T/serve.log" | tail -n 1 | sed 's/^.*stopping: //')
# lag_stats PHASE: "max X s, p95 Y s, longest queue Z (K samples)" of the samples of PHASE.
lag_stats() {
	awk -v p="$1" '$1 == p { print $2, $3 }' "$T/ingest_lag" | sort -g | awk '
		{ lag[NR] = $1; if ($2 > q) q = $2 }
		END {
			if (NR == 0) { print "no samples"; exit }
			i = int(NR * 0.95 + 0.999); if (i < 1) i = 1; if (i > NR) i = NR
			printf "max %.2f s, p95 %.2f s, longest queue %d (%d samples)", lag[NR], lag[i], q, NR
		}'
}
lag_connect=$(lag_stats connect)
lag_campaign=$(lag_stats campaign)
lag_dropped=$(awk 'END { print $4 }' "$T/ingest_lag")
unsent=$(jq -s '[.[].devices[].statuses_unsent] | add' "$T"/summary*.json)
retries=$(jq -s '[.[].devices[].status_retries] | add' "$T"/summary*.json)

out ""
out "### Staged campaign to $N simulated devices ($(nproc) CPUs, $(date -u +%Y-%m-%d), load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
out ""
out "| what | value |"
out "|---|---|"
out "| devices connected (TLS) | $N in ${connect_s} s |"
out "| campaign start to completed (canary 5, 10 %, 100 %; 1 MiB) | $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f s", b - a}') |"
out "| confirmed | $confirmed of $N |"
out "| broker (mosquitto) peak RSS, CPU time | $((broker_rss / 1024)) MiB, ${broker_cpu} s |"
out "| broker peak RSS during stage 1, 2, 3 (sampled each second) | $per_stage |"
out "| orchestrator (serve) peak RSS, CPU time | $((orch_rss / 1024)) MiB, ${orch_cpu} s |"
out "| simulator (fota-fleet-sim, $PROCS processes) peak RSS (sum of each one's peak), CPU time (sum) | $((sim_rss / 1024)) MiB, ${sim_cpu} s |"
out "| orchestrator status ingestion | ${ingest:-?} |"
out "| ingest lag (oldest queued status, sampled each second): campaign start to completed | $lag_campaign |"
out "| ingest lag while the devices connected | $lag_connect |"
out "| statuses dropped by serve (fota_status_dropped_total at the end) | ${lag_dropped:-?} |"
out "| repairs | ${repairs:-?} |"
out "| simulator statuses unsent at exit, publishes repeated | ${unsent:-?}, ${retries:-?} |"

# Functional checks only (a CI run uses few devices): every device confirmed, in the
# orchestrator and in what the broker acknowledged to the simulator, and no status lost.
sim_confirmed=$(jq -s '[.[].counts.confirmed // 0] | add' "$T"/summary*.json)
[ "$confirmed" = "$N" ] || fail "the orchestrator counts $confirmed of $N confirmed"
[ "$sim_confirmed" = "$N" ] || fail "the broker holds $sim_confirmed of $N confirmed statuses"
[ "$unsent" = 0 ] || fail "$unsent statuses were never acknowledged by the broker"
finished=1
echo "PASS: $N of $N devices confirmed, no status lost" >&2
