#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# FOTA benchmarks: every figure printed next to a baseline measured in the same invocation.
#
# Usage: bench/run.sh [--quick] [--runs N]
#                     [--only "transfer chunks fixed fanout footprint resume sweep orch"]
#                     [--fanout "10 50 200"] [--out FILE]
# FOTA_BENCH_SWEEP_CHUNKS / _WINDOWS / _PAIRS narrow section 5, FOTA_BENCH_FOOT_MIB section 3,
# FOTA_BENCH_KILLS section 4, FOTA_BENCH_CHUNKS_MIB section 1b.
# Needs a built tree (FOTA_BUILD, default ./build; a Release build gives the real numbers),
# mosquitto, mosquitto-clients, openssl, curl and nginx (installed with apt-get if missing).
# --quick: tiny images, one run each, a few devices: only proves that the harness still works.
# Tables are Markdown on stdout (and appended to --out FILE). Medians of --runs (default 3)
# with min and max; ratios are ours / baseline of the same invocation.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export FOTA_SRC=${FOTA_SRC:-$(cd "$BENCH_DIR/.." && pwd)}
export FOTA_BUILD=${FOTA_BUILD:-$FOTA_SRC/build}
QUICK=0
RUNS=3
ONLY="transfer chunks fixed fanout footprint resume sweep orch"
FANOUT=""
OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1; shift ;;
	--runs) RUNS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--fanout) FANOUT=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) sed -n '4,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

. "$BENCH_DIR/bench_lib.sh"
PAHO=${FOTA_BENCH_PAHO:-$FOTA_BUILD/bench/paho_bench}

if [ "$QUICK" = 1 ]; then
	RUNS=1
	MIB_ONE=2 MIB_FAN=1 MIB_FOOT="1 2" MIB_RESUME=2 MIB_SWEEP=1 KILLS="1" MIB_CHUNKS=1
	SWEEP_CHUNKS="16 64" SWEEP_WINDOWS="8"
	ORCH_DEVICES=100 ORCH_ROUNDS=2
	FANOUT=${FANOUT:-3}
else
	MIB_ONE=64 MIB_FAN=16 MIB_FOOT="1 64 512" MIB_RESUME=512 MIB_SWEEP=32 KILLS="1 3 5"
	MIB_CHUNKS=16
	SWEEP_CHUNKS="4 16 64 256" SWEEP_WINDOWS="4 8 16 32"
	ORCH_DEVICES=1000 ORCH_ROUNDS=10
	FANOUT=${FANOUT:-10 50 200}
fi
# Sweep subsets, e.g. FOTA_BENCH_SWEEP_CHUNKS="64 256" (4 KiB chunks take minutes).
SWEEP_CHUNKS=${FOTA_BENCH_SWEEP_CHUNKS:-$SWEEP_CHUNKS}
SWEEP_WINDOWS=${FOTA_BENCH_SWEEP_WINDOWS:-$SWEEP_WINDOWS}
# Single cells instead: FOTA_BENCH_SWEEP_PAIRS="64x8 64x16 256x8" (chunk KiB x window).
SWEEP_PAIRS=${FOTA_BENCH_SWEEP_PAIRS:-}
# Other subsets: FOTA_BENCH_FOOT_MIB="64 512", FOTA_BENCH_KILLS="1 3 5", FOTA_BENCH_SWEEP_MIB=16.
MIB_FOOT=${FOTA_BENCH_FOOT_MIB:-$MIB_FOOT}
MIB_SWEEP=${FOTA_BENCH_SWEEP_MIB:-$MIB_SWEEP}
MIB_CHUNKS=${FOTA_BENCH_CHUNKS_MIB:-$MIB_CHUNKS}
KILLS=${FOTA_BENCH_KILLS:-$KILLS}
MAXDEV=1
# Certificates only for the devices a selected section starts (200 take minutes to make).
case " $ONLY " in
*" fanout "*) for n in $FANOUT; do [ "$n" -gt "$MAXDEV" ] && MAXDEV=$n; done ;;
esac

# --- Setup -------------------------------------------------------------------------------------

need_tools() {
	local missing=() t
	for t in nginx curl mosquitto mosquitto_pub mosquitto_sub openssl; do
		command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "bench: installing ${missing[*]}" >&2
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		local pkgs=()
		for t in "${missing[@]}"; do
			case "$t" in
			nginx) pkgs+=(nginx-light) ;;
			mosquitto_pub | mosquitto_sub) pkgs+=(mosquitto-clients) ;;
			*) pkgs+=("$t") ;;
			esac
		done
		# Another installer may hold dpkg's lock: wait for it rather than fail.
		local apt=(apt-get -o DPkg::Lock::Timeout=300)
		DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y "${pkgs[@]}" >&2 ||
			{ "${apt[@]}" update >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y \
				"${pkgs[@]}" >&2; } || fail "cannot install ${pkgs[*]}"
	else
		fota_require "${missing[@]}"
	fi
}
need_tools
PATH=$PATH:/usr/sbin
for b in "$PAHO" "$FOTA_CLIENT_BIN" "$FOTA_ORCH_BIN"; do
	[ -x "$b" ] || fail "$b is not built (set FOTA_BUILD)"
done

