# SPDX-License-Identifier: Apache-2.0
# Helpers for update-transfer tests: real fota-client daemons and the real fota-orchestrator
# against the test broker of lib.sh. Source after lib.sh; needs fota_pki and fota_broker_start.

FOTA_CLIENT_BIN=${FOTA_CLIENT_BIN:-$FOTA_BUILD/client/fota-client}
FOTA_ORCH_BIN=${FOTA_ORCH_BIN:-$FOTA_BUILD/orchestrator/fota-orchestrator}
declare -A FOTA_CLIENT_PIDS=()
declare -A FOTA_CLIENT_LOGS=()
declare -A FOTA_CLIENT_STARTS=() # fota_pid_start of each agent: its PID may be reused later
# Devices registered with the broker (fota_register): id -> groups; and agents configured by
# fota_client_conf but not yet registered: id -> their directory.
declare -A FOTA_REGISTERED=()
declare -A FOTA__UNREGISTERED=()

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
	FOTA__UNREGISTERED[$dev]=$dir
}

# fota_client_start DEV DIR: registers DEV (with the groups its client.conf names now, and
# every other agent configured since, in one go: fota_register), then runs the agent in the
# background, log in DIR/DEV/client.log. FOTA_REGISTER_AGENTS=0: no registration, for a test
# whose subject is registration itself.
fota_client_start() {
	local dev=$1 dir=$2 d devs=()
	FOTA__UNREGISTERED[$dev]=$dir
	for d in "${!FOTA__UNREGISTERED[@]}"; do
		devs+=("$d=$(sed -n 's/^groups = //p' "${FOTA__UNREGISTERED[$d]}/$d/client.conf")")
	done
	[ "${FOTA_REGISTER_AGENTS:-1}" = 0 ] || fota_register "${devs[@]}"
	FOTA__UNREGISTERED=()
	"$FOTA_CLIENT_BIN" --config "$dir/$dev/client.conf" >>"$dir/$dev/client.log" 2>&1 &
	FOTA_CLIENT_PIDS[$dev]=$!
	FOTA_CLIENT_LOGS[$dev]=$dir/$dev/client.log
	FOTA_CLIENT_STARTS[$dev]=$(fota_pid_start "$!")
	fota_cleanup_pid "$!"
}

# fota_client_kill DEV [SIGNAL]: stops the agent (default SIGKILL, as a power cut would) and
# waits until it has exited; an agent that does not end on its signal fails the test
# (fota_stop_wait).
fota_client_kill() {
	local dev=$1 sig=${2:-KILL} pid=${FOTA_CLIENT_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	FOTA_CLIENT_PIDS[$dev]=""
	fota_stop_wait "$pid" "$sig" "fota-client $dev" "${FOTA_CLIENT_LOGS[$dev]:-}" \
		"${FOTA_CLIENT_STARTS[$dev]:-}" ||
		fail "fota-client $dev did not exit on SIG$sig (see ${FOTA_CLIENT_LOGS[$dev]:-its client.log})"
}

# fota_orch ARGS...: the orchestrator as "orchestrator" against the test broker (on its own
# listener, and driving the plugin when the broker runs dynsec, as [broker] access = dynsec
# does in the compose stack); state in $FOTA_ORCH_STATE (set by the test).
fota_orch() {
	local crt key
	read -r crt key < <(fota_cert orchestrator)
	"$FOTA_ORCH_BIN" --broker "${FOTA_BROKER_ORCH_URI:-$FOTA_BROKER_URI}" --ca "$FOTA_PKI/ca.crt" --cert "$crt" \
		--key "$key" --state-dir "$FOTA_ORCH_STATE" --broker-access "$FOTA_BROKER_ACCESS" "$@"
}

# fota_register ID=GROUPS...: registers devices before they connect, as production does: one
# `device import` (GROUPS comma-separated) into the test's registry with the orchestrator key,
# which under dynsec grants each device its own topics and its groups' over
# $CONTROL/dynamic-security/v1 and retains its signed assignment (those groups). A device
# already registered with the same groups is skipped. With FOTA_BROKER_ACCESS=acl_file it does
# nothing: the ACL file grants every certificate by its CN.
fota_register() {
	local e id csv out n=0
	[ "$FOTA_BROKER_ACCESS" = dynsec ] || return 0
	[ -n "${FOTA_ORCH_STATE:-}" ] || fail "fota_register: set FOTA_ORCH_STATE first"
	csv=$(mktemp "$FOTA_BROKER_DIR/register.XXXXXX") || fail "fota_register: mktemp"
	echo "id,groups" >"$csv"
	for e in "$@"; do
		id=${e%%=*}
		[ "${FOTA_REGISTERED[$id]-}" != "${e#*=}" ] || continue
		[ -n "${e#*=}" ] || fail "fota_register $id: no groups (a device in none may do nothing)"
		echo "$id,$(tr , ';' <<<"${e#*=}")" >>"$csv"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || return 0
	out=$(fota_orch device import "$csv" --orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" 2>&1) ||
		fail "fota_register: device import failed: $out"
	for e in "$@"; do FOTA_REGISTERED[${e%%=*}]=${e#*=}; done
}

# fota_orch_bg LOG ARGS...: the orchestrator in the background, output to LOG; its pid (the
# real process, not a wrapping shell) in FOTA_ORCH_PID, LOG in FOTA_ORCH_LOG, stopped when the
# test exits.
fota_orch_bg() {
	local log=$1
	shift
	(exec > "$log" 2>&1; fota_orch__exec "$@") &
	FOTA_ORCH_PID=$!
	FOTA_ORCH_LOG=$log
	fota_cleanup_pid "$FOTA_ORCH_PID"
}

# fota_orch_stop: SIGTERM to the orchestrator of fota_orch_bg, then a bounded wait for its
# exit (fota_stop_wait); fails the test when it had to be killed.
fota_orch_stop() {
	fota_stop_wait "$FOTA_ORCH_PID" TERM "fota-orchestrator" "$FOTA_ORCH_LOG" ||
		fail "fota-orchestrator did not end on SIGTERM"
}
fota_orch__exec() {
	local crt key
	read -r crt key < <(fota_cert orchestrator)
	exec "$FOTA_ORCH_BIN" --broker "${FOTA_BROKER_ORCH_URI:-$FOTA_BROKER_URI}" --ca "$FOTA_PKI/ca.crt" --cert "$crt" \
		--key "$key" --state-dir "$FOTA_ORCH_STATE" --broker-access "$FOTA_BROKER_ACCESS" "$@"
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
