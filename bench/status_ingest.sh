#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Status ingestion: `fota-orchestrator serve` against a plain Paho subscriber that only counts,
# both subscribed to the same flood of status reports at once (same broker, same load), at the
# highest rate the flood publisher reaches. Prints the ratio of their rates and the reports the
# orchestrator lost (reports sent minus rows in its audit trail).
#
# Usage: bench/status_ingest.sh [--devices N] [--rounds R] [--runs K] [--out FILE]
# Default 2,000 devices x 10 rounds (every report a change of state, so each is parsed, kept
# and appended to the audit trail), 5 runs. The publisher's window is chosen first: the one of
# 10, 100 and 1,000 messages in flight that floods fastest with nobody subscribed. Each run
# gives its own ratio (both sides timed on the same flood); the table has their median and
# range, so one slow run on a shared machine does not decide the figure.
# Needs a built tree (FOTA_BUILD, default ./build/release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export FOTA_SRC=${FOTA_SRC:-$(cd "$here/.." && pwd)}
export FOTA_BUILD=${FOTA_BUILD:-$FOTA_SRC/build/release}
N=2000 ROUNDS=10 RUNS=5 OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
	--devices) N=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) sed -n '3,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "status_ingest.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
. "$here/bench_lib.sh"
PAHO=${FOTA_BENCH_PAHO:-$FOTA_BUILD/bench/paho_bench}
[ -x "$PAHO" ] || fail "$PAHO is not built (set FOTA_BUILD)"
fota_require sqlite3

out() {
	echo "$*"
	[ -z "$OUT" ] || echo "$*" >>"$OUT"
}
paho() {
	local who=$1 mode=$2 crt key
	shift 2
	read -r crt key < <(fota_cert "$who")
	"$PAHO" "$mode" --uri "$FOTA_BROKER_URI" --ca "$FOTA_PKI/ca.crt" --cert "$crt" \
		--key "$key" "$@"
}
flood() { paho orchestrator flood --id pb-flood --devices "$N" --rounds "$ROUNDS" --window "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
rate() { awk -v m="$1" -v a="$2" -v b="$3" 'BEGIN {printf "%.0f", (b > a ? m * 1000 / (b - a) : 0)}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }
# CPU time of a process so far, in clock ticks (utime + stime of /proc/PID/stat).
ticks() {
	local f
	read -r -a f <"/proc/$1/stat"
	echo $((f[13] + f[14]))
}
per_k() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN {printf "%.0f", t * 1000 / hz * 1000 / n}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

fota_tmpdir T
fota_pki "$T/pki" ""
fota_broker_start "$T/broker"
read -r ORCH_CRT ORCH_KEYFILE < <(fota_cert orchestrator)
total=$((N * ROUNDS))

best_w=10 best=0
for w in 10 100 1000; do
	r=$(flood "$w" | awk '/^flood/ {sub("msg_s=", "", $4); print $4}')
	echo "status_ingest: publisher alone, window $w: $r msg/s" >&2
	if [ "${r:-0}" -gt "$best" ]; then best=$r best_w=$w; fi
done

ours=() base=() pub=() lost=() ratios=() cpu_ours=() cpu_base=()
for ((k = 0; k < RUNS; k++)); do
	st=$T/serve-$k
	mkdir -p "$st"
	"$FOTA_ORCH_BIN" --broker "$FOTA_BROKER_URI" --ca "$FOTA_PKI/ca.crt" --cert "$ORCH_CRT" \
		--key "$ORCH_KEYFILE" --state-dir "$st" serve --client-id "ingest-$k" \
		>"$st/serve.log" 2>&1 &
	srv=$!
	fota_cleanup_pid "$srv"
	fota_wait_line "$st/serve.log" "serving" 20 || fail "serve did not start"
	paho orchestrator sub --id "pb-count-$k" --topic 'fota/v1/devices/+/status' \
		--messages "$total" >"$T/count.out" 2>&1 &
	cnt=$!
	fota_cleanup_pid "$cnt" KILL
	fota_wait_line "$T/count.out" ready 20 || fail "counting subscriber not ready"
	c0=$(ticks "$srv")
	t0=$(fota_now_ms)
	flood "$best_w" >"$T/flood.out" &
	fl=$!
	fota_cleanup_pid "$fl" KILL
	# The orchestrator is polled while the flood runs (polling only after the publisher has
	# exited would time it by the publisher's exit): until every report is in the audit trail,
	# or nothing new for 3 s (what overflowed its session queue in the broker never arrives).
	# A row is timed at the end of the first query that sees it: up to one interval and one
	# query late, never early.
	rows=0 prev=0 still=0 t1=$t0
	while [ "$rows" -lt "$total" ] && [ "$still" -lt 150 ]; do
		sleep 0.02
		rows=$(sqlite3 "$st/orchestrator.db" \
			"SELECT count(*) FROM audit WHERE device LIKE 'sim-%'" 2>/dev/null) || rows=$prev
		if [ "$rows" -gt "$prev" ]; then
			prev=$rows still=0
			fota_now_ms t1
		else
			still=$((still + 1))
		fi
	done
	wait "$fl" || fail "flood publisher failed"
	pub+=("$(awk '/^flood/ {sub("msg_s=", "", $4); print $4}' "$T/flood.out")")
	wait "$cnt" || fail "counting subscriber failed"
	tc=$(awk '/^done/ {print $2}' "$T/count.out")
	base+=("$(rate "$total" "$t0" "$tc")")
	ours+=("$(rate "$rows" "$t0" "$t1")")
	lost+=("$((total - rows))")
	ratios+=("$(ratio "${ours[-1]}" "${base[-1]}")")
	cpu_ours+=("$(per_k $(($(ticks "$srv") - c0)) "$rows")")
	cpu_base+=("$(awk '/^done/ {sub("cpu_s=", "", $6); printf "%.0f", $6 * 1e6 / '"$total"'}' "$T/count.out")")
	fota_stop_pid "$srv" TERM
	echo "status_ingest: run $((k + 1)): orchestrator ${ours[-1]}/s, counting subscriber ${base[-1]}/s, ratio ${ratios[-1]}x, lost ${lost[-1]}, CPU ms per 1,000 reports ${cpu_ours[-1]} and ${cpu_base[-1]}" >&2
done

o=$(median "${ours[@]}") b=$(median "${base[@]}")
out ""
out "### Status ingestion, $N devices x $ROUNDS reports, runs: $RUNS ($(nproc) CPUs, $(date -u +%Y-%m-%d), load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
out ""
out "| what | reports/s median (runs) |"
out "|---|---|"
out "| flood publisher, QoS 1, window $best_w (the fastest of 10, 100, 1000) | $(median "${pub[@]}") (${pub[*]}) |"
out "| plain Paho subscriber, counting | $b (${base[*]}) |"
out "| fota-orchestrator serve, recorded in the audit trail | $o (${ours[*]}) |"
out "| ratio orchestrator / counting subscriber, median of the runs' (min-max) | $(median "${ratios[@]}")x ($(range "${ratios[@]}")) |"
out "| ratio per run | ${ratios[*]} |"
out "| CPU ms per 1,000 reports: orchestrator during the flood, median (runs) | $(median "${cpu_ours[@]}") (${cpu_ours[*]}) |"
out "| CPU ms per 1,000 reports: counting subscriber, whole process, median (runs) | $(median "${cpu_base[@]}") (${cpu_base[*]}) |"
out "| reports lost (sent, not in the audit trail), total and per run | $(IFS=+; echo $((${lost[*]}))) (${lost[*]}) |"
