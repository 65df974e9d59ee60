#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Power loss, not kill -9: a killed process keeps the page cache, so it never loses a write that
# was not synced; a power cut does. This test records every file-system call the agent,
# fw_setenv and the bootloader emulator make on the device's files during one whole A/B update
# (download into the slot, switch, reboot, probation, confirm), then builds every distinct file
# state a power cut after any call could leave (fota_crashsim: only synced data and synced
# directory entries are guaranteed; unsynced writes may be lost, kept, reordered or torn) and
# powers the device on in each: the bootloader must find a slot holding a whole, known image
# that the journal accounts for, the journal must parse, every chunk the receive checkpoint
# marks present must be in the slot, and the agent must come up on it.
# Quick by default (FOTA_CRASH_STATES states spread over the update, 40);
# FOTA_CRASH_FULL=1 checks every distinct state.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

TOOLS=$FOTA_BUILD/tests/tools
FSTRACE=$TOOLS/libfota_fstrace.so
CRASHSIM=$TOOLS/fota_crashsim
[ -e "$FSTRACE" ] && [ -x "$CRASHSIM" ] || fail "build fota_fstrace and fota_crashsim first"

fota_transfer_env
D=$T/dev-1
fota_random_image "$T/v1.bin" 1
fota_random_image "$T/v2.bin" 1
fota_client_conf dev-1 "$T" lab sync_chunks=4
# A redundant U-Boot environment, as docs/install.md requires: with a single copy a torn env
# write is a CRC mismatch and U-Boot's built-in defaults decide.
AB_UBOOT_REDUNDANT=1 ab_setup dev-1 "$T" uboot "$T/v1.bin"
declare -A VERSION_OF=(["$(sha256sum <"$T/v1.bin" | cut -d' ' -f1)"]=1.0.0
	["$(sha256sum <"$T/v2.bin" | cut -d' ' -f1)"]=2.0.0)
IMAGE_BYTES=$(stat -c %s "$T/v1.bin")

# The device once online (state folder made), then powered off: the snapshot the trace
# starts from.
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
fota_client_kill dev-1 KILL
cp -a "$D" "$T/snapshot"

id=$(fota_image_add "$T/v2.bin" 2.0.0 2 --method ab-slot --reboot --confirm-timeout 60) ||
	fail "image add"
fota_orch_bg "$T/publish.log" publish "$id" --group lab \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate 1048576 --serve --timeout 900

# 1. One whole update, every call on the device's files recorded.
export FOTA_FSTRACE_ROOT=$D FOTA_FSTRACE_LOG=$T/trace LD_PRELOAD=$FSTRACE
fota_client_start dev-1 "$T"
ab_wait_reboot dev-1 "$T" 60 || fail "the agent never asked for the reboot into 2.0.0"
ab_reboot dev-1 "$T"
fota_wait_for 60 fota__state_is dev-1 confirmed || fail "2.0.0 was not confirmed"
probation_over() {
	[ "$(jq -r '.probation.phase // "none"' "$D/state/journal.json")" = none ]
}
fota_wait_for 10 probation_over || fail "probation did not end"
fota_client_kill dev-1 KILL
unset LD_PRELOAD FOTA_FSTRACE_ROOT FOTA_FSTRACE_LOG
calls=$("$CRASHSIM" count "$T/trace")
syncs=$("$CRASHSIM" list "$T/trace" | grep -c ' fsync ' || true)
pass "update traced: $calls file-system calls, $syncs of them fsync/fdatasync"

# 2. Every distinct crash state (4 fixed modes and 2 random ones per call).
"$CRASHSIM" enumerate "$T/trace" "$T/snapshot" 2 >"$T/states"
distinct=$(wc -l <"$T/states")
if [ "${FOTA_CRASH_FULL:-0}" = 1 ]; then
	cp "$T/states" "$T/chosen"
else
	want=${FOTA_CRASH_STATES:-40}
	awk -v n="$distinct" -v w="$want" 'n <= w || (NR - 1) % int(n / w) == 0' "$T/states" |
		head -n "$want" >"$T/chosen"
fi
echo "$distinct distinct crash states; checking $(wc -l <"$T/chosen")"

