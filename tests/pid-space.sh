#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes sure process IDs do not wrap around during a test or bench run: raises
# kernel.pid_max to 4194304 (what systemd sets on 64-bit machines) when it is lower and we may.
#
# Why: the suite and the benches start tens of thousands of processes (a 200-device fan-out
# alone starts a thousand), and with the kernel's fallback of 32768 the IDs wrap within a run.
# The harness then meets reused IDs: a stop registered by PID reaches a stranger (lib.sh now
# also checks the start time), and bash 5.2 itself was seen waiting forever for a `grep` that
# had exited under an ID an earlier background job had held. Run as root it raises the limit;
# otherwise it says what to run. FOTA_PID_MAX_FILE names another file than
# /proc/sys/kernel/pid_max (tests/unit/pid_space.sh checks this script on a file of its own).
want=4194304
file=${FOTA_PID_MAX_FILE:-/proc/sys/kernel/pid_max}
have=$(cat "$file" 2>/dev/null || echo "$want")
[ "$have" -ge "$want" ] && exit 0
if [ "$(id -u)" -eq 0 ] && { echo "$want" >"$file"; } 2>/dev/null; then
	echo "pid-space: kernel.pid_max raised from $have to $want (process IDs would wrap during the run)"
else
	echo "pid-space: kernel.pid_max is $have: process IDs may wrap during the run, which the" \
		"harness copes with but bash can hang on; as root: sysctl -w kernel.pid_max=$want" >&2
fi
exit 0
