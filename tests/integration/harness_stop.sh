#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The harness's process stops (lib.sh): a PID is signalled only while it still names the
# process that was started (PIDs are reused, pid_max may be 32768, and a test's cleanup runs
# long after its processes started, beside other tests), and a child that ignores its signal is
# killed and reported rather than waited for without end. No broker: plain processes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fota_tmpdir T

sleep 60 &
a=$!
a_start=$(fota_pid_start "$a")
[ -n "$a_start" ] && pass "start time of a running child read" || fail "no start time for $a"
[ -z "$(fota_pid_start 0)" ] && pass "no start time for a PID no process has" ||
	fail "a start time for PID 0"

sleep 60 &
b=$!
# b's PID with a's start time is what a PID reused since its registration looks like.
fota_stop_pid "$b" TERM "$a_start"
kill -0 "$b" 2>/dev/null && pass "a PID now naming another process is not signalled" ||
	fail "fota_stop_pid signalled a process its start time does not name"
FOTA_STOP_WAIT_S=1 fota_stop_wait "$b" TERM "sleep b" "" "$a_start" &&
	kill -0 "$b" 2>/dev/null && pass "fota_stop_wait leaves such a PID alone too" ||
	fail "fota_stop_wait signalled a process its start time does not name"
fota_stop_pid "$b" TERM "$(fota_pid_start "$b")"
kill -0 "$b" 2>/dev/null && fail "the named process still runs after fota_stop_pid" ||
	pass "the process its PID and start time name is stopped"

# fota_cleanup_pid registers nothing for a process already gone (its PID is free for others).
n=${#FOTA__CLEANUP[@]}
fota_cleanup_pid "$b"
[ "${#FOTA__CLEANUP[@]}" -eq "$n" ] && pass "no cleanup registered for a process already gone" ||
	fail "a cleanup registered for a process already gone: ${FOTA__CLEANUP[*]: -1}"

# A child that ignores SIGTERM (ignored signals stay ignored across exec).
bash -c 'trap "" TERM; exec sleep 60' &
c=$!
sleep 0.2
if FOTA_STOP_WAIT_S=1 fota_stop_wait "$c" TERM "stubborn child" "" "$(fota_pid_start "$c")" \
	2>"$T/err"; then
	fail "fota_stop_wait said a child that ignores SIGTERM ended"
else
	grep -q "stubborn child (pid $c) still ran 1 s after SIGTERM: killed" "$T/err" &&
		pass "a child that ignores its signal is killed and named" ||
		fail "no report naming the child: $(cat "$T/err")"
fi
kill -0 "$c" 2>/dev/null && fail "the stubborn child still runs" || pass "and it is gone"

fota_stop_pid "$a" TERM "$a_start"
kill -0 "$a" 2>/dev/null && fail "child a still runs" || pass "child a stopped"
fota_summary