# known_slot WHAT: the slot the bootloader picked holds a whole image we published, and the
# one the journal says runs there.
known_slot() {
	local what=$1 journal got want
	journal=$(cat "$D/state/journal.json" 2>/dev/null || echo '{}')
	jq -e . <<<"$journal" >/dev/null || { fail_soft "$what: journal does not parse"; return 1; }
	got=$(ab_slot_sha dev-1 "$T" "$AB_BOOTED" "$IMAGE_BYTES")
	if [ "$(jq -r '.probation.slot // empty' <<<"$journal")" = "$AB_BOOTED" ]; then
		want=$(jq -r '.probation.sha256' <<<"$journal")
	else
		want=$(jq -r '.installed_sha256 // empty' <<<"$journal")
		[ -n "$want" ] || want=$(sha256sum <"$T/v1.bin" | cut -d' ' -f1)
	fi
	if [ -z "${VERSION_OF[$got]:-}" ]; then
		fail_soft "$what: slot $AB_BOOTED holds no whole published image ($(ab_env dev-1 "$T"))"
		return 1
	fi
	if [ "$got" != "$want" ]; then
		fail_soft "$what: slot $AB_BOOTED holds ${VERSION_OF[$got]}, the journal expects" \
			"${VERSION_OF[$want]:-$want} ($(ab_env dev-1 "$T"))"
		return 1
	fi
}

checked=0
bad=0
while read -r cut mode digest; do
	what="state $cut/$calls $mode"
	rm -rf "$D"
	mkdir "$D"
	rc=0
	got=$("$CRASHSIM" make "$T/trace" "$T/snapshot" "$D" "$cut" "$mode" 2>"$T/make.err") ||
		rc=$?
	if [ "$rc" = 4 ]; then
		# A file the agent synced, lost because a directory above it was never synced.
		fail_soft "$what: $(cat "$T/make.err")"
		bad=$((bad + 1))
	elif [ "$rc" != 0 ]; then
		fail "$what: could not be built: $(cat "$T/make.err")"
	fi
	[ "$got" = "$digest" ] || fail "$what: built with digest $got, enumerated as $digest"
	rm -f "$D/reboot-requested"
	# Power on: the bootloader, then the agent.
	if ! AB_BOOTED=$(ab_bootsim dev-1 "$T" boot 2>"$T/boot.err"); then
		fail_soft "$what: the bootloader found no valid environment: $(cat "$T/boot.err")"
		bad=$((bad + 1))
		continue
	fi
	known_slot "$what, power-on" || { bad=$((bad + 1)); continue; }
	# No chunk marked present that is not in the target slot (damaged bitmaps are discarded
	# by the agent: exit 3 is fine).
	for bm in "$D"/state/transfer/*.bitmap; do
		[ -e "$bm" ] || continue
		rc=0
		out=$("$CRASHSIM" checkpoint "$bm" "$D/slots/B.img" "$T/v2.bin") || rc=$?
		if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
			fail_soft "$what: checkpoint: $out"
			bad=$((bad + 1))
			continue 2
		fi
	done
	: >"$D/client.log"
	fota_client_start dev-1 "$T"
	if ! fota_wait_line "$D/client.log" "connected as dev-1" 15; then
		fail_soft "$what: the agent did not come up: $(tail -n 5 "$D/client.log")"
		bad=$((bad + 1))
		fota_client_kill dev-1 KILL
		continue
	fi
	sleep 1
	if ! kill -0 "${FOTA_CLIENT_PIDS[dev-1]}" 2>/dev/null; then
		fail_soft "$what: the agent exited: $(tail -n 5 "$D/client.log")"
		bad=$((bad + 1))
		continue
	fi
	# Whatever recovery it started (switching back, resuming), a cut now must still boot.
	fota_client_kill dev-1 KILL
	rm -f "$D/reboot-requested"
	AB_BOOTED=$(ab_bootsim dev-1 "$T" boot 2>"$T/boot.err") ||
		{ fail_soft "$what: no valid environment after recovery"; bad=$((bad + 1)); continue; }
	known_slot "$what, after the agent's recovery" || { bad=$((bad + 1)); continue; }
	checked=$((checked + 1))
done <"$T/chosen"
check "$checked crash states of $distinct distinct (from $calls calls) boot a verified slot the \
journal accounts for, and the agent comes up on each" [ "$bad" -eq 0 ]
fota_summary
