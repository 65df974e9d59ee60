#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Probation does not follow the wall clock. The agent first starts on the trial slot with its
# clock 2 days behind (then 2 days ahead), is restarted during the health check once the clock
# is corrected (as NTP does after the network comes up), and must give the check what is left
# of the manifest's confirm timeout: a healthy image is confirmed, a hanging check times out
# after its configured time, not two days later. libfaketime moves only the wall clock here
# (DONT_FAKE_MONOTONIC=1), as a real clock correction does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

fota_require faketime
FAKETIME_LIB=
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -e "$f" ] && FAKETIME_LIB=$f && break
done
[ -n "$FAKETIME_LIB" ] || fail "libfaketime.so.1 not found"
# libfaketime cannot join AddressSanitizer: behind the ASan runtime the agent's hooks (sh)
# hang at start, in front of it the agent aborts. The release pass runs this test.
if fota_sanitized; then
	echo "skipped: libfaketime and AddressSanitizer cannot be preloaded together"
	exit 77
fi
fota_transfer_env

fota_random_image "$T/v1.bin" 1
fota_random_image "$T/v2.bin" 1
fota_random_image "$T/v3.bin" 1
fota_client_conf dev-1 "$T" lab
ab_setup dev-1 "$T" file "$T/v1.bin"
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

# check_budget_ms: what the agent's last health check was given, in ms.
check_budget_ms() {
	local line n
	line=$(grep "health check of slot" "$T/dev-1/client.log" | tail -n 1)
	n=$(sed -n 's/.*(within \([0-9]*\) ms).*/\1/p' <<<"$line")
	[ -n "$n" ] || n=$(($(sed -n 's/.*(within \([0-9]*\) s).*/\1/p' <<<"$line") * 1000))
	echo "$n"
}

# trial VERSION SEQ IMAGE SLOT OFFSET CONFIRM_S VERDICT WANT_STATE
trial() {
	local version=$1 seq=$2 img=$3 slot=$4 offset=$5 confirm=$6 verdict=$7 want=$8 id n
	id=$(fota_image_add "$img" "$version" "$seq" --method ab-slot --reboot \
		--confirm-timeout "$confirm") || fail "image add $version failed"
	ab_publish "$id" "$want" 120 "$T/publish-$version.log"
	ab_wait_reboot dev-1 "$T" 60 || fail "$version: agent never asked to reboot"
	ab_reboot dev-1 "$T" nostart
	ab_eq "$AB_BOOTED" "$slot" "$version: bootloader starts slot $slot on probation"
	# First start on the trial slot with the clock off by OFFSET; the check waits.
	echo wait >"$T/dev-1/health-mode"
	: >"$T/dev-1/health.log"
	LD_PRELOAD=$FAKETIME_LIB FAKETIME=$offset DONT_FAKE_MONOTONIC=1 fota_client_start dev-1 "$T"
	fota_wait_for 20 test -s "$T/dev-1/health.log" || fail "$version: health check never started"
	echo "$version: first start at $offset: $(grep "health check of slot" \
		"$T/dev-1/client.log" | tail -n 1)"
	# The clock is corrected; the agent restarts in the same boot.
	fota_client_kill dev-1 KILL
	echo "$verdict" >"$T/dev-1/health-mode"
	: >"$T/dev-1/health.log"
	fota_client_start dev-1 "$T"
	fota_wait_for 20 test -s "$T/dev-1/health.log" ||
		fail "$version: no health check after the correction ($(tail -n 3 \
			"$T/dev-1/client.log"))"
	n=$(check_budget_ms)
	echo "$version: after the correction the check was given $n ms"
	if [ "$n" -gt 0 ] && [ "$n" -le $((confirm * 1000)) ]; then
		pass "$version ($offset): the check gets at most the confirm timeout ($n ms)"
	else
		fail "$version ($offset): the check was given $n ms, confirm timeout ${confirm} s"
	fi
	fota_wait_state dev-1 "$want" $((confirm + 30)) ||
		fail "$version: no $want (state $(fota_status_field dev-1 state): \
$(fota_status_field dev-1 reason))"
	pass "$version ($offset): $want: $(fota_status_field dev-1 reason)"
	wait "$AB_ORCH" && pass "orchestrator saw $version $want" ||
		{ cat "$T/publish-$version.log" >&2; fail_soft "orchestrator missed $version"; }
}

# 2 days behind at the first start: the healthy image is confirmed, not rolled back at once.
trial 2.0.0 2 "$T/v2.bin" B -2d 60 pass confirmed
ab_eq "$(ab_env dev-1 "$T")" "boot_slot=B upgrade_available=0 bootcount=0 bootlimit=3" \
	"2.0.0: env confirms slot B"
# 2 days ahead at the first start: a hanging check times out after its 8 s, not 2 days.
trial 3.0.0 3 "$T/v3.bin" A +2d 8 hang rolled_back
[[ "$(fota_status_field dev-1 reason)" == *"timed out"*"(confirm timeout)"* ]] &&
	pass "3.0.0: rolled back by the confirm timeout" ||
	fail_soft "3.0.0: reason $(fota_status_field dev-1 reason)"
ab_eq "$(ab_env dev-1 "$T")" "boot_slot=B upgrade_available=0 bootcount=0 bootlimit=3" \
	"3.0.0: env switched back to slot B"
fota_summary
