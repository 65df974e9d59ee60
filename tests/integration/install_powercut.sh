#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Power cuts during A/B updates (U-Boot env, real fw_setenv). The agent is killed with -9 at
# random moments while it writes the inactive slot and switches, and at every named state
# boundary (FOTA_CLIENT_CRASH_AT). After each cut the emulated bootloader must find a bootable
# image whose bytes match what the agent's journal says runs there, and the agent must recover
# to a consistent end (confirmed, or a clean rolled_back), never a half-written active slot.
# Quick by default (20 random cuts); FOTA_POWERCUT_FULL=1 for 200 random cuts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/install_lib.sh"

if [ "${FOTA_POWERCUT_FULL:-0}" = 1 ]; then KILLS=200; else KILLS=${FOTA_KILLS:-20}; fi
fota_transfer_env

fota_random_image "$T/v1.bin" 1
fota_client_conf dev-1 "$T" lab sync_chunks=4
ab_setup dev-1 "$T" uboot "$T/v1.bin"
SEQ=1
declare -A SHA_OF=(["$(sha256sum <"$T/v1.bin" | cut -d' ' -f1)"]=1.0.0)
declare -A SIZE_OF=(["1.0.0"]=$(stat -c %s "$T/v1.bin"))

# cut_check WHAT: after a power cut (agent dead): boot, then check the booted slot holds a
# whole, known image, and one the journal accounts for.
cut_check() {
	local what=$1 env slot size want got journal
	rm -f "$T/dev-1/reboot-requested"
	AB_BOOTED=$(ab_bootsim dev-1 "$T" boot) || fail "$what: bootloader found no valid env"
	slot=$AB_BOOTED
	env=$(ab_env dev-1 "$T")
	journal=$(cat "$T/dev-1/state/journal.json" 2>/dev/null || echo '{}')
	# What may run in slot: the confirmed image, or the image on trial in that slot.
	if [ "$(jq -r '.probation.slot // empty' <<<"$journal")" = "$slot" ]; then
		want=$(jq -r '.probation.sha256' <<<"$journal")
	else
		want=$(jq -r '.installed_sha256 // empty' <<<"$journal")
		[ -n "$want" ] || want=$(sha256sum <"$T/v1.bin" | cut -d' ' -f1)
	fi
	size=${SIZE_OF[${SHA_OF[$want]:-?}]:-0}
	got=$(ab_slot_sha dev-1 "$T" "$slot" "$size")
	if [ "$size" != 0 ] && [ "$got" = "$want" ]; then
		pass "$what: boots slot $slot holding ${SHA_OF[$want]} (verified), $env"
	else
		fail_soft "$what: slot $slot holds $got, expected ${SHA_OF[$want]:-unknown} $want ($env)"
	fi
}

# settle_update WANT...: with the agent running, follows reboots until the update ends in one
# of the states; then checks journal and slot agree.
settle_update() {
	local end=$((SECONDS + 120)) st
	while [ "$SECONDS" -lt "$end" ]; do
		if [ -e "$T/dev-1/reboot-requested" ]; then
			fota_client_kill dev-1 KILL
			cut_check "reboot"
			fota_client_start dev-1 "$T"
		fi
		st=$(jq -r '.probation.phase // "none"' "$T/dev-1/state/journal.json" 2>/dev/null || true)
		# The outcome is in the history, or, when the cut came between the journal save
		# that ended the update and the history line, in the journal's kept outcome.
		outcome=$(grep -o "\"version\":\"$VERSION\"[^}]*\"outcome\":\"[a-z_]*\",\"reason\":\"[^\"]*" \
			"$T/dev-1/state/history.jsonl" 2>/dev/null | tail -n 1 |
			sed 's/.*"outcome":"\([a-z_]*\)","reason":"\(.*\)/\1 \2/' || true)
		[ -n "$outcome" ] || outcome=$(jq -r --arg id "${VERSION_SHA:0:16}" \
			'select(.outcome.image_id == $id) | "\(.outcome.state) \(.outcome.reason)"' \
			"$T/dev-1/state/journal.json" 2>/dev/null || true)
		if [ "$st" = none ] && [[ " $* " == *" ${outcome%% *} "* ]] &&
			[ ! -e "$T/dev-1/reboot-requested" ]; then
			pass "update $VERSION ended $outcome"
			return 0
		fi
		sleep 0.3
	done
	fail "update did not settle (state $(fota_status_field dev-1 state), journal $(cat \
		"$T/dev-1/state/journal.json"))"
}

# stop_publisher: the orchestrator's client id is fixed, so a publisher still alive would take
# over the session of the next one: stop it and wait until it is gone.
stop_publisher() {
	fota_stop_wait "$PUB" TERM "the publisher" || fail "the publisher did not end on SIGTERM"
}

