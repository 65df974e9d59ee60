#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fota-client and fota-orchestrator .debs (CPack) as Debian tooling and an administrator
# meet them: lintian reports no error; they install with their dependencies into a clean
# Debian bookworm minbase root; the units are enabled and their command lines run as far as a
# root without systemd allows; an upgrade to a newer version keeps the administrator's
# changes; a purge leaves nothing behind.
#
# Usage: tests/e2e/deb_install.sh
# Builds the packages twice from one build: version V and V+upgrade1 (FOTA_PACKAGE_VERSION).
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

e2e_have lintian || e2e_apt lintian || e2e_die "lintian is missing"

# No CMAKE_BUILD_TYPE: the default must give optimised packages.
e2e_log "building the packages (prefix /usr, no build type given)"
cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX=/usr -DFOTA_TESTS=OFF \
	-DFOTA_BENCH=OFF >"$work/cmake.log" 2>&1 || { tail -n 20 "$work/cmake.log"; e2e_die "cmake failed"; }
cmake --build "$work/build" -j"$(nproc)" >"$work/make.log" 2>&1 ||
	{ tail -n 20 "$work/make.log"; e2e_die "build failed"; }
version=$(sed -n 's/^FOTA_PACKAGE_VERSION:STRING=//p' "$work/build/CMakeCache.txt")
newer=$version+upgrade1
package() { # DIR VERSION
	cmake -S "$src" -B "$work/build" -DFOTA_PACKAGE_VERSION="$2" >>"$work/cmake.log" 2>&1 &&
		cmake --build "$work/build" -j"$(nproc)" >>"$work/make.log" 2>&1 &&
		(cd "$work/build" && cpack -G DEB -B "$1") >>"$work/cpack.log" 2>&1 ||
		{ tail -n 20 "$work/cpack.log"; e2e_die "packaging $2 failed"; }
}
package "$work/debs" "$version"
package "$work/debs-new" "$newer"
client_deb=$(ls "$work/debs"/fota-client_*.deb)
orch_deb=$(ls "$work/debs"/fota-orchestrator_*.deb)
for d in "$client_deb" "$orch_deb"; do
	echo "   $(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version): Depends: $(dpkg-deb -f "$d" Depends)"
done

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
		sed -n 's/^/   /;1,30p' "$work/out"
	fi
}

check "default build type is Release" grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' \
	"$work/build/CMakeCache.txt"
# lintian: no error on either package; the warnings kept are listed in docs/deploy.md.
lintian_clean() {
	local out
	out=$(lintian --tag-display-limit 0 "$1" 2>&1 | grep -v 'running with root privileges')
	echo "$out"
	! grep -q '^E:' <<<"$out"
}
check "lintian: no error in fota-client" lintian_clean "$client_deb"
check "lintian: no error in fota-orchestrator" lintian_clean "$orch_deb"
lintian --tag-display-limit 0 "$client_deb" "$orch_deb" 2>/dev/null | sed 's/^/   lintian: /'
# Stripped: no symbol table left in the packaged binaries.
unstripped() {
	mkdir -p "$work/x" && dpkg-deb -x "$1" "$work/x" &&
		! grep -q '\.symtab' <<<"$(readelf -S "$work/x/$2")"
}
check "fota-client packaged stripped" unstripped "$client_deb" usr/sbin/fota-client
check "fota-orchestrator packaged stripped" unstripped "$orch_deb" usr/bin/fota-orchestrator

