#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command on a machine that has nothing prepared: a clean clone of this
# repository at HEAD runs `bash tests/e2e/demo.sh` as root inside a fresh debian:bookworm-slim
# container (the debootstrap minbase image of tests/e2e/engine_lib.sh). The demo installs its
# own packages there (tests/install-deps.sh), builds and updates three gateways; this test
# passes only if the demo passes. A package that a prepared machine happens to have cannot
# hide a missing install step here.
#
# Usage: tests/e2e/fresh_root.sh [IMAGE_MIB]   (default 4; FOTA_KEEP_TMP=1 keeps the clone)
# Uncommitted changes are not in the clone: this tests what HEAD would give a new user. The
# container needs the network only for Debian's package mirror; the demo itself stays on
# loopback. No extra privileges: the demo needs none.
# Why the demo and not all of tests/run.sh: the whole suite would repeat the CI run itself
# (about 12 minutes on 2 cores, plus its sanitizer and fuzzing passes) on top of the package
# installation, and its e2e tier needs a container engine and chroot mounts inside the
# container (--privileged, nested podman). That does not fit a CI budget well under 40 minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/engine_lib.sh"
mib=${1:-4}

e2e_have git || e2e_apt git || e2e_die "git is missing"
e2e_engine
e2e_base_image

work=$(mktemp -d "${TMPDIR:-/tmp}/fota-fresh.XXXXXX")
name=fota-fresh-$$
t0=$SECONDS
cleanup() {
	local rc=$?
	set +e
	"$ENGINE" rm -f "$name" >/dev/null 2>&1
	[ "${FOTA_KEEP_TMP:-0}" = 1 ] && echo "kept: $work" >&2 || rm -rf "$work"
	e2e_log "done in $((SECONDS - t0)) s"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

head=$(git -C "$src" rev-parse HEAD)
git clone --quiet --no-local --no-checkout "$src" "$work/clone"
git -C "$work/clone" checkout --quiet --detach "$head"
e2e_log "clean clone of $(git -C "$src" rev-parse --short HEAD) in $work/clone"

# stamp: each line of the demo with the seconds since this test started (where time goes:
# package installation, build, update).
stamp() {
	local line
	while IFS= read -r line; do printf '   [%4d s] %s\n' "$((SECONDS - t0))" "$line"; done
}

# The clone is the container's only input; it leaves with nothing but the demo's exit code.
rc=0
"$ENGINE" run --name "$name" --rm -v "$work/clone:/src" -w /src \
	-e DEBIAN_FRONTEND=noninteractive "$E2E_BASE_IMAGE" \
	bash -c 'bash tests/e2e/demo.sh "$1"' demo "$mib" 2>&1 |
	tee "$work/demo.log" | stamp || rc=$?
t=$((SECONDS - t0))
if [ "$rc" -ne 0 ] || ! grep -q '^demo passed' "$work/demo.log"; then
	e2e_die "the demo failed in a fresh bookworm root (exit $rc after $t s, output above)"
fi
echo "fresh root passed: a clean clone's tests/e2e/demo.sh passed in a fresh bookworm root in $t s"
