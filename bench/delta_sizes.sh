#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Patch sizes on real pairs of consecutive Debian package versions: our delta payload (what
# `image add --delta-from` stores) against bsdiff, `zstd -19 --long --patch-from`,
# `xdelta3 -9` and the full image at `zstd -19`, with each tool's apply time and peak RSS.
#
# Usage: bench/delta_sizes.sh [--pairs "libssl3 openssl systemd python3.11-minimal git"] [--keep DIR]
#                              [--payloads-to OUT]
# Each pair is the two newest versions of a package in the configured apt sources (apt-cache
# madison), fetched with apt-get download; its payloads are uncompressed tars of files the
# package installs (dpkg-deb --fsys-tarfile), re-packed in name order with fixed owners and
# times so that only the files' content differs:
#   PACKAGE  the whole package, e.g. libssl3 (libssl.so.3, libcrypto.so.3, engines), openssl
#            (the CLI), systemd (binaries, units, libsystemd-shared), python3.11-minimal (the
#            interpreter), git (44 MiB: bsdiff alone takes about 10 minutes on 2 loaded CPUs)
#   kernel   linux-image-*-amd64 of the two newest linux-image-amd64: vmlinuz and the
#            modules under kernel/drivers/net (83 MiB: bsdiff alone takes over 10 minutes
#            on 2 loaded CPUs, so it is not in the default list)
# Needs a built tree (FOTA_BUILD, default ./build; RelWithDebInfo or Release), and installs
# bsdiff, xdelta3 and zstd with apt-get if missing. Downloads are kept in DIR (--keep, default
# ${TMPDIR:-/tmp}/fota-delta-sizes) and reused. Every applied output is compared with the new
# image; the tables are Markdown on stdout. Nothing is asserted: the ratios are printed.
# --payloads-to OUT only writes each pair's payloads as OUT/PAIR.old and OUT/PAIR.new and
# prints "PAIR OLD_VERSION NEW_VERSION" (bench/slow_link.sh takes its images from there).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
FOTA_SRC=${FOTA_SRC:-$(cd "$BENCH_DIR/.." && pwd)}
FOTA_BUILD=${FOTA_BUILD:-$FOTA_SRC/build}
PAIRS="libssl3 openssl systemd python3.11-minimal git"
CACHE=${TMPDIR:-/tmp}/fota-delta-sizes
PAYLOADS_TO=""
while [ $# -gt 0 ]; do
	case "$1" in
	--pairs) PAIRS=$2; shift 2 ;;
	--keep) CACHE=$2; shift 2 ;;
	--payloads-to) PAYLOADS_TO=$2; shift 2 ;;
	-h | --help) sed -n '4,24s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "delta_sizes.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
TOOL=$FOTA_BUILD/bench/delta_apply_rss
[ -n "$PAYLOADS_TO" ] || [ -x "$TOOL" ] || { echo "delta_sizes.sh: build $TOOL first" >&2; exit 2; }

need=()
command -v bsdiff >/dev/null || need+=(bsdiff)
command -v xdelta3 >/dev/null || need+=(xdelta3)
command -v zstd >/dev/null || need+=(zstd)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	apt-get -o DPkg::Lock::Timeout=300 install -y "${need[@]}" >&2
fi
mkdir -p "$CACHE"
W=$(mktemp -d "${TMPDIR:-/tmp}/fota-delta-sizes.XXXXXX")
trap 'rm -rf "$W"' EXIT

# newest2 PKG: the two newest versions of PKG the apt sources offer, oldest first.
newest2() {
	apt-cache madison "$1" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -u |
		sort -V | tail -n 2
}

# fetch PKG VERSION: the .deb's path in the cache (downloaded once).
fetch() {
	local f
	f=$(ls "$CACHE/$1_${2/:/%3a}_"*.deb 2>/dev/null | sed -n 1p || true)
	if [ -z "$f" ]; then
		(cd "$CACHE" && apt-get download "$1=$2" >&2)
		f=$(ls "$CACHE/$1_${2/:/%3a}_"*.deb | sed -n 1p)
	fi
	echo "$f"
}

