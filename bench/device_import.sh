#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The cost of registering devices: one `fota-orchestrator device import` of a CSV of N new
# devices (two groups each) with the orchestrator key, as tests/integration/transfer_lib.sh's
# fota_register runs it, against a real Mosquitto with the shipped configuration. Under the
# dynamic-security plugin (dynsec) the import grants each device over $CONTROL, then signs and
# retains its assignment; the baseline is the same import against the ACL-file broker (acl_file:
# no grants, the registry, sequences, signing and publishing alone). Each run has a fresh broker
# and state; the variants alternate. Prints milliseconds per device (median of --runs, with the
# range) and the ratio to the baseline, and the broker's CPU time per device (where the dynsec
# cost goes: the plugin rewrites its whole state file after every command that changes
# something). --compare BIN adds the dynsec import by another fota-orchestrator binary (an
# older build). One Markdown table on stdout (appended to --out FILE).
#
# Usage: bench/device_import.sh [--devices N] [--runs R] [--compare BIN] [--out FILE]
# Default 200 devices, 3 runs. Needs a built tree (FOTA_BUILD, default ./build/release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export FOTA_SRC=${FOTA_SRC:-$(cd "$here/.." && pwd)}
FOTA_BUILD=$(cd "${FOTA_BUILD:-$FOTA_SRC/build/release}" && pwd)
export FOTA_BUILD
N=200 RUNS=3 COMPARE="" OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
	--devices) N=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--compare) COMPARE=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) sed -n '3,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "device_import.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ "$N" =~ ^[1-9][0-9]*$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] ||
	{ echo "device_import.sh: --devices and --runs take positive counts" >&2; exit 2; }
[ -z "$COMPARE" ] || [ -x "$COMPARE" ] || { echo "device_import.sh: $COMPARE is not executable" >&2; exit 2; }

. "$FOTA_SRC/tests/integration/lib.sh"
. "$FOTA_SRC/tests/integration/transfer_lib.sh"

fota_tmpdir W
fota_pki "$W/pki"
CSV=$W/devices.csv
echo "id,groups" >"$CSV"
for i in $(seq 1 "$N"); do echo "reg-$i,lab;north" >>"$CSV"; done
TICK=$(getconf CLK_TCK)

# run NAME ACCESS BIN: one import on a fresh broker; appends "ms_per_device broker_cpu_ms_per_device"
# to $W/NAME.
run() {
	local name=$1 bin=$3 t0 t1 b0 b1 out
	export FOTA_BROKER_ACCESS=$2
	unset FOTA_BROKER_ORCH_PORT # the dynsec listener of a previous run
	fota_tmpdir R
	fota_broker_start "$R/broker"
	export FOTA_ORCH_STATE=$R/orch
	b0=$(awk '{print $14 + $15}' "/proc/$FOTA_BROKER_PID/stat")
	t0=$(date +%s%N)
	out=$(FOTA_ORCH_BIN=$bin fota_orch device import "$CSV" \
		--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" 2>&1) ||
		fail "$name: device import failed: $(tail -3 <<<"$out")"
	t1=$(date +%s%N)
	b1=$(awk '{print $14 + $15}' "/proc/$FOTA_BROKER_PID/stat")
	[ "$(grep -c '^assignment ' <<<"$out")" = "$N" ] || fail "$name: not $N assignments published"
	fota_broker_stop
	echo "$(((t1 - t0) / 1000 / N)) $(((b1 - b0) * 1000000 / TICK / N))" >>"$W/$name"
}

# median COLUMN FILE: "median (min-max)" of microseconds, printed in milliseconds.
median() {
	cut -d' ' -f"$1" "$2" | sort -n | awk '{v[NR] = $1} END {
		printf "%.1f (%.1f-%.1f)", v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000}'
}
med() { cut -d' ' -f1 "$1" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

variants=(acl_file dynsec)
[ -z "$COMPARE" ] || variants+=(compare)
for ((r = 1; r <= RUNS; r++)); do
	for v in "${variants[@]}"; do
		case "$v" in
		acl_file) run acl_file acl_file "$FOTA_ORCH_BIN" ;;
		dynsec) run dynsec dynsec "$FOTA_ORCH_BIN" ;;
		compare) run compare dynsec "$COMPARE" ;;
		esac
		echo "run $r $v: $(tail -1 "$W/$v") (us/device, broker CPU us/device)" >&2
	done
done

base=$(med "$W/acl_file")
{
	echo "device import of $N devices, median of $RUNS runs; $(uptime | sed 's/.*load/load/')"
	echo
	echo "| variant | ms per device | ratio to acl_file | broker CPU ms per device |"
	echo "|---|---|---|---|"
	for v in "${variants[@]}"; do
		label=$v
		[ "$v" != compare ] || label="dynsec, $COMPARE"
		printf '| %s | %s | %s | %s |\n' "$label" "$(median 1 "$W/$v")" \
			"$(awk -v a="$(med "$W/$v")" -v b="$base" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}')" \
			"$(median 2 "$W/$v")"
	done
} | tee -a "${OUT:-/dev/null}"