out() {
	if [ -n "$OUT" ]; then printf '%s\n' "$*" | tee -a "$OUT"; else printf '%s\n' "$*"; fi
}
note() { echo "bench: $*" >&2; }

fota_tmpdir T
devs=()
for ((i = 6; i <= MAXDEV; i++)); do devs+=("dev-$i"); done
note "making a PKI for $((MAXDEV > 5 ? MAXDEV : 5)) devices"
fota_pki "$T/pki" "${devs[*]}"
fota_broker_start "$T/broker"
# The only change to the shipped broker config: the mosquitto_pub -f baseline sends the whole
# image as one message, above the shipped 1 MiB message_size_limit.
sed -i 's/^message_size_limit .*/message_size_limit 0/' "$FOTA_BROKER_DIR/mosquitto.conf"
fota_broker_restart
export FOTA_ORCH_STATE=$T/orch
ORCH_KEY=$FOTA_PKI/signing/orchestrator/orch-1.pem
read -r ORCH_CRT ORCH_KEYFILE < <(fota_cert orchestrator)

. "$BENCH_DIR/https_baseline.sh"

# stats V...: "median min max" of the values.
stats() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s %s %s", m, v[1], v[NR]}'
}
# fmt V...: "median (min-max)" with one decimal.
fmt() {
	local m lo hi
	read -r m lo hi < <(stats "$@")
	if [ "$RUNS" -gt 1 ]; then
		awk -v m="$m" -v l="$lo" -v h="$hi" 'BEGIN {printf "%.2f (%.2f-%.2f)", m, l, h}'
	else
		awk -v m="$m" 'BEGIN {printf "%.2f", m}'
	fi
}
median() { stats "$@" | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
mibs() { awk -v m="$1" -v s="$2" 'BEGIN {printf "%.2f", (s > 0 ? m / s : 0)}'; }

# proc_cpu PID: CPU seconds (user + system) the process used so far.
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{
		sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz}' "/proc/$1/stat"
}
proc_hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# hwm_reset PID: restart the peak RSS count (VmHWM) from the current RSS, so that the next
# proc_hwm gives the peak of one interval, not of the whole process life.
hwm_reset() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
# proc_rss_mib PID: resident set now, MiB with one decimal.
proc_rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# broker_fresh: the broker restarted with an empty persistence database, so that the next
# phase's memory holds only its own clients and messages: the heap a former phase grew is
# not given back to the system, and would count in the next phase's peak.
broker_fresh() {
	fota_broker_stop
	rm -f "$FOTA_BROKER_DIR/data/mosquitto.db"
	fota_broker_restart
}

# --- Our side: devices and the orchestrator ----------------------------------------------------

# dev_fresh DEV GROUP [transfer key=value...]: a device with empty state, running, idle.
dev_fresh() {
	local dev=$1 group=$2
	shift 2
	fota_client_kill "$dev" TERM
	rm -rf "${T:?}/$dev"
	fota_client_conf "$dev" "$T" "$group" "$@"
	fota_client_start "$dev" "$T"
}

# wait_idle DEV...: every device has announced itself idle (one subscription for all).
wait_idle() {
	local want=$# deadline=$((SECONDS + 60)) got
	while :; do
		got=$(FOTA_CLIENT_TIMEOUT=5 fota_sub orchestrator -t 'fota/v1/devices/+/status' -W 1 \
			2>/dev/null | jq -r 'select(.state == "idle") | .device' 2>/dev/null |
			grep -cxF -f <(printf '%s\n' "$@") || true)
		[ "$got" -ge "$want" ] && return 0
		[ "$SECONDS" -lt "$deadline" ] || fail "only $got of $want devices came online"
		sleep 0.2
	done
}

# image_for FILE [chunk size]: adds the image (a new version each time); its id in ID.
SEQ=10
image_for() {
	SEQ=$((SEQ + 1))
	ID=$(fota_image_add "$1" "2.0.$SEQ" "$SEQ" ${2:+--chunk-size "$2"} 2>>"$T/image-add.log" |
		tail -n 1)
	[ -n "$ID" ] || fail "image add of $1 failed (see $T/image-add.log)"
}

# ours_publish ID GROUP DEVS(comma) [publish options...]: seconds until all are confirmed
# and the command has exited in R; until it printed the last device's "confirmed" in
# R_SEEN (the end point of the Paho baselines: no teardown). Its stdout, each line behind
# the time it was read, in $T/publish.out.
ours_publish() {
	local id=$1 group=$2 devs=$3 t0 t1 seen ts
	shift 3
	t0=$(fota_now_ms)
	fota_orch publish "$id" --group "$group" --orch-key "$ORCH_KEY" --wait-devices "$devs" \
		--wait-state confirmed --timeout 900 "$@" 2>"$T/publish.log" |
		while IFS= read -r line; do fota_now_ms ts && printf '%s %s\n' "$ts" "$line"; done \
			>"$T/publish.out" ||
		{ tail -n 20 "$T/publish.log" >&2; fail "publish of $id to $group failed"; }
	t1=$(fota_now_ms)
	R=$(secs "$t0" "$t1")
	seen=$(awk '/ confirmed$/ {t = $1} END {print t}' "$T/publish.out")
	R_SEEN=$(secs "$t0" "${seen:-$t1}")
}

