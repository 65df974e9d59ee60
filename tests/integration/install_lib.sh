# SPDX-License-Identifier: Apache-2.0
# Helpers for install tests: A/B slots in files, a boot environment driven by the real
# fw_setenv/grub-editenv (or the key=value adapter), the bootloader emulator, and "reboots"
# (kill the agent, let fota_bootsim boot, start the agent again). Source after transfer_lib.sh.

FOTA_BOOTSIM=${FOTA_BOOTSIM:-$FOTA_BUILD/tests/tools/fota_bootsim}
SLOT_BYTES=$((6 * 1024 * 1024))

# ab_env_args DEV DIR: the --adapter/--env options of fota_bootsim for DEV.
ab_env_args() {
	echo "--adapter $(cat "$2/$1/adapter") --env $(cat "$2/$1/envpath")"
}

# ab_bootsim DEV DIR CMD...: runs the bootloader emulator on DEV's environment; a boot
# writes the slot it starts to DIR/DEV/booted and a new boot id to DIR/DEV/boot_id.
ab_bootsim() {
	local dev=$1 dir=$2
	shift 2
	# shellcheck disable=SC2046
	"$FOTA_BOOTSIM" $(ab_env_args "$dev" "$dir") --booted "$dir/$dev/booted" \
		--boot-id "$dir/$dev/boot_id" "$@"
}

# ab_setup DEV DIR ADAPTER FACTORY_IMAGE: slot files (A holds FACTORY_IMAGE), a provisioned
# boot environment (boot_slot=A, bootlimit 3), one power-on, and the [install] section.
ab_setup() {
	local dev=$1 dir=$2 adapter=$3 factory=$4 d envpath
	d=$dir/$dev
	mkdir -p "$d/slots" "$d/boot"
	rm -f "$d/slots/A.img" "$d/slots/B.img"
	cp "$factory" "$d/slots/A.img"
	truncate -s "$SLOT_BYTES" "$d/slots/A.img"
	head -c "$SLOT_BYTES" /dev/zero >"$d/slots/B.img"
	case "$adapter" in
	uboot)
		fota_require fw_setenv
		head -c 8192 /dev/zero >"$d/boot/uboot.env"
		printf '# device offset size\n%s 0x0 0x2000\n' "$d/boot/uboot.env" \
			>"$d/boot/fw_env.config"
		# AB_UBOOT_REDUNDANT=1: two copies, as docs/install.md asks of a real device.
		if [ "${AB_UBOOT_REDUNDANT:-0}" = 1 ]; then
			head -c 8192 /dev/zero >"$d/boot/uboot-redund.env"
			printf '%s 0x0 0x2000\n' "$d/boot/uboot-redund.env" >>"$d/boot/fw_env.config"
		fi
		envpath=$d/boot/fw_env.config
		;;
	grub)
		fota_require grub-editenv
		rm -f "$d/boot/grubenv"
		envpath=$d/boot/grubenv
		;;
	*) envpath=$d/boot/env.txt ;;
	esac
	echo "$adapter" >"$d/adapter"
	echo "$envpath" >"$d/envpath"
	ab_bootsim "$dev" "$dir" init --slot A --bootlimit 3 || fail "bootsim init ($adapter)"
	ab_bootsim "$dev" "$dir" boot >/dev/null || fail "bootsim first boot ($adapter)"
	# The health check reads its verdict from files the test writes (pass, fail, hang; wait:
	# until the test writes another verdict).
	cat >"$d/health.sh" <<-HEALTH
		#!/bin/sh
		mode=\$(cat "$d/health-mode" 2>/dev/null || echo pass)
		echo "\$(date +%s) \$mode" >>"$d/health.log"
		case "\$mode" in
		pass) exit 0 ;;
		hang) sleep 600 ;;
		wait) while [ "\$(cat "$d/health-mode")" = wait ]; do sleep 0.1; done ;;
		*) echo "service watchdog: application did not come up" >&2; exit 3 ;;
		esac
	HEALTH
	chmod +x "$d/health.sh"
	{
		printf '\n[install]\nmethod = ab-slot\nslot_a = %s\nslot_b = %s\n' \
			"$d/slots/A.img" "$d/slots/B.img"
		printf 'bootctl = %s\nbootctl_env = %s\nbooted_slot = %s\nboot_id = %s\n' \
			"$adapter" "$envpath" "$d/booted" "$d/boot_id"
		printf 'reboot_command = touch %s\nhealth_command = %s\n' \
			"$d/reboot-requested" "$d/health.sh"
	} >>"$d/client.conf"
}

# ab_reboot DEV DIR [nostart]: what a reboot does: the agent dies, the bootloader picks a
# slot (AB_BOOTED), the agent starts again (unless nostart: an image that cannot run it).
ab_reboot() {
	local dev=$1 dir=$2
	fota_client_kill "$dev" KILL
	rm -f "$dir/$dev/reboot-requested"
	AB_BOOTED=$(ab_bootsim "$dev" "$dir" boot) || fail "bootsim boot failed"
	[ "${3:-}" = nostart ] || fota_client_start "$dev" "$dir"
}

# ab_wait_reboot DEV DIR SECONDS: waits until the agent ran its reboot command.
ab_wait_reboot() {
	fota_wait_for "$3" test -e "$2/$1/reboot-requested"
}

# ab_env DEV DIR: the boot environment, one line.
ab_env() {
	ab_bootsim "$1" "$2" show
}

# ab_slot_sha DEV DIR SLOT SIZE: SHA-256 of the first SIZE bytes of a slot.
ab_slot_sha() {
	head -c "$4" "$2/$1/slots/$3.img" | sha256sum | cut -d' ' -f1
}

# ab_publish ID WAIT_STATE TIMEOUT LOG [group]: publishes in the background; pid in AB_ORCH.
ab_publish() {
	fota_orch_bg "$4" publish "$1" --group "${5:-lab}" \
		--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" --rate 8388608 \
		--wait-devices dev-1 --wait-state "$2" --timeout "$3"
	AB_ORCH=$FOTA_ORCH_PID
}

# ab_history_has DEV DIR OUTCOME: the local history records OUTCOME.
ab_history_has() {
	grep -q "\"outcome\":\"$3\"" "$2/$1/state/history.jsonl" 2>/dev/null
}

# ab_eq GOT WANT WHAT: PASS when equal, else a soft failure that shows both.
ab_eq() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail_soft "$3: got '$1', want '$2'"; fi
}
