#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-builds fota-client and its .deb for ARM gateways with Debian's cross toolchains and
# multiarch -dev packages (cmake/debian-cross.cmake), runs the client-side unit tests (every
# Check suite that does not test the orchestrator) under qemu-user-static, and prints the
# stripped binary's size per architecture.
#
# Usage: tests/cross_build.sh [ARCH...]   (default: arm64 armhf; output in build/cross-ARCH)
# Needs root to install what is missing (dpkg --add-architecture, apt-get) and to register
# qemu with binfmt_misc: check_bootctl executes a second target binary, which only binfmt
# can hand to qemu. Not part of tests/run.sh (docs/deploy.md says why).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(arm64 armhf)

triplet() { case "$1" in arm64) echo aarch64-linux-gnu ;; armhf) echo arm-linux-gnueabihf ;;
	*) echo "unknown architecture '$1' (arm64 or armhf)" >&2; exit 2 ;; esac; }
qemu_cpu() { case "$1" in arm64) echo aarch64 ;; armhf) echo arm ;; esac; }

need=(qemu-user-static)
for a in "${archs[@]}"; do
	triplet "$a" >/dev/null
	need+=("crossbuild-essential-$a")
	for p in libssl-dev libpaho-mqtt-dev libcjson-dev libinih-dev libsqlite3-dev libmicrohttpd-dev \
		libpq-dev libzstd-dev libdivsufsort-dev check; do
		need+=("$p:$a")
	done
done
missing=()
for p in "${need[@]}"; do
	grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "missing, install as root: ${missing[*]}" >&2; exit 1; }
	for a in "${archs[@]}"; do
		grep -qx "$a" <<<"$(dpkg --print-foreign-architectures)" || dpkg --add-architecture "$a"
	done
	echo "installing: ${missing[*]}"
	apt-get -o DPkg::Lock::Timeout=300 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

# binfmt_misc: a target binary started by a test runs under qemu too.
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt" ||
	{ echo "binfmt_misc is not available: cannot run nested target binaries" >&2; exit 1; }
for a in "${archs[@]}"; do
	cpu=$(qemu_cpu "$a")
	[ -e "$binfmt/qemu-$cpu" ] || cat "/usr/lib/binfmt.d/qemu-$cpu.conf" >"$binfmt/register"
done

declare -A size
for a in "${archs[@]}"; do
	b=build/cross-$a
	t0=$SECONDS
	printf '\n=== %s (%s) ===\n' "$a" "$(triplet "$a")"
	# Release, as the packages are built; the orchestrator is not built for the target.
	cmake -S "$src" -B "$b" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/debian-cross.cmake" \
		-DFOTA_CROSS_ARCH="$a" -DCMAKE_INSTALL_PREFIX=/usr -DFOTA_WERROR=ON -DFOTA_BENCH=OFF \
		-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
	# Client-side suites: those that do not link the orchestrator's core.
	tests=()
	for d in "$b"/tests/CMakeFiles/check_*.dir; do
		grep -q fota_orch_core "$d/link.txt" || tests+=("$(basename "$d" .dir)")
	done
	cmake --build "$b" -j"$(nproc)" --target fota-client fota_gz "${tests[@]}" >/dev/null
	file -b "$b/client/fota-client" | cut -d, -f1-2
	re=$(printf '^unit\\.%s$|' "${tests[@]}")
	ctest --test-dir "$b" -R "${re%|}" -j"$(nproc)" --output-on-failure | tail -n 4
	(cd "$b" && cpack -G DEB -D CPACK_COMPONENTS_ALL=client -B "$src/$b/debs" >/dev/null)
	deb=$(ls "$b"/debs/fota-client_*_"$a".deb)
	echo "$deb: $(dpkg-deb -f "$deb" Architecture), Depends: $(dpkg-deb -f "$deb" Depends)"
	rm -rf "$b/x" && dpkg-deb -x "$deb" "$b/x"
	size[$a]=$(stat -c %s "$b/x/usr/sbin/fota-client")
	echo "$a: ${#tests[@]} suites passed under $(qemu_cpu "$a") emulation in $((SECONDS - t0)) s"
done
echo
for a in "${archs[@]}"; do echo "stripped fota-client ($a): ${size[$a]} bytes"; done
