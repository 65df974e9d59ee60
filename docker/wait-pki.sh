# SPDX-License-Identifier: Apache-2.0
# Sourced by the entrypoints: waits until the PKI service has finished and FILES exist.
# (podman-compose starts services in dependency order but does not wait for completion.)

# wait_pki FILE...: up to FOTA_PKI_WAIT seconds (default 120) for .ready and every FILE.
wait_pki() {
	pki=${FOTA_PKI_DIR:-/pki}
	n=0
	while :; do
		missing=""
		for f in "$pki/.ready" "$@"; do
			[ -r "$f" ] || missing="$missing $f"
		done
		[ -z "$missing" ] && return 0
		if [ "$n" -ge "${FOTA_PKI_WAIT:-120}" ]; then
			echo "$0: PKI not ready after $n s, missing or unreadable:$missing" >&2
			exit 1
		fi
		sleep 1
		n=$((n + 1))
	done
}