e2e_rootfs
e2e_log "copying the clean root"
cp -a "$E2E_ROOTFS" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mkdir -p "$root/tmp/debs" "$root/tmp/debs-new"
cp "$client_deb" "$orch_deb" "$root/tmp/debs/"
cp "$work/debs-new"/*.deb "$root/tmp/debs-new/"

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
apt_in_root() { # DIR: installs (or upgrades to) the packages of /tmp/DIR, keeping conffiles
	in_root sh -c "apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold \
		install -y --no-install-recommends /tmp/$1/fota-*.deb"
}
e2e_log "installing both packages and their dependencies in the root (apt-get)"
in_root apt-get -o DPkg::Lock::Timeout=300 update -qq >"$work/apt.log" 2>&1 &&
	apt_in_root debs >>"$work/apt.log" 2>&1 ||
	{ tail -n 30 "$work/apt.log"; e2e_die "installing the packages in the clean root failed (apt-get)"; }

# runs TEXT CMD...: CMD in the root succeeds and its output contains TEXT.
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
installed_version() { in_root dpkg-query -W -f '${Version}' "$1"; }
units=(fota-client fota-orchestrator)

check "fota-client --version" runs "." fota-client --version
check "fota-orchestrator --version" runs "." fota-orchestrator --version
check "binaries in /usr/sbin and /usr/bin" \
	test -x "$root/usr/sbin/fota-client" -a -x "$root/usr/bin/fota-orchestrator"
check "state directories" test -d "$root/var/lib/fota" -a -d "$root/var/lib/fota-orchestrator"
check "copyright and changelog of both packages" test -f \
	"$root/usr/share/doc/fota-client/copyright" -a -f "$root/usr/share/doc/fota-client/changelog.gz" \
	-a -f "$root/usr/share/doc/fota-orchestrator/copyright" \
	-a -f "$root/usr/share/doc/fota-orchestrator/changelog.gz"
conffiles() { # PACKAGE FILE: FILE is one of the package's conffiles
	grep -q "^ $2 " <<<"$(in_root dpkg-query -W -f '${Conffiles}\n' "$1")"
}
check "client.conf.example is a conffile" conffiles fota-client /etc/fota/client.conf.example
check "orchestrator.conf.example is a conffile" conffiles fota-orchestrator \
	/etc/fota/orchestrator.conf.example
# Every man page a unit's Documentation= names is installed, compressed.
man_pages_of_units() {
	local u page sec ok=0
	for u in "${units[@]}"; do
		for page in $(sed -n 's/^Documentation=//p' "$root/usr/lib/systemd/system/$u.service"); do
			page=${page#man:}
			sec=${page##*(}
			sec=${sec%)}
			page=${page%(*}
			if [ -f "$root/usr/share/man/man$sec/$page.$sec.gz" ]; then
				echo "$u: man:$page($sec) installed"
			else
				echo "$u: man:$page($sec) is not installed"
				ok=1
			fi
		done
	done
	return "$ok"
}
check "man pages named by the units are installed" man_pages_of_units
enabled() {
	local u
	for u in "${units[@]}"; do
		test -L "$root/etc/systemd/system/multi-user.target.wants/$u.service" ||
			{ echo "$u.service is not enabled"; return 1; }
	done
}
check "postinst enabled both units" enabled
check "postinst made the fota-orchestrator user owning its state" \
	runs "fota-orchestrator" stat -c %U /var/lib/fota-orchestrator

# Start, as far as a root without systemd allows: the units' own command lines, as the
# units' users. The client's ExecStartPre check passes on a complete configuration; the
# orchestrator's ExecStart runs as fota-orchestrator, opens its store and stops at the broker
# (nothing listens on port 1): exit 4.
unit_cmd() { # UNIT KEY: the command line of KEY= in the installed unit
	sed -n "s/^$2=//p" "$root/usr/lib/systemd/system/$1.service" | sed -n 1p
}
# The files client.conf.example names: a trust store, and a device certificate (CN gw-0001,
# self-signed, so also the CA) with its key.
for role in release orchestrator; do
	mkdir -p "$root/etc/fota/trust/$role"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
		openssl pkey -pubout -out "$root/etc/fota/trust/$role/$role-1.pem"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=gw-0001 \
	-days 2 -keyout "$root/etc/fota/device.key" -out "$root/etc/fota/device.crt" 2>/dev/null
cp "$root/etc/fota/device.crt" "$root/etc/fota/ca.crt"
sed -e 's|^uri = .*|uri = ssl://127.0.0.1:1|' -e 's|^method = .*|method = file|' \
	-e 's|^\[install\]|[install]\ntarget = /var/lib/fota/fw.bin|' \
	"$root/etc/fota/client.conf.example" >"$root/etc/fota/client.conf"
check "fota-client.service ExecStartPre: $(unit_cmd fota-client ExecStartPre)" \
	runs "OK" sh -c "$(unit_cmd fota-client ExecStartPre)"
# A TLS broker without a CA to check it by is a configuration error: serve exits 2 before it
# connects (it would retry an unreachable broker instead of exiting).
printf '[broker]\nuri = ssl://127.0.0.1:1\n' >"$root/etc/fota/orchestrator.conf"
check "fota-orchestrator.service ExecStart as fota-orchestrator: exit 2, no CA configured" \
	exits 2 setpriv --reuid=fota-orchestrator --regid=fota-orchestrator --init-groups \
	sh -c "$(unit_cmd fota-orchestrator ExecStart)"
check "the orchestrator opened its store as its user" \
	runs "fota-orchestrator" stat -c %U /var/lib/fota-orchestrator/orchestrator.db

# Upgrade: an administrator's edit of a conffile survives, the units stay enabled.
echo "# changed by the administrator" >>"$root/etc/fota/client.conf.example"
e2e_log "upgrade to $newer"
check "apt-get upgrades both packages to $newer" apt_in_root debs-new
check "fota-client is now $newer" test "$(installed_version fota-client)" = "$newer"
check "fota-orchestrator is now $newer" test "$(installed_version fota-orchestrator)" = "$newer"
check "the edited conffile kept the administrator's line" \
	grep -q "changed by the administrator" "$root/etc/fota/client.conf.example"
check "both units still enabled after the upgrade" enabled
check "configuration and state kept" test -f "$root/etc/fota/client.conf" \
	-a -f "$root/var/lib/fota-orchestrator/orchestrator.db"

# Purge: nothing of either package is left but the system user.
check "dpkg --purge both packages" in_root dpkg --purge fota-client fota-orchestrator
leftovers() {
	local left
	left=$(cd "$root" && find etc usr var \( -path 'etc/fota*' -o -name '*fota*' \) \
		2>/dev/null | grep -v '^etc/fota$' || true)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}
# The administrator's own files, not the packages'.
rm -rf "$root/etc/fota/trust" "$root/etc/fota/ca.crt" "$root/etc/fota/device.crt" \
	"$root/etc/fota/device.key"
check "purge left no file, unit link or state directory" leftovers
check "purge left dpkg no record" sh -c "[ -z \"\$(chroot '$root' dpkg-query -W fota-client fota-orchestrator 2>/dev/null)\" ]"

echo "$passed passed, $failed failed ($((SECONDS - t0)) s)"
[ "$failed" -eq 0 ]