RUN_GROUP=0
new_group() {
	RUN_GROUP=$((RUN_GROUP + 1))
	G="b$RUN_GROUP"
}

# ours_single FILE ID [publish options...]: one device, fresh state: seconds.
ours_single() {
	local file=$1 id=$2
	shift 2
	new_group
	dev_fresh dev-1 "$G"
	wait_idle dev-1
	ours_publish "$id" "$G" dev-1 "$@"
	cmp -s "$T/dev-1/target/firmware.bin" "$file" || fail "dev-1 installed a different image"
}

# --- Baselines ----------------------------------------------------------------------------------

paho() {
	local who=$1 mode=$2 crt key
	shift 2
	read -r crt key < <(fota_cert "$who")
	"$PAHO" "$mode" --uri "$FOTA_BROKER_URI" --ca "$FOTA_PKI/ca.crt" --cert "$crt" \
		--key "$key" "$@"
}

# paho_fanout FILE CHUNK WINDOW N [--hash]: seconds from publish start until the last of N
# plain Paho subscribers has written every chunk to disk; with --hash each subscriber also does
# a device's digest work (SHA-256 of each chunk and of the whole image), checked against the
# file's. Sets PAHO_BROKER_CPU, PAHO_BROKER_IDLE (RSS MiB with the subscribers connected, before
# the transfer), PAHO_BROKER_RSS (peak KiB during the transfer), PAHO_SUB_RSS, PAHO_SUB_CPU (of
# subscriber 1, from its start) and PAHO_SUBS_CPU (all subscribers, from ready to done).
paho_fanout() {
	local file=$1 chunk=$2 window=$3 n=$4 hash=${5:-} size topic t0 last i pids=() c0 want
	size=$(stat -c %s "$file")
	topic="fota/v1/groups/paho$RANDOM/images/0000000000000000/chunks"
	for ((i = 1; i <= n; i++)); do
		# shellcheck disable=SC2086
		paho "dev-$i" sub --id "pb-$i" --topic "$topic" --bytes "$size" $hash \
			--out "$T/paho-$i.bin" >"$T/paho-$i.out" 2>&1 &
		pids+=($!)
		fota_cleanup_pid "$!" KILL
	done
	for ((i = 1; i <= n; i++)); do
		fota_wait_line "$T/paho-$i.out" ready 60 || fail "paho subscriber $i not ready"
	done
	c0=$(proc_cpu "$FOTA_BROKER_PID")
	PAHO_BROKER_IDLE=$(proc_rss_mib "$FOTA_BROKER_PID")
	hwm_reset "$FOTA_BROKER_PID"
	t0=$(fota_now_ms)
	paho orchestrator pub --id pb-pub --topic "$topic" --file "$file" --chunk "$chunk" \
		--window "$window" >"$T/paho-pub.out" 2>&1 || fail "paho publisher failed"
	for ((i = 1; i <= n; i++)); do
		wait "${pids[i - 1]}" ||
			fail "paho subscriber $i ${hash:+($hash) }failed: $(tail -n 3 "$T/paho-$i.out" | tr '\n' ' ')"
	done
	PAHO_BROKER_CPU=$(awk -v a="$c0" -v b="$(proc_cpu "$FOTA_BROKER_PID")" \
		'BEGIN {printf "%.2f", b - a}')
	PAHO_BROKER_RSS=$(proc_hwm "$FOTA_BROKER_PID")
	last=$(cat "$T"/paho-*.out | awk '/^done/ {print $2}' | sort -n | tail -n 1)
	PAHO_SUB_RSS=$(awk '/^done/ {sub("rss_kb=", "", $5); print $5}' "$T/paho-1.out")
	PAHO_SUB_CPU=$(awk '/^done/ {sub("cpu_s=", "", $6); print $6}' "$T/paho-1.out")
	PAHO_SUBS_CPU=$(cat "$T"/paho-*.out | awk '
		/^ready/ {sub("cpu_s=", "", $3); s -= $3}
		/^done/ {sub("cpu_s=", "", $6); s += $6} END {printf "%.2f", s}')
	cmp -s "$T/paho-$n.bin" "$file" || fail "paho subscriber $n wrote a different file"
	if [ -n "$hash" ]; then
		want=$(sha256sum "$file" | cut -d' ' -f1)
		[ "$(grep -c "^done .* sha256=$want\$" "$T"/paho-*.out | awk -F: '{s += $2} END {print s}')" = "$n" ] ||
			fail "paho subscribers with --hash: not all $n printed the image's SHA-256"
	fi
	rm -f "$T"/paho-*.bin "$T"/paho-*.out
	R=$(secs "$t0" "$last")
}

# mosq_whole FILE: seconds for mosquitto_pub -f (one message) -> mosquitto_sub to a file.
mosq_whole() {
	local file=$1 sub t0 t1 crt key topic=fota/v1/groups/whole/images/0000000000000000/chunks
	read -r crt key < <(fota_cert dev-1)
	local id="whole$RANDOM"
	mosquitto_sub -h 127.0.0.1 -p "$FOTA_BROKER_PORT" --cafile "$FOTA_PKI/ca.crt" \
		--cert "$crt" --key "$key" -i "$id" -q 1 -t "$topic" -C 1 -N >"$T/whole.bin" 2>&1 &
	sub=$!
	fota_cleanup_pid "$sub" KILL
	fota_wait_line "$FOTA_BROKER_LOG" "as $id" 10 || fail "mosquitto_sub did not connect"
	sleep 0.3 # its SUBSCRIBE follows the CONNACK at once; the broker does not log it
	t0=$(fota_now_ms)
	# A 64 MiB message on a loaded machine takes longer than the helpers' 10 s default.
	FOTA_CLIENT_TIMEOUT=300 fota_pub orchestrator -i "whp$RANDOM" -q 1 -t "$topic" -f "$file" ||
		fail "mosquitto_pub failed"
	wait "$sub" || fail "mosquitto_sub failed"
	t1=$(fota_now_ms)
	cmp -s "$T/whole.bin" "$file" || fail "mosquitto_sub wrote a different file"
	rm -f "$T/whole.bin"
	R=$(secs "$t0" "$t1")
}

# ================================================================================================
# 1. One device, end to end.
bench_transfer() {
	local mib=$MIB_ONE img=$T/one.bin id id256 r
	local -a ours seen ours0 ours256 whole p64 p256 https
	note "1. single device, $mib MiB"
	fota_random_image "$img" "$mib"
	image_for "$img"
	id=$ID
	image_for "$img" 262144
	id256=$ID
	for ((r = 0; r < RUNS; r++)); do
		ours_single "$img" "$id"; ours+=("$R"); seen+=("$R_SEEN")
		ours_single "$img" "$id" --rate 64M; ours0+=("$R")
		ours_single "$img" "$id256"; ours256+=("$R")
		mosq_whole "$img"; whole+=("$R")
		paho_fanout "$img" 65536 10 1; p64+=("$R")
		paho_fanout "$img" 262144 10 1; p256+=("$R")
		https_get "$img"; https+=("$R")
	done
	fota_client_kill dev-1 TERM
	local base
	base=$(median "${whole[@]}")
	out ""
	out "### 1. One device, $mib MiB random image, mTLS (runs: $RUNS)"
	out ""
	out "Seconds from publish start until the file is on disk (ours: verified, installed and"
	out "reported confirmed). MiB/s from the median; ratios = MiB/s / that of mosquitto_pub -f,"
	out "and / that of the plain Paho pair with the same chunk size."
	out ""
	out "| what | seconds median (min-max) | MiB/s | vs mosquitto_pub -f | vs plain Paho, same chunks |"
	out "|---|---|---|---|---|"
	local m64 m256
	m64=$(median "${p64[@]}")
	m256=$(median "${p256[@]}")
	row1() {
		local m pair=$2
		m=$(median "${@:3}")
		out "| $1 | $(fmt "${@:3}") | $(mibs "$mib" "$m") | $(ratio "$base" "$m") |" \
			"${pair:+$(ratio "$pair" "$m")} |"
	}
	row1 "ours, defaults (64 KiB chunks, window 8, no --rate)" "$m64" "${ours[@]}"
	row1 "ours, defaults, until publish prints confirmed (no exit; as the Paho rows end)" "$m64" \
		"${seen[@]}"
	row1 "ours, --rate 64M (the former default pace), 64 KiB chunks" "$m64" "${ours0[@]}"
	row1 "ours, defaults, 256 KiB chunks" "$m256" "${ours256[@]}"
	row1 "(a) mosquitto_pub -f, one message -> mosquitto_sub" "" "${whole[@]}"
	row1 "(a) plain Paho pub/sub, 64 KiB chunks, window 10" "$m64" "${p64[@]}"
	row1 "(a) plain Paho pub/sub, 256 KiB chunks, window 10" "$m256" "${p256[@]}"
	row1 "(b) nginx HTTPS + client cert -> curl" "" "${https[@]}"
}

# 1b. Small chunks against the default size, default settings everywhere.
bench_chunks() {
	local mib=$MIB_CHUNKS img=$T/chunks.bin id4 id64 r m4 m64
	local -a s4 s64
	note "1b. single device, $mib MiB, 4 KiB vs 64 KiB chunks"
	fota_random_image "$img" "$mib"
	image_for "$img" 4096
	id4=$ID
	image_for "$img" 65536
	id64=$ID
	for ((r = 0; r < RUNS; r++)); do
		ours_single "$img" "$id64"; s64+=("$R")
		ours_single "$img" "$id4"; s4+=("$R")
	done
	fota_client_kill dev-1 TERM
	m4=$(median "${s4[@]}")
	m64=$(median "${s64[@]}")
	out ""
	out "### 1b. Chunk size, one device, $mib MiB, default settings (runs: $RUNS)"
	out ""
	out "Seconds from publish start to confirmed; slowdown = seconds / those of 64 KiB chunks."
	out ""
	out "| chunks | seconds median (min-max) | MiB/s | slowdown vs 64 KiB |"
	out "|---|---|---|---|"
	out "| 64 KiB | $(fmt "${s64[@]}") | $(mibs "$mib" "$m64") | 1.00 |"
	out "| 4 KiB | $(fmt "${s4[@]}") | $(mibs "$mib" "$m4") | $(ratio "$m4" "$m64") |"
	rm -f "$img"
}

# 1c. The fixed cost of an update, and the per-image passes the device makes or skips.
bench_fixed() {
	local mib=$MIB_ONE one=$T/fixed-one.bin img=$T/fixed.bin id r
	local -a e2e pub sha copy
	note "1c. fixed cost: a one-chunk update; $mib MiB device passes"
	fota_random_image "$img" "$mib"
	head -c 65536 "$img" >"$one"
	image_for "$one"
	id=$ID
	for ((r = 0; r < RUNS; r++)); do
		ours_single "$one" "$id"; e2e+=("$R")
		new_group
		local t0 t1
		t0=$(fota_now_ms)
		fota_orch publish "$id" --group "$G" --orch-key "$ORCH_KEY" --no-broadcast \
			>"$T/publish-fixed.log" 2>&1 || fail "publish --no-broadcast failed"
		t1=$(fota_now_ms); pub+=("$(secs "$t0" "$t1")")
		t0=$(fota_now_ms)
		sha256sum "$img" >/dev/null
		t1=$(fota_now_ms); sha+=("$(secs "$t0" "$t1")")
		t0=$(fota_now_ms)
		dd if="$img" of="$T/fixed-copy.bin" bs=1M conv=fsync status=none
		t1=$(fota_now_ms); copy+=("$(secs "$t0" "$t1")")
		rm -f "$T/fixed-copy.bin"
	done
	fota_client_kill dev-1 TERM
	out ""
	out "### 1c. Fixed cost of one update (runs: $RUNS)"
	out ""
	out "Seconds, median (min-max). The first two rows are whole runs of a one-chunk (64 KiB)"
	out "update; the last two are passes over a $mib MiB image on this machine's disk."
	out ""
	out "| what | seconds |"
	out "|---|---|"
	out "| one-chunk update, publish start to confirmed (defaults) | $(fmt "${e2e[@]}") |"
	out "| of which the orchestrator alone: start, key load, connect, sign, table + directive, exit (publish --no-broadcast, no device) | $(fmt "${pub[@]}") |"
	out "| a whole-image SHA-256 pass over $mib MiB (sha256sum, page cache): what hashing the in-order prefix on arrival saves | $(fmt "${sha[@]}") |"
	out "| a $mib MiB copy with fsync (dd conv=fsync): what the file install costs across filesystems (on one, a rename) | $(fmt "${copy[@]}") |"
	rm -f "$img" "$one"
}

# receivers_cpu N: CPU seconds so far of agents dev-1 .. dev-N, summed.
receivers_cpu() {
	local i
	for ((i = 1; i <= $1; i++)); do
		proc_cpu "${FOTA_CLIENT_PIDS[dev-$i]}"
		echo
	done | awk '{s += $1} END {printf "%.2f", s}'
}

# 2. Fan-out to one group.
bench_fanout() {
	local mib=$MIB_FAN img=$T/fan.bin id n r i g list c0 s0
	local -a ours paho hpaho ocpu pcpu hcpu orss prss hrss oidle pidle hidle rep osubs psubs hsubs
	note "2. fan-out, $mib MiB to: $FANOUT"
	fota_random_image "$img" "$mib"
	image_for "$img"
	id=$ID
	out ""
	out "### 2. Fan-out: one group, $mib MiB image (runs: $RUNS)"
	out ""
	out "Seconds until the last device has the image (ours: verified, installed, confirmed;"
	out "Paho: every chunk written); broker CPU seconds and broker peak RSS (VmHWM, MiB) over"
	out "the same interval, and its RSS with every receiver connected just before (idle); the"
	out "receivers' CPU seconds over the transfer, summed over all of them; repairs: chunk frames"
	out "the orchestrator sent again on request (publish --json, repairs.frames). Three sides,"
	out "each on a broker restarted with an empty persistence database: ours, plain Paho, and"
	out "Paho + digests (the plain Paho subscriber also computing what a device must: the SHA-256"
	out "of every chunk and of the whole image). 64 KiB chunks, QoS 1; Paho window 8, ours the"
	out "default flow control (at most 8 in flight)."
	out ""
	out "| N | ours s | plain Paho s | Paho + digests s | ratio to Paho | ratio to Paho + digests | broker CPU ours / Paho / +digests | broker idle RSS MiB ours / Paho / +digests | broker peak RSS MiB ours / Paho / +digests | receivers' CPU s ours / Paho / +digests | repair frames ours |"
	out "|---|---|---|---|---|---|---|---|---|---|---|"
	for n in $FANOUT; do
		ours=() paho=() hpaho=() ocpu=() pcpu=() hcpu=() orss=() prss=() hrss=()
		oidle=() pidle=() hidle=() rep=() osubs=() psubs=() hsubs=()
		for ((r = 0; r < RUNS; r++)); do
			new_group
			g=$G
			list=""
			for ((i = 1; i <= n; i++)); do fota_client_kill "dev-$i" TERM; done
			broker_fresh
			for ((i = 1; i <= n; i++)); do
				dev_fresh "dev-$i" "$g"
				list="$list${list:+,}dev-$i"
			done
			# shellcheck disable=SC2046
			wait_idle $(seq -f 'dev-%g' 1 "$n")
			c0=$(proc_cpu "$FOTA_BROKER_PID")
			oidle+=("$(proc_rss_mib "$FOTA_BROKER_PID")")
			hwm_reset "$FOTA_BROKER_PID"
			s0=$(receivers_cpu "$n")
			ours_publish "$id" "$g" "$list" --json
			osubs+=("$(awk -v a="$s0" -v b="$(receivers_cpu "$n")" 'BEGIN {printf "%.2f", b - a}')")
			ours+=("$R")
			rep+=("$(cut -d' ' -f2- "$T/publish.out" | jq -r '.repairs.frames')")
			orss+=("$(awk -v k="$(proc_hwm "$FOTA_BROKER_PID")" 'BEGIN {printf "%.1f", k / 1024}')")
			ocpu+=("$(awk -v a="$c0" -v b="$(proc_cpu "$FOTA_BROKER_PID")" \
				'BEGIN {printf "%.2f", b - a}')")
			cmp -s "$T/dev-$n/target/firmware.bin" "$img" || fail "dev-$n: wrong image"
			for ((i = 1; i <= n; i++)); do fota_client_kill "dev-$i" TERM; done
			broker_fresh
			paho_fanout "$img" 65536 8 "$n"
			paho+=("$R") pcpu+=("$PAHO_BROKER_CPU") pidle+=("$PAHO_BROKER_IDLE")
			prss+=("$(awk -v k="$PAHO_BROKER_RSS" 'BEGIN {printf "%.1f", k / 1024}')")
			psubs+=("$PAHO_SUBS_CPU")
			broker_fresh
			paho_fanout "$img" 65536 8 "$n" --hash
			hpaho+=("$R") hcpu+=("$PAHO_BROKER_CPU") hidle+=("$PAHO_BROKER_IDLE")
			hrss+=("$(awk -v k="$PAHO_BROKER_RSS" 'BEGIN {printf "%.1f", k / 1024}')")
			hsubs+=("$PAHO_SUBS_CPU")
		done
		out "| $n | $(fmt "${ours[@]}") | $(fmt "${paho[@]}") | $(fmt "${hpaho[@]}") | $(ratio "$(median "${paho[@]}")" "$(median "${ours[@]}")") | $(ratio "$(median "${hpaho[@]}")" "$(median "${ours[@]}")") | $(fmt "${ocpu[@]}") / $(fmt "${pcpu[@]}") / $(fmt "${hcpu[@]}") | $(fmt "${oidle[@]}") / $(fmt "${pidle[@]}") / $(fmt "${hidle[@]}") | $(fmt "${orss[@]}") / $(fmt "${prss[@]}") / $(fmt "${hrss[@]}") | $(fmt "${osubs[@]}") / $(fmt "${psubs[@]}") / $(fmt "${hsubs[@]}") | $(fmt "${rep[@]}") |"
	done
}

# 3. Footprint.
bench_footprint() {
	local mib img id r pid c0 s size
	local -a rss cpu prss pcpu
	note "3. footprint: $MIB_FOOT MiB"
	out ""
	out "### 3. Footprint (runs: $RUNS)"
	out ""
	out "Peak RSS (VmHWM) and CPU seconds (user + system) per MiB of the receiving process;"
	out "ours from client start (idle) to confirmed, Paho from start to the last chunk written."
	out ""
	out "| image MiB | ours peak RSS KiB | Paho peak RSS KiB | ours CPU ms/MiB | Paho CPU ms/MiB | CPU ratio |"
	out "|---|---|---|---|---|---|"
	for mib in $MIB_FOOT; do
		img=$T/foot.bin
		fota_random_image "$img" "$mib"
		image_for "$img"
	id=$ID
		rss=() cpu=() prss=() pcpu=()
		for ((r = 0; r < RUNS; r++)); do
			new_group
			dev_fresh dev-1 "$G"
			wait_idle dev-1
			pid=${FOTA_CLIENT_PIDS[dev-1]}
			c0=$(proc_cpu "$pid")
			ours_publish "$id" "$G" dev-1
			rss+=("$(proc_hwm "$pid")")
			cpu+=("$(awk -v a="$c0" -v b="$(proc_cpu "$pid")" -v m="$mib" \
				'BEGIN {printf "%.1f", (b - a) * 1000 / m}')")
			fota_client_kill dev-1 TERM
			paho_fanout "$img" 65536 8 1
			prss+=("$PAHO_SUB_RSS")
			pcpu+=("$(awk -v c="$PAHO_SUB_CPU" -v m="$mib" \
				'BEGIN {printf "%.1f", c * 1000 / m}')")
		done
		out "| $mib | $(median "${rss[@]}") ($(stats "${rss[@]}" | awk '{print $2 "-" $3}')) | $(median "${prss[@]}") | $(fmt "${cpu[@]}") | $(fmt "${pcpu[@]}") | $(ratio "$(median "${cpu[@]}")" "$(median "${pcpu[@]}")") |"
		rm -f "$img"
	done
	strip -o "$T/fota-client.stripped" "$FOTA_CLIENT_BIN"
	strip -o "$T/paho_bench.stripped" "$PAHO"
	out ""
	out "| stripped binary | bytes | shared libraries |"
	out "|---|---|---|"
	out "| fota-client | $(stat -c %s "$T/fota-client.stripped") | $(ldd "$FOTA_CLIENT_BIN" | awk '/=>/ {sub(/\..*/, "", $1); printf "%s ", $1}') |"
	out "| paho_bench (bare Paho subscriber and more) | $(stat -c %s "$T/paho_bench.stripped") | $(ldd "$PAHO" | awk '/=>/ {sub(/\..*/, "", $1); printf "%s ", $1}') |"
}

# 4. Resume after kill -9.
bench_resume() {
	local mib=$MIB_RESUME img=$T/resume.bin id k r g size dur rate i rx t0 tr tc
	local -a rxs lat con
	note "4. resume: $mib MiB, kills: $KILLS"
	fota_random_image "$img" "$mib"
	image_for "$img"
	id=$ID
	size=$(stat -c %s "$img")
	# Paced so that the broadcast lasts ~8 s and every kill lands inside it.
	rate=$((size / 8))
	dur=8
	out ""
	out "### 4. Resume after kill -9, $mib MiB image, broadcast paced to $((rate / 1024)) KiB/s (runs: $RUNS)"
	out ""
	out "Kills spread evenly over the broadcast; each restart is immediate. Received = payload"
	out "bytes the agent accepted / image size. Resume = restart until the log says 'resuming"
	out "with N chunks already verified' (the agent re-hashes the present chunks from its"
	out "checkpoint before it connects); connected = restart until the broker session is up."
	out ""
	out "| kills | received / size | restart -> resumed s | restart -> connected s |"
	out "|---|---|---|---|"
	for k in $KILLS; do
		rxs=() lat=() con=()
		for ((r = 0; r < RUNS; r++)); do
			new_group
			g=$G
			dev_fresh dev-1 "$g" "window=32" "sync_chunks=16"
			wait_idle dev-1
			fota_orch publish "$id" --group "$g" --orch-key "$ORCH_KEY" --rate "$rate" \
				--wait-devices dev-1 --wait-state confirmed --timeout 900 \
				>"$T/publish.log" 2>&1 &
			local orch=$!
			fota_wait_line "$T/dev-1/client.log" downloading 30 || fail "no download"
			for ((i = 1; i <= k; i++)); do
				sleep "$(awk -v d="$dur" -v k="$k" 'BEGIN {printf "%.2f", d / (k + 1)}')"
				fota_client_kill dev-1 KILL
				: >"$T/dev-1/client.log"
				t0=$(fota_now_ms)
				fota_client_start dev-1 "$T"
				tc=""
				tr=""
				while { [ -z "$tr" ] || [ -z "$tc" ]; } && [ $(($(fota_now_ms) - t0)) -lt 30000 ]; do
					if [ -z "$tc" ] && grep -q "connected as" "$T/dev-1/client.log"; then
						tc=$(fota_now_ms)
					fi
					if [ -z "$tr" ] && grep -q "resuming with" "$T/dev-1/client.log"; then
						tr=$(fota_now_ms)
					fi
					sleep 0.02
				done
				[ -n "$tr" ] && [ -n "$tc" ] || fail "dev-1 did not reconnect and resume"
				lat+=("$(secs "$t0" "$tr")")
				con+=("$(secs "$t0" "$tc")")
			done
			wait "$orch" || { tail "$T/publish.log" >&2; fail "resume run failed"; }
			cmp -s "$T/dev-1/target/firmware.bin" "$img" || fail "resume: wrong image"
			rx=$(fota_rx_bytes "$T/dev-1/client.log")
			rxs+=("$(awk -v a="$rx" -v b="$size" 'BEGIN {printf "%.4f", a / b}')")
		done
		out "| $k | $(fmt "${rxs[@]}") | $(fmt "${lat[@]}") | $(fmt "${con[@]}") |"
	done
	fota_client_kill dev-1 TERM
	rm -f "$img"
}

# 5. Chunk size and window sweep (unpaced, so the transport is what limits).
bench_sweep() {
	local mib=$MIB_SWEEP img=$T/sweep.bin c w id r best="" bestv=0 m
	local -a s
	note "5. sweep: $mib MiB, chunks $SWEEP_CHUNKS KiB, windows $SWEEP_WINDOWS ${SWEEP_PAIRS:+(cells $SWEEP_PAIRS)}"
	fota_random_image "$img" "$mib"
	out ""
	out "### 5. Chunk size x orchestrator window, one device, $mib MiB, --rate 0 (runs: $RUNS)"
	out ""
	out "Seconds from publish start to confirmed, median (min-max); MiB/s from the median."
	out ""
	out "| chunk KiB | window | seconds | MiB/s |"
	out "|---|---|---|---|"
	local pairs=$SWEEP_PAIRS lastc=""
	if [ -z "$pairs" ]; then
		for c in $SWEEP_CHUNKS; do
			for w in $SWEEP_WINDOWS; do pairs="$pairs ${c}x$w"; done
		done
	fi
	for c in $pairs; do
		w=${c#*x}
		c=${c%x*}
		if [ "$c" != "$lastc" ]; then
			image_for "$img" $((c * 1024))
			id=$ID
			lastc=$c
		fi
		s=()
		for ((r = 0; r < RUNS; r++)); do
			ours_single "$img" "$id" --rate 0 --window "$w"
			s+=("$R")
		done
		m=$(mibs "$mib" "$(median "${s[@]}")")
		out "| $c | $w | $(fmt "${s[@]}") | $m |"
		if awk -v a="$m" -v b="$bestv" 'BEGIN {exit !(a > b)}'; then
			bestv=$m
			best="$c KiB x window $w"
		fi
	done
	out ""
	out "Best measured: $best ($bestv MiB/s)."
	fota_client_kill dev-1 TERM
	rm -f "$img"
}

# 6. Orchestrator status ingestion.
bench_orch() {
	local n=$ORCH_DEVICES rounds=$ORCH_ROUNDS total r t0 t1 srv st lines
	local -a ours base pub kept
	total=$((n * rounds))
	note "6. status ingestion: $n devices x $rounds reports"
	for ((r = 0; r < RUNS; r++)); do
		# Baseline: a plain Paho subscriber that only counts the same flood.
		paho orchestrator sub --id pb-count --topic 'fota/v1/devices/+/status' \
			--messages "$total" >"$T/count.out" 2>&1 &
		local cnt=$!
		fota_cleanup_pid "$cnt" KILL
		fota_wait_line "$T/count.out" ready 20 || fail "counting subscriber not ready"
		# (Retained statuses of real devices may arrive first; they only make this faster.)
		t0=$(fota_now_ms)
		paho orchestrator flood --id pb-flood --devices "$n" --rounds "$rounds" --window 10 \
			>"$T/flood.out" 2>&1 || fail "flood publisher failed"
		wait "$cnt" || fail "counting subscriber failed"
		t1=$(awk '/^done/ {print $2}' "$T/count.out")
		base+=("$(awk -v m="$total" -v s="$(secs "$t0" "$t1")" 'BEGIN {printf "%.0f", m / s}')")

		st=$T/orch-serve-$r
		mkdir -p "$st"
		# The binary itself in the background (not the fota_orch function, whose subshell
		# would get the signal instead of the orchestrator).
		"$FOTA_ORCH_BIN" --broker "$FOTA_BROKER_URI" --ca "$FOTA_PKI/ca.crt" \
			--cert "$ORCH_CRT" --key "$ORCH_KEYFILE" --state-dir "$st" \
			serve --client-id "bench-serve-$r" >"$st/serve.log" 2>&1 &
		srv=$!
		fota_cleanup_pid "$srv"
		fota_wait_for 20 grep -qi "serving\|subscribed\|ready" "$st/serve.log" ||
			sleep 2
		sleep 0.5
		t0=$(fota_now_ms)
		paho orchestrator flood --id pb-flood --devices "$n" --rounds "$rounds" --window 10 \
			>"$T/flood.out" 2>&1 || fail "flood publisher failed"
		pub+=("$(awk '/^flood/ {sub("msg_s=", "", $4); print $4}' "$T/flood.out")")
		# Until all are recorded, or nothing new for 3 s: the broker drops what overflows
		# the orchestrator's queue (max_queued_messages), and those never arrive.
		local prev=-1 still=0
		t1=$(fota_now_ms)
		while :; do
			lines=$(sqlite3 "$st/orchestrator.db" \
				"SELECT count(*) FROM audit WHERE device LIKE 'sim-%'" 2>/dev/null || true)
			lines=${lines:-0}
			[ "$lines" -ge "$total" ] && { t1=$(fota_now_ms); break; }
			if [ "$lines" -eq "$prev" ]; then
				still=$((still + 1))
				[ "$still" -ge 60 ] && break
			else
				still=0
				prev=$lines
				t1=$(fota_now_ms)
			fi
			sleep 0.05
		done
		ours+=("$(awk -v m="$lines" -v s="$(secs "$t0" "$t1")" 'BEGIN {printf "%.0f", m / s}')")
		kept+=("$(awk -v m="$lines" -v t="$total" 'BEGIN {printf "%.3f", m / t}')")
		fota_stop_pid "$srv" TERM
	done
	out ""
	out "### 6. Orchestrator status ingestion: $n simulated devices x $rounds reports (runs: $RUNS)"
	out ""
	out "Every report is a state change, so each one is parsed, kept and appended to"
	out "the store's audit trail. Messages per second from the first publish to the last one recorded."
	out ""
	out "| what | msgs/s median (min-max) | ratio |"
	out "|---|---|---|"
	out "| fota-orchestrator serve (recorded in the audit trail) | $(fmt "${ours[@]}") | $(ratio "$(median "${ours[@]}")" "$(median "${base[@]}")") |"
	out "| share of the reports the orchestrator recorded (rest dropped by the broker) | $(fmt "${kept[@]}") | |"
	out "| plain Paho subscriber counting the same flood | $(fmt "${base[@]}") | 1.00 |"
	out "| (publisher alone, QoS 1 window 10) | $(fmt "${pub[@]}") | |"
}

out "## FOTA benchmarks $([ "$QUICK" = 1 ] && echo "(quick smoke mode: numbers mean nothing)")"
out ""
out "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo),"
out "$(mosquitto -h 2>/dev/null | sed -n 1p | sed 's/ is an.*//'), $(openssl version | cut -d' ' -f1-2),"
out "$(nginx -v 2>&1 | sed 's/.*: //'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for section in $ONLY; do
	case "$section" in
	transfer | chunks | fixed | fanout | footprint | resume | sweep | orch) "bench_$section" ;;
	*) fail "unknown section $section" ;;
	esac
done
out ""
out "bench: done"