# payload DEB OUT [PATTERN...]: an uncompressed tar of the package's files (those matching
# the patterns, all without), in name order with fixed owners and times.
payload() {
	local deb=$1 out=$2 d
	shift 2
	d=$(mktemp -d "$W/x.XXXXXX")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$d" --wildcards "$@"
	tar -C "$d" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out" .
	rm -rf "$d"
}

# pair NAME: writes $W/NAME.old and $W/NAME.new and prints "OLDVER NEWVER".
pair() {
	local pkg vers old new
	case "$1" in
	kernel)
		mapfile -t vers < <(newest2 linux-image-amd64)
		[ ${#vers[@]} = 2 ] || { echo "delta_sizes.sh: fewer than two kernels" >&2; return 1; }
		for i in 0 1; do
			pkg=$(apt-cache show "linux-image-amd64=${vers[$i]}" |
				sed -n 's/^Depends: *\(linux-image-[^ ,]*\).*/\1/p' | sed -n 1p)
			[ $i = 0 ] && old=$pkg || new=$pkg
		done
		payload "$(fetch "$old" "${vers[0]}")" "$W/kernel.old" './boot/vmlinuz-*' \
			'./lib/modules/*/kernel/drivers/net/*'
		payload "$(fetch "$new" "${vers[1]}")" "$W/kernel.new" './boot/vmlinuz-*' \
			'./lib/modules/*/kernel/drivers/net/*'
		echo "${vers[0]} ${vers[1]}"
		;;
	*)
		mapfile -t vers < <(newest2 "$1")
		[ ${#vers[@]} = 2 ] || { echo "delta_sizes.sh: fewer than two versions of $1" >&2; return 1; }
		payload "$(fetch "$1" "${vers[0]}")" "$W/$1.old"
		payload "$(fetch "$1" "${vers[1]}")" "$W/$1.new"
		echo "${vers[0]} ${vers[1]}"
		;;
	esac
}

# timed OUTFILE CMD...: runs CMD, prints "SECONDS PEAK_RSS_KIB"; OUTFILE gets its stdout.
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/time" "$@" >"$out" 2>"$W/stderr" ||
		{ cat "$W/stderr" >&2; return 1; }
	cat "$W/time"
}

# same A B WHAT: the applied output must be the new image.
same() {
	cmp -s "$1" "$2" || { echo "delta_sizes.sh: $3 did not rebuild the new image" >&2; exit 1; }
}

mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
sz() { stat -c %s "$1"; }

if [ -n "$PAYLOADS_TO" ]; then
	mkdir -p "$PAYLOADS_TO"
	for p in $PAIRS; do
		read -r v_old v_new < <(pair "$p") || true
		[ -n "${v_new:-}" ] || { echo "delta_sizes.sh: pair $p could not be built" >&2; exit 1; }
		mv "$W/$p.old" "$W/$p.new" "$PAYLOADS_TO/"
		echo "$p $v_old $v_new"
	done
	exit 0
fi

SIZES="| pair | versions | base MiB | new MiB | ours KiB | bsdiff KiB | zstd -19 --long --patch-from KiB | xdelta3 -9 KiB | full zstd -19 KiB | ours / min(bsdiff, zstd) | ours / xdelta3 |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
APPLY="| pair | ours s / MiB | bspatch s / MiB | zstd --patch-from -d s / MiB | xdelta3 -d s / MiB | zstd -d (full) s / MiB | ours make s |
|---|---|---|---|---|---|---:|"
for p in $PAIRS; do
	echo "pair $p: fetching" >&2
	read -r v_old v_new < <(pair "$p") || true
	[ -n "${v_new:-}" ] || { echo "delta_sizes.sh: pair $p could not be built" >&2; exit 1; }
	o=$W/$p.old n=$W/$p.new
	nsize=$(sz "$n")
	nsha=$(sha256sum "$n" | cut -d' ' -f1)
	echo "pair $p: $v_old -> $v_new, $(mib "$(sz "$o")") -> $(mib "$nsize") MiB" >&2

	# Ours: the payload image add stores, applied through the agent's decode chain.
	read -r ours_make _ < <(timed /dev/null "$TOOL" diff "$o" "$n" "$W/ours.zst")
	read -r ours_t ours_m < <(timed "$W/ours.log" "$TOOL" patch "$o" "$W/ours.zst" "$W/out" \
		"$nsize" "$nsha")
	same "$W/out" "$n" ours
	# bsdiff
	timed /dev/null bsdiff "$o" "$n" "$W/bs.patch" >/dev/null
	read -r bs_t bs_m < <(timed /dev/null bspatch "$o" "$W/out" "$W/bs.patch")
	same "$W/out" "$n" bspatch
	# zstd --patch-from (--long=31 on the decoder only lifts its limit; the frame sets the window)
	timed /dev/null zstd -q -f -19 --long --patch-from="$o" "$n" -o "$W/zp.zst" >/dev/null
	read -r zp_t zp_m < <(timed /dev/null zstd -q -f -d --long=31 --patch-from="$o" \
		"$W/zp.zst" -o "$W/out")
	same "$W/out" "$n" "zstd --patch-from"
	# xdelta3
	timed /dev/null xdelta3 -f -9 -e -s "$o" "$n" "$W/xd.vcdiff" >/dev/null
	read -r xd_t xd_m < <(timed /dev/null xdelta3 -f -d -s "$o" "$W/xd.vcdiff" "$W/out")
	same "$W/out" "$n" xdelta3
	# the full image
	timed /dev/null zstd -q -f -19 "$n" -o "$W/full.zst" >/dev/null
	read -r fz_t fz_m < <(timed /dev/null zstd -q -f -d "$W/full.zst" -o "$W/out")
	same "$W/out" "$n" "zstd -d"

	ours=$(sz "$W/ours.zst") bs=$(sz "$W/bs.patch") zp=$(sz "$W/zp.zst")
	xd=$(sz "$W/xd.vcdiff") fz=$(sz "$W/full.zst")
	best=$((bs < zp ? bs : zp))
	SIZES+="
| $p | $v_old -> $v_new | $(mib "$(sz "$o")") | $(mib "$nsize") | $(kib "$ours") | $(kib "$bs") | $(kib "$zp") | $(kib "$xd") | $(kib "$fz") | $(awk -v a="$ours" -v b="$best" 'BEGIN { printf "%.3f", a / b }') | $(awk -v a="$ours" -v b="$xd" 'BEGIN { printf "%.3f", a / b }') |"
	m() { awk -v k="$2" -v t="$1" 'BEGIN { printf "%.2f / %.1f", t, k / 1024 }'; }
	APPLY+="
| $p | $(m "$ours_t" "$ours_m") | $(m "$bs_t" "$bs_m") | $(m "$zp_t" "$zp_m") | $(m "$xd_t" "$xd_m") | $(m "$fz_t" "$fz_m") | $ours_make |"
	echo "pair $p: ours $(cat "$W/ours.log")" >&2
	rm -f "$o" "$n" "$W"/*.zst "$W"/*.patch "$W"/*.vcdiff "$W/out"
done
echo "### Patch sizes"
echo
echo "$SIZES"
echo
echo "### Apply: time and peak RSS of the whole process (/usr/bin/time)"
echo
echo "$APPLY"
echo
echo "$(nproc) CPUs, load before the last pair: $(cut -d' ' -f1-3 /proc/loadavg); $(zstd -V | sed -n 1p); xdelta3 $(xdelta3 -V 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p' | sed -n 1p); bsdiff $(dpkg-query -W -f='${Version}' bsdiff)"
