# SPDX-License-Identifier: Apache-2.0
# Helpers for update-transfer tests: real fota-client daemons and the real fota-orchestrator
# against the test broker of lib.sh. Source after lib.sh; needs fota_pki and fota_broker_start.

FOTA_CLIENT_BIN=${FOTA_CLIENT_BIN:-$FOTA_BUILD/client/fota-client}
FOTA_ORCH_BIN=${FOTA_ORCH_BIN:-$FOTA_BUILD/orchestrator/fota-orchestrator}
declare -A FOTA_CLIENT_PIDS=()

# fota_transfer_env: the usual scene, a temporary folder $T with a fresh PKI, a broker, and
# the orchestrator's state folder ($FOTA_ORCH_STATE).
fota_transfer_env() {
	fota_tmpdir T
	fota_pki "$T/pki"
	fota_broker_start "$T/broker"
	export FOTA_ORCH_STATE=$T/orch
}

# fota_random_image FILE MIB: a random image of MIB mebibytes (KiB with a "k" suffix).
fota_random_image() {
	case "$2" in
	*k) head -c "$((${2%k} * 1024))" /dev/urandom >"$1" ;;
	*) head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$1" ;;
	esac
}

# fota_client_conf DEV DIR GROUPS [key=value for [transfer]...]: writes DIR/DEV/client.conf.
fota_client_conf() {
	local dev=$1 dir=$2 groups=$3 crt key kv
	shift 3
	read -r crt key < <(fota_cert "$dev")
	mkdir -p "$dir/$dev/state" "$dir/$dev/target"
	{
		printf '[broker]\nuri = %s\nca = %s\ncert = %s\nkey = %s\n\n' \
			"$FOTA_BROKER_URI" "$FOTA_PKI/ca.crt" "$crt" "$key"
		printf '[device]\nid = %s\ngroups = %s\nvendor = acme\nmodel = gw-100\n' "$dev" "$groups"
		printf 'hw_revision = B\nversion = 1.0.0\n\n'
		printf '[paths]\nstate_dir = %s\ntrust = %s\n\n' "$dir/$dev/state" "$FOTA_PKI/trust"
		printf '[install]\nmethod = file\ntarget = %s\n\n' "$dir/$dev/target/firmware.bin"
		printf '[transfer]\ngap_ms = 500\nstall_timeout_s = 120\n'
		for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
	} >"$dir/$dev/client.conf"
}

# fota_client_start DEV DIR: runs the agent in the background, log in DIR/DEV/client.log.
fota_client_start() {
	local dev=$1 dir=$2
	"$FOTA_CLIENT_BIN" --config "$dir/$dev/client.conf" >>"$dir/$dev/client.log" 2>&1 &
	FOTA_CLIENT_PIDS[$dev]=$!
	fota_cleanup_pid "$!"
}

# fota_client_kill DEV [SIGNAL]: stops the agent (default SIGKILL, as a power cut would).
fota_client_kill() {
	local pid=${FOTA_CLIENT_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-${2:-KILL}" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	FOTA_CLIENT_PIDS[$1]=""
}

# fota_orch ARGS...: the orchestrator as "orchestrator" against the test broker; state in
# $FOTA_ORCH_STATE (set by the test).
fota_orch() {
	local crt key
	read -r crt key < <(fota_cert orchestrator)
	"$FOTA_ORCH_BIN" --broker "${FOTA_BROKER_ORCH_URI:-$FOTA_BROKER_URI}" --ca "$FOTA_PKI/ca.crt" --cert "$crt" \
		--key "$key" --state-dir "$FOTA_ORCH_STATE" "$@"
}

# fota_orch_bg LOG ARGS...: the orchestrator in the background, output to LOG; its pid (the
# real process, not a wrapping shell) in FOTA_ORCH_PID, stopped when the test exits.
fota_orch_bg() {
	local log=$1
	shift
	(exec > "$log" 2>&1; fota_orch__exec "$@") &
	FOTA_ORCH_PID=$!
	fota_cleanup_pid "$FOTA_ORCH_PID"
}
fota_orch__exec() {
	local crt key
	read -r crt key < <(fota_cert orchestrator)
	exec "$FOTA_ORCH_BIN" --broker "${FOTA_BROKER_ORCH_URI:-$FOTA_BROKER_URI}" --ca "$FOTA_PKI/ca.crt" --cert "$crt" \
		--key "$key" --state-dir "$FOTA_ORCH_STATE" "$@"
}

# fota_image_add FILE VERSION SEQUENCE [extra image-add options...]: prints the image id.
fota_image_add() {
	local file=$1 version=$2 seq=$3
	shift 3
	fota_orch image add "$file" --name firmware --version "$version" --vendor acme \
		--model gw-100 --hw B --sequence "$seq" \
		--release-key "$FOTA_PKI/signing/release/release-1.pem" "$@"
}

# fota_status_json DEV: the device's retained status message (empty if none).
fota_status_json() {
	FOTA_CLIENT_TIMEOUT=3 fota_sub orchestrator -t "fota/v1/devices/$1/status" -C 1 -W 2 \
		2>/dev/null || true
}

# fota_status_field DEV FIELD: one string/number member of the device's status.
fota_status_field() {
	fota_status_json "$1" | jq -r ".$2 // empty" 2>/dev/null || true
}

# fota_wait_state DEV STATE SECONDS: waits until the device's retained status has STATE.
fota_wait_state() {
	fota_wait_for "$3" fota__state_is "$1" "$2"
}
fota__state_is() {
	[ "$(fota_status_field "$1" state)" = "$2" ]
}

# fota_same FILE1 FILE2 WHAT: byte-identical check with a readable failure.
fota_same() {
	if cmp -s "$1" "$2"; then
		pass "$3 byte-identical"
	else
		fail_soft "$3 differs from the published image"
	fi
}

# fota_rx_bytes LOG: bytes the agent received for its last installed image (from its log).
fota_rx_bytes() {
	sed -n 's/.*(\([0-9]*\) bytes received for [0-9]*).*/\1/p' "$1" | tail -n 1
}

# fota_forge_frame IMAGE_HEX INDEX COUNT PAYLOAD_FILE: a well-formed data frame (protocol.md
# layout) carrying PAYLOAD_FILE, to stdout. Forgery tests use it with random payloads.
fota_forge_frame() {
	local id=$1 index=$2 count=$3 len
	len=$(stat -c %s "$4")
	fota__bytes "46 4f 54 41 01 01 00 20"
	fota__bytes "$(echo "$id" | sed 's/../& /g')"
	fota__be32 "$index"
	fota__be32 "$count"
	fota__be32 "$len"
	fota__be32 0
	cat "$4"
}
fota__bytes() {
	local b
	for b in $1; do printf "\\x$b"; done
}
fota__be32() {
	fota__bytes "$(printf '%02x %02x %02x %02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
		$(($1 >> 8 & 255)) $(($1 & 255)))"
}
