#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages the build, the tests and the demo need (idempotent, needs root
# or sudo). Prints the exact apt-get command when it cannot run it.
# Usage: tests/install-deps.sh [--demo]
#   --demo: only what building and running the demo needs; the packages that only tests use
#           (a browser, a second broker, a database server, Prometheus, fuzzing) are left out.
set -euo pipefail
demo=0
case "${1:-}" in
--demo) demo=1 ;;
"") ;;
*)
	echo "usage: $0 [--demo]" >&2
	exit 2
	;;
esac

PKGS=(build-essential cmake pkg-config clang clang-format libclang-rt-14-dev libssl-dev openssl
	libpaho-mqtt-dev libcjson-dev check libinih-dev libsqlite3-dev
	mosquitto mosquitto-clients jose jq iproute2 iptables procps
	libubootenv-tool grub-common faketime)
PKGS+=(libmicrohttpd-dev curl prometheus)  # serve's HTTP endpoints; curl and promtool test them
PKGS+=(chromium)  # the dashboard test loads the page in headless Chromium
PKGS+=(sqlite3)  # bench/run.sh reads the orchestrator's audit trail from its SQLite store
PKGS+=(libpq-dev)  # the store's PostgreSQL backend
PKGS+=(postgresql-15)  # unit.check_store_postgresql runs the store's suite on a real server
PKGS+=(rabbitmq-server)  # a second broker implementation for integration.rabbitmq_campaign
PKGS+=(libzstd-dev zstd) # zstd payloads: the agent's decoder, image add --compress; zstd CLI in tests
PKGS+=(libdivsufsort-dev) # the orchestrator's delta maker: suffix sorting of the base image
PKGS+=(python3-jwcrypto)  # integration.jwe_interop: an independent JWE (ECDH-ES+A256KW) implementation
PKGS+=(python3-cryptography)  # integration.transfer_encrypted opens sealed chunks (AES-GCM) independently
PKGS+=(bsdiff xdelta3 time)  # bench/delta_sizes.sh: the delta tools our patches are compared with
# Used only by tests, style checks, fuzzing and benchmarks: not installed for the demo.
TEST_ONLY=(clang clang-format libclang-rt-14-dev faketime prometheus chromium sqlite3
	postgresql-15 rabbitmq-server)
TEST_ONLY+=(python3-jwcrypto)  # only integration.jwe_interop uses it
TEST_ONLY+=(python3-cryptography)  # only integration.transfer_encrypted uses it directly
TEST_ONLY+=(bsdiff xdelta3 time)  # only bench/delta_sizes.sh uses them

missing=()
for p in "${PKGS[@]}"; do
	if [ "$demo" -eq 1 ] && [[ " ${TEST_ONLY[*]} " == *" $p "* ]]; then
		continue
	fi
	grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" ||
		missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

# DPkg::Lock::Timeout: another installer running at the same moment holds dpkg's lock; wait
# for it (up to 5 minutes) instead of failing.
apt=(apt-get -o DPkg::Lock::Timeout=300)
cmd=("${apt[@]}" install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "missing packages; run as root: ${apt[*]} update && ${cmd[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" "${apt[@]}" update -qq
"${sudo[@]}" "${cmd[@]}"
