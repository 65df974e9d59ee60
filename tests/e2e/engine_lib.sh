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
# The CNI plugin that gives podman's CNI networks name resolution between containers.
E2E_DNSNAME_PKG=golang-github-containernetworking-plugin-dnsname

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
		grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] && e2e_have apt-get || return 1
	e2e_log "installing ${missing[*]}"
	# The compose and deb tests may set up at the same time (our lock); any other installer
	# on the machine holds dpkg's lock, which apt-get waits for instead of failing.
	mkdir -p "$E2E_CACHE"
	(
		flock 9
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
				--no-install-recommends "${missing[@]}" >/dev/null
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
	# Debian's podman 4 uses CNI networking: without this plugin, containers on one network
	# cannot resolve each other's names (e2e_check_names proves it either way).
	e2e_apt "$E2E_DNSNAME_PKG" || true
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

# e2e_check_names: two containers on one fresh network, the second resolves the first by its
# network alias, exactly as compose services find each other. Fails naming the missing piece
# instead of letting every client's broker connect fail later without a reason. The network
# and containers are removed before returning, also when the check fails.
e2e_check_names() {
	local net=fotanames$$ peer=fota-names-peer-$$ out rc=0 backend=""
	"$ENGINE" network create "$net" >/dev/null || e2e_die "$ENGINE network create failed"
	if "$ENGINE" run -d --rm --name "$peer" --network "$net" --network-alias fota-peer \
		"$E2E_BASE_IMAGE" sleep 60 >/dev/null; then
		out=$("$ENGINE" run --rm --network "$net" "$E2E_BASE_IMAGE" getent hosts fota-peer 2>&1) ||
			rc=1
		# SIGKILL: sleep as the container's first process ignores SIGTERM.
		"$ENGINE" kill "$peer" >/dev/null 2>&1 || true
		"$ENGINE" rm -f "$peer" >/dev/null 2>&1 || true
	else
		out="cannot start a container on network $net"
		rc=1
	fi
	"$ENGINE" network rm "$net" >/dev/null 2>&1 || true
	[ "$rc" -eq 0 ] && { e2e_log "name resolution between containers: ok ($out)"; return 0; }
	[ "$ENGINE" = podman ] && backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)
	if [ "$backend" = cni ] && [ ! -x /usr/lib/cni/dnsname ]; then
		e2e_die "containers on one podman network cannot resolve each other's names: podman" \
			"uses CNI networking here and the CNI dnsname plugin (/usr/lib/cni/dnsname) is" \
			"missing; install the Debian package $E2E_DNSNAME_PKG"
	fi
	e2e_die "containers on one $ENGINE network cannot resolve each other's names" \
		"(getent hosts fota-peer: ${out:-no answer}; network backend ${backend:-unknown})"
}

# e2e_remove_project NAME: removes what is left of a compose project, or all of it: its
# containers (killed, with their anonymous volumes), its networks, which podman-compose 1.0.3's
# `down` leaves behind, and its named volumes. One engine command per kind: podman-compose's
# `down` runs one per container and volume (about 30 s for the stack). Prints what it could
# not remove.
e2e_remove_project() {
	local label=com.docker.compose.project=$1 ids now=()
	# podman's rm -f stops with the container's timeout first; docker's kills at once.
	[ "$ENGINE" = podman ] && now=(-t 0)
	ids=$("$ENGINE" ps -a -q --filter "label=$label" 2>/dev/null)
	[ -z "$ids" ] || "$ENGINE" rm -f -v "${now[@]}" $ids >/dev/null 2>&1 ||
		echo "could not remove the containers of project $1: $ids" >&2
	ids=$("$ENGINE" network ls -q --filter "label=$label" 2>/dev/null)
	[ -z "$ids" ] || "$ENGINE" network rm $ids >/dev/null 2>&1 ||
		echo "could not remove the networks of project $1: $ids" >&2
	ids=$("$ENGINE" volume ls -q --filter "label=$label" 2>/dev/null)
	[ -z "$ids" ] || "$ENGINE" volume rm $ids >/dev/null 2>&1 ||
		echo "could not remove the volumes of project $1: $ids" >&2
	return 0
}
