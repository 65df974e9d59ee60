#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/pid-space.sh keeps the README's promise: run as root, it raises kernel.pid_max to
# 4194304 when it is lower. Checked on files standing in for /proc/sys/kernel/pid_max:
# - from 32768 it raises the limit and says so;
# - at the limit or above it changes nothing and is silent;
# - where it cannot write it leaves the value and names the sysctl command on stderr;
# - the run goes on in every case (exit 0).
#
# Usage: tests/unit/pid_space.sh SOURCE_DIR
set -euo pipefail
script=$1/tests/pid-space.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failed=0
check() {
	local what=$1
	shift
	if "$@"; then echo "PASS: $what"; else echo "FAIL: $what"; failed=$((failed + 1)); fi
}
# run FILE: the script with FILE as pid_max, its output in $dir/out and $dir/err.
run() { FOTA_PID_MAX_FILE=$1 bash "$script" >"$dir/out" 2>"$dir/err"; }
value_is() { [ "$(cat "$1")" = "$2" ]; }
silent() { [ ! -s "$dir/out" ] && [ ! -s "$dir/err" ]; }

if [ "$(id -u)" -eq 0 ]; then
	echo 32768 >"$dir/pid_max"
	check "runs with 32768" run "$dir/pid_max"
	check "raises it to 4194304" value_is "$dir/pid_max" 4194304
	check "says so: $(cat "$dir/out")" grep -qF "raised from 32768 to 4194304" "$dir/out"
else
	echo "not root: the raise itself is not checked"
fi
for v in 4194304 8388608; do
	echo "$v" >"$dir/pid_max"
	check "runs at $v" run "$dir/pid_max"
	check "leaves $v" value_is "$dir/pid_max" "$v"
	check "is silent at $v" silent
done
# A read-only kernel setting below the limit, which root cannot write either (65536).
ro=/proc/sys/kernel/ngroups_max
if [ -r "$ro" ] && [ "$(cat "$ro")" -lt 4194304 ]; then
	before=$(cat "$ro")
	check "runs where it cannot write" run "$ro"
	check "leaves the value" value_is "$ro" "$before"
	check "names the sysctl command: $(cat "$dir/err")" \
		grep -qF "sysctl -w kernel.pid_max=4194304" "$dir/err"
else
	echo "no read-only stand-in ($ro): the refusal is not checked"
fi
[ "$failed" -eq 0 ] || { echo "FAIL: $failed check(s)"; exit 1; }
echo "PASS: pid-space"