# new_update MIB RATE: adds and publishes the next image (no waiting); version in VERSION.
new_update() {
	local img id
	SEQ=$((SEQ + 1))
	VERSION=$SEQ.0.0
	img=$T/v$SEQ.bin
	fota_random_image "$img" "$1"
	VERSION_SHA=$(sha256sum <"$img" | cut -d' ' -f1)
	SHA_OF[$VERSION_SHA]=$VERSION
	SIZE_OF[$VERSION]=$(stat -c %s "$img")
	id=$(fota_image_add "$img" "$VERSION" "$SEQ" --method ab-slot --reboot \
		--confirm-timeout 60) || fail "image add $VERSION"
	fota_orch_bg "$T/publish-$VERSION.log" publish "$id" --group lab \
		--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate "$2" --serve --timeout 300
	PUB=$FOTA_ORCH_PID
}

# slot_progress: how many 64 KiB chunks of the image being installed its target slot holds.
slot_progress() {
	local to img=$T/v$SEQ.bin n=0 i count
	to=$(jq -r 'if .slot == "B" then "A" else "B" end' "$T/dev-1/state/journal.json")
	count=$((($(stat -c %s "$img") + 65535) / 65536))
	for ((i = 0; i < count; i++)); do
		[ "$(dd if="$T/dev-1/slots/$to.img" bs=65536 skip=$i count=1 2>/dev/null | md5sum)" = \
			"$(dd if="$img" bs=65536 skip=$i count=1 2>/dev/null | md5sum)" ] && n=$((n + 1))
	done
	echo "$to has $n/$count chunks of $VERSION"
}

fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"

# 1. Random cuts while the image streams into the inactive slot and the switch is made.
k=0
while [ "$k" -lt "$KILLS" ]; do
	new_update 2 262144
	fota_wait_line "$T/dev-1/client.log" "accepted: firmware $VERSION" 30 ||
		fail "$VERSION never accepted"
	while [ "$k" -lt "$KILLS" ]; do
		sleep "0.$((RANDOM % 4 + 1))$((RANDOM % 10))"
		last=$(grep -o 'info: [a-z_]*' "$T/dev-1/client.log" | tail -n 1 | cut -c7-)
		[ -e "$T/dev-1/reboot-requested" ] && last="$last (reboot requested)"
		fota_client_kill dev-1 KILL
		k=$((k + 1))
		echo "cut $k/$KILLS during $VERSION: slot $(slot_progress), last logged: $last"
		cut_check "cut $k"
		fota_client_start dev-1 "$T"
		st=$(jq -r '.probation.phase // "none"' "$T/dev-1/state/journal.json")
		if [ "$st" = none ] && { [ "$(jq -r .installed_version \
			"$T/dev-1/state/journal.json")" = "$VERSION" ] || grep -Eq \
			"\"version\":\"$VERSION\"[^}]*\"outcome\":\"(rolled_back|failed)\"" \
			"$T/dev-1/state/history.jsonl" 2>/dev/null; }; then
			break
		fi
	done
	settle_update confirmed rolled_back failed
	stop_publisher
done
pass "$KILLS random power cuts during slot writes and switches"

# 2. A cut at every state boundary and every step of the switch.
POINTS=${FOTA_POWERCUT_POINTS:-"downloaded verifying installing arming armed switched rebooting
	reboot testing confirming confirmed rolling_back rolled_back"}
for point in $POINTS; do
	if [ "$point" = rolling_back ] || [ "$point" = rolled_back ]; then
		echo fail >"$T/dev-1/health-mode"
	else
		echo pass >"$T/dev-1/health-mode"
	fi
	fota_client_kill dev-1 KILL
	export FOTA_CLIENT_CRASH_AT=$point
	fota_client_start dev-1 "$T"
	crashes=$(grep -c "crash point '$point'" "$T/dev-1/client.log" || true)
	new_update 1 8388608
	end=$((SECONDS + 60))
	until [ "$(grep -c "crash point '$point'" "$T/dev-1/client.log" || true)" -gt "$crashes" ]; do
		[ "$SECONDS" -lt "$end" ] || { tail -n 30 "$T/dev-1/client.log"; fail \
			"$point: crash point never reached"; }
		if [ -e "$T/dev-1/reboot-requested" ]; then
			fota_client_kill dev-1 KILL
			cut_check "reboot before $point"
			fota_client_start dev-1 "$T"
		fi
		sleep 0.1
	done
	unset FOTA_CLIENT_CRASH_AT
	fota_client_kill dev-1 KILL
	echo "cut at '$point' during $VERSION"
	cut_check "cut at $point"
	fota_client_start dev-1 "$T"
	settle_update confirmed rolled_back
	stop_publisher
	cut_check "after recovery from $point"
	if [ "$point" = confirmed ]; then
		# Cut after the commit, before the report went out: the journal kept the outcome.
		# The retained status may briefly be the killed run's last will ("offline"): the
		# agent republishes 2 s after connecting, so allow a few seconds.
		fota_wait_for 10 fota__state_is dev-1 confirmed || true
		ab_eq "$(fota_status_field dev-1 state)" confirmed "outcome reported after the cut"
	fi
done
fota_summary
