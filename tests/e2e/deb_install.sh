#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the fota-client and fota-orchestrator .debs (CPack), installs them with their
# dependencies into a clean Debian bookworm minbase root, and runs the binaries from there.
#
# Usage: tests/e2e/deb_install.sh [DEB_DIR]   (DEB_DIR: use these packages instead of building)
# Needs root (chroot, mount) and Debian's mirror for the dependencies. The root comes from the
# same debootstrap cache as the compose base image (tests/e2e/engine_lib.sh); each run works on
# a fresh copy of it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/engine_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: installing into a chroot needs root"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fota-deb.XXXXXX")
root=$work/root
t0=$SECONDS
cleanup() {
	local rc=$?
	set +e
	mountpoint -q "$root/proc" && umount "$root/proc"
	[ "${FOTA_KEEP_TMP:-0}" = 1 ] && echo "kept: $work" >&2 || rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

debs=${1:-}
if [ -z "$debs" ]; then
	e2e_log "building the packages (prefix /usr)"
	cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_INSTALL_PREFIX=/usr -DFOTA_TESTS=OFF -DFOTA_BENCH=OFF >"$work/cmake.log" 2>&1 ||
		{ tail -n 20 "$work/cmake.log"; e2e_die "cmake failed"; }
	cmake --build "$work/build" -j"$(nproc)" >"$work/make.log" 2>&1 ||
		{ tail -n 20 "$work/make.log"; e2e_die "build failed"; }
	(cd "$work/build" && cpack -G DEB -B "$work/debs") >"$work/cpack.log" 2>&1 ||
		{ tail -n 20 "$work/cpack.log"; e2e_die "cpack failed"; }
	debs=$work/debs
fi
client_deb=$(ls "$debs"/fota-client_*.deb)
orch_deb=$(ls "$debs"/fota-orchestrator_*.deb)
for d in "$client_deb" "$orch_deb"; do
	echo "   $(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version): Depends: $(dpkg-deb -f "$d" Depends)"
done

e2e_rootfs
e2e_log "copying the clean root"
cp -a "$E2E_ROOTFS" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
cp "$client_deb" "$orch_deb" "$root/tmp/"

e2e_log "apt-get install of both packages and their dependencies in the root"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get update -qq >"$work/apt.log" 2>&1 &&
	in_root sh -c 'apt-get install -y --no-install-recommends /tmp/fota-*.deb' \
		>>"$work/apt.log" 2>&1 ||
	{ tail -n 30 "$work/apt.log"; e2e_die "apt-get install in the clean root failed"; }

passed=0
failed=0
check() {
	local what=$1
	shift
	if "$@" >"$work/out" 2>&1; then
		passed=$((passed + 1))
		echo "PASS: $what"
	else
		failed=$((failed + 1))
		echo "FAIL: $what"
		sed 's/^/   /' "$work/out" | head -n 20
	fi
}
# runs CMD in the root; its output must contain TEXT.
runs() {
	local text=$1
	shift
	in_root "$@" >"$work/run" 2>&1 || { cat "$work/run"; return 1; }
	grep -qF -- "$text" "$work/run" || { cat "$work/run"; echo "(no '$text' above)"; return 1; }
}

# exits CODE CMD...: CMD in the root ends with exactly CODE.
exits() {
	local want=$1 rc=0
	shift
	in_root "$@" || rc=$?
	[ "$rc" = "$want" ] || { echo "exit code $rc, expected $want"; return 1; }
}

check "fota-client --version" runs "." fota-client --version
check "fota-client --help" runs "Usage: fota-client" fota-client --help
check "fota-orchestrator --version" runs "." fota-orchestrator --version
check "fota-orchestrator --help" runs "fota-orchestrator" fota-orchestrator --help
check "binaries in /usr/sbin and /usr/bin" \
	test -x "$root/usr/sbin/fota-client" -a -x "$root/usr/bin/fota-orchestrator"
check "configuration examples in /etc/fota" test -f "$root/etc/fota/orchestrator.conf.example"
check "state directories" test -d "$root/var/lib/fota" -a -d "$root/var/lib/fota-orchestrator"
check "systemd units" test -f "$root/usr/lib/systemd/system/fota-client.service" \
	-a -f "$root/usr/lib/systemd/system/fota-orchestrator.service"
check "man pages" test -f "$root/usr/share/man/man8/fota-client.8" \
	-a -f "$root/usr/share/man/man8/fota-orchestrator.8" -a -f "$root/usr/share/man/man5/fota.conf.5"
check "postinst made the fota-orchestrator user owning its state" \
	runs "fota-orchestrator" stat -c %U /var/lib/fota-orchestrator
check "a missing config is a configuration error (exit 2)" \
	exits 2 fota-client --config /etc/fota/none.conf --check
check "packages removable" in_root dpkg --remove fota-client fota-orchestrator

echo "$passed passed, $failed failed ($((SECONDS - t0)) s)"
[ "$failed" -eq 0 ]
