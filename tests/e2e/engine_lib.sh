# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Container engine setup shared by the e2e scripts: docker or podman, the base image, a rootfs.
#
# Docker with a running daemon and `docker compose` is used as it is. Otherwise podman is set up
# (installed with apt-get when missing and run as root), with its own containers.conf, and the
# base image debian:bookworm-slim is imported from a local debootstrap root when no registry
# has it. Every step is idempotent. Environment:
#   FOTA_E2E_ENGINE   docker|podman to force one
#   FOTA_E2E_CACHE    where the rootfs and containers.conf live (default /var/tmp/fota-e2e)
#   FOTA_DEBIAN_MIRROR  mirror for debootstrap (default: the first Debian mirror apt uses here)

E2E_CACHE=${FOTA_E2E_CACHE:-/var/tmp/fota-e2e}
E2E_BASE_IMAGE=docker.io/library/debian:bookworm-slim
E2E_ROOTFS=$E2E_CACHE/rootfs-bookworm

# The mirror this machine's apt already uses (deb822 "URIs:" or one-line "deb URL suite"), so
# the image comes from where the host's packages come from.
e2e_apt_mirror() {
	cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}
		     /^deb / && $2 !~ /security/ {u = ($2 ~ /^\[/) ? $3 : $2; print u; exit}'
}

e2e_log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*"; }
e2e_die() { echo "FAIL: $*" >&2; exit 1; }

# The only way out without a verdict: no engine can run a container on this machine at all.
e2e_skip() {
	echo "skipped: no container engine ($*)"
	exit "${FOTA_E2E_SKIP_CODE:-0}"
}

e2e_have() { command -v "$1" >/dev/null 2>&1; }

# e2e_apt PKG...: installs missing Debian packages; returns 1 when it cannot.
e2e_apt() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] && e2e_have apt-get || return 1
	e2e_log "installing ${missing[*]}"
	# The lock: the compose and deb tests may set up at the same time.
	mkdir -p "$E2E_CACHE"
	(
		flock 9
		DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				"${missing[@]}" >/dev/null
	) 9>"$E2E_CACHE/apt.lock"
}

# e2e_rootfs: a Debian bookworm minbase root in $E2E_ROOTFS, made once (about 30 s).
e2e_rootfs() {
	mkdir -p "$E2E_CACHE"
	(
		flock 9
		[ -e "$E2E_ROOTFS/.fota-complete" ] && exit 0
		e2e_have debootstrap || e2e_apt debootstrap || e2e_die "debootstrap is missing"
		rm -rf "$E2E_ROOTFS"
		e2e_log "debootstrap bookworm minbase into $E2E_ROOTFS"
		debootstrap --variant=minbase bookworm "$E2E_ROOTFS" \
			"${FOTA_DEBIAN_MIRROR:-$(e2e_apt_mirror)}" >"$E2E_CACHE/debootstrap.log" 2>&1 ||
			{ tail -n 20 "$E2E_CACHE/debootstrap.log" >&2; e2e_die "debootstrap failed"; }
		rm -rf "$E2E_ROOTFS"/var/cache/apt/archives/*.deb
		touch "$E2E_ROOTFS/.fota-complete"
	) 9>"$E2E_CACHE/rootfs.lock"
}

# The settings podman needs on these hosts: runc (crun fails on setrlimit here), cgroupfs
# (hybrid cgroup layout), no default ulimits, and never pulling: every image is local.
e2e_podman_conf() {
	if [ -z "${CONTAINERS_CONF:-}" ]; then
		mkdir -p "$E2E_CACHE"
		cat >"$E2E_CACHE/containers.conf.new" <<-'CONF'
			[containers]
			default_ulimits = []
			ulimits = []
			[engine]
			cgroup_manager = "cgroupfs"
			runtime = "runc"
			pull_policy = "never"
		CONF
		mv "$E2E_CACHE/containers.conf.new" "$E2E_CACHE/containers.conf"
		export CONTAINERS_CONF=$E2E_CACHE/containers.conf
	fi
}

# e2e_engine: sets ENGINE (docker|podman) and COMPOSE (the compose command as an array).
e2e_engine() {
	local want=${FOTA_E2E_ENGINE:-}
	if [ -z "$want" ] || [ "$want" = docker ]; then
		if e2e_have docker && timeout 20 docker info >/dev/null 2>&1 &&
			docker compose version >/dev/null 2>&1; then
			ENGINE=docker
			COMPOSE=(docker compose)
			return 0
		fi
		[ "$want" = docker ] && e2e_skip "docker requested but no docker daemon with compose"
	fi
	if ! e2e_have podman || ! e2e_have podman-compose; then
		e2e_apt podman podman-compose runc ||
			e2e_skip "no docker daemon, and podman is missing and cannot be installed here"
	fi
	e2e_have runc || e2e_apt runc || e2e_die "runc is missing"
	e2e_podman_conf
	ENGINE=podman
	COMPOSE=(podman-compose)
	podman info >/dev/null 2>&1 || e2e_skip "podman cannot start here: $(podman info 2>&1 | tail -n 1)"
}

# e2e_base_image: makes sure debian:bookworm-slim exists locally (imported from the rootfs).
e2e_base_image() {
	if ! "$ENGINE" image inspect "$E2E_BASE_IMAGE" >/dev/null 2>&1 &&
		! { [ "$ENGINE" = docker ] && timeout 120 docker pull -q "$E2E_BASE_IMAGE" >/dev/null 2>&1; }; then
		e2e_rootfs
		e2e_log "importing $E2E_BASE_IMAGE from the debootstrap root"
		tar -C "$E2E_ROOTFS" --exclude=./.fota-complete -c . |
			"$ENGINE" import - "$E2E_BASE_IMAGE" >/dev/null || e2e_die "$ENGINE import failed"
	fi
	# A machine that cannot run any container at all is not a broken compose file.
	"$ENGINE" run --rm --network none "$E2E_BASE_IMAGE" true >/dev/null 2>&1 ||
		e2e_skip "$ENGINE cannot run a container: $("$ENGINE" run --rm --network none \
			"$E2E_BASE_IMAGE" true 2>&1 | tail -n 1)"
}
