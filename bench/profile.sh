#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Profiles one single-device transfer: the client and the orchestrator run under a profiler.
#
# Usage: bench/profile.sh [callgrind|perf] [MiB] [OUTDIR]
# callgrind (default, 16 MiB): exact instruction counts, user space only, ~50x slower.
# perf (64 MiB): `perf record -e cpu-clock -g` samples, native speed, kernel included; a
# software clock because virtual machines often expose no hardware counters.
# Runs bench/run.sh --only sweep for one cell (64 KiB chunks, window 8, --rate 0) with the
# binaries wrapped; prints the top functions of each profile.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
TOOL=${1:-callgrind}
MIB=${2:-}
OUTDIR=${3:-$(mktemp -d "${TMPDIR:-/tmp}/fota-prof.XXXXXXXX")}
export FOTA_SRC=${FOTA_SRC:-$(cd "$BENCH_DIR/.." && pwd)}
export FOTA_BUILD=${FOTA_BUILD:-$FOTA_SRC/build}
mkdir -p "$OUTDIR"

case "$TOOL" in
callgrind)
	MIB=${MIB:-16}
	runner="valgrind --tool=callgrind --callgrind-out-file=$OUTDIR/%s.callgrind.%%p"
	;;
perf)
	MIB=${MIB:-64}
	runner="perf record -q -e cpu-clock -g -o $OUTDIR/%s.perf.\$\$"
	;;
*) echo "profile.sh: unknown tool $TOOL" >&2; exit 2 ;;
esac

# A wrapper per binary, so that the harness starts them under the profiler unchanged.
wrap() {
	local name=$1 bin=$2
	# shellcheck disable=SC2059
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$(printf "$runner" "$name")" "$bin" \
		>"$OUTDIR/$name"
	chmod +x "$OUTDIR/$name"
}
wrap client "$FOTA_BUILD/client/fota-client"
wrap orchestrator "$FOTA_BUILD/orchestrator/fota-orchestrator"

FOTA_CLIENT_BIN=$OUTDIR/client FOTA_ORCH_BIN=$OUTDIR/orchestrator FOTA_BENCH_SWEEP_MIB=$MIB \
	FOTA_BENCH_SWEEP_PAIRS=64x8 "$BENCH_DIR/run.sh" --only sweep --runs 1 --fanout 1 >"$OUTDIR/run.md"

# The largest profile of each binary is the transfer (the others are image add, idle starts).
for name in client orchestrator; do
	f=$(ls -S "$OUTDIR/$name".* 2>/dev/null | sed -n 1p)
	[ -n "$f" ] || continue
	echo "== $name: $f"
	if [ "$TOOL" = callgrind ]; then
		callgrind_annotate --inclusive=no "$f" 2>/dev/null | sed -n '1,40p'
	else
		perf report -i "$f" --stdio --no-children --sort dso,symbol 2>/dev/null |
			grep -E '^ +[0-9]' | sed -n 1,30p
	fi
done
