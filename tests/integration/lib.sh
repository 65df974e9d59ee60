# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Shared bash helpers for integration tests: a generated PKI, a real Mosquitto, checks, cleanup.
#
# Source it from a test script (which runs with `set -euo pipefail`):
#   . "$(dirname "$0")/lib.sh"
#   fota_tmpdir T; fota_pki "$T/pki"; fota_broker_start "$T/broker"
# The broker runs the shipped docker/mosquitto configuration with only the ports, the file
# paths and test-only additions changed, so tests exercise the configuration users deploy: by
# default its dynamic-security variant, as the compose stack does (FOTA_BROKER_ACCESS below).
# Environment: FOTA_SRC (source tree), FOTA_BUILD (build tree), both set by ctest;
# FOTA_KEEP_TMP=1 keeps temporary directories for a post-mortem.

FOTA_SRC=${FOTA_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FOTA_BUILD=${FOTA_BUILD:-$FOTA_SRC/build}
export FOTA_SRC FOTA_BUILD

FOTA_PASSED=0
FOTA_FAILED=0
FOTA__CLEANUP=()
FOTA__STAT=() # fota__stat's last read of /proc/PID/stat
FOTA__TMPDIRS=()
FOTA_BROKER_PID=""
# Address the test broker listens on: loopback, or a test host address in a namespace test.
FOTA_BROKER_BIND=${FOTA_BROKER_BIND:-127.0.0.1}
# How the test broker grants access: dynsec (the default, as in the compose stack: the
# dynamic-security plugin, which the orchestrator drives; devices must be registered, see
# fota_register in transfer_lib.sh) or acl_file (the shipped ACL file), which a test sets
# before fota_broker_start only where its purpose is the ACL file itself.
FOTA_BROKER_ACCESS=${FOTA_BROKER_ACCESS:-dynsec}
export FOTA_BROKER_ACCESS
# Whether the programs under test are a sanitizer build (cmake -DFOTA_SANITIZE=ON): read from
# the build tree's cache, a fact of the build, rather than sniffed from the binaries or from
# ASAN_OPTIONS, which only tests/run.sh sets. FOTA_SANITIZED=0/1 overrides it.
if [ -z "${FOTA_SANITIZED:-}" ]; then
	FOTA_SANITIZED=0
	if [ -f "$FOTA_BUILD/CMakeCache.txt" ] &&
		grep -qx 'FOTA_SANITIZE:BOOL=ON' "$FOTA_BUILD/CMakeCache.txt"; then
		FOTA_SANITIZED=1
	fi
fi
export FOTA_SANITIZED

# --- Results ---------------------------------------------------------------------------------

pass() {
	FOTA_PASSED=$((FOTA_PASSED + 1))
	echo "PASS: $*"
}

# A failed check that lets the script go on to the next one; fota_summary reports it.
fail_soft() {
	FOTA_FAILED=$((FOTA_FAILED + 1))
	echo "FAIL: $*"
}

# A failure after which the test cannot go on.
fail() {
	FOTA_FAILED=$((FOTA_FAILED + 1))
	echo "FAIL: $*"
	echo "$FOTA_PASSED passed, $FOTA_FAILED failed"
	exit 1
}

# fota_sanitized: true for a sanitizer build, which runs slower and checks for leaks at exit,
# and cannot run under every preloaded library.
fota_sanitized() {
	[ "$FOTA_SANITIZED" = 1 ]
}

# check "description" command...: PASS if the command succeeds, FAIL otherwise.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail_soft "$what"; fi
}

# Last line of every test; its status is the script's.
fota_summary() {
	echo "$FOTA_PASSED passed, $FOTA_FAILED failed"
	[ "$FOTA_FAILED" -eq 0 ] && [ "$FOTA_PASSED" -gt 0 ]
}

# Tools missing: fail loudly (CI installs them), or skip with 77 if FOTA_ALLOW_SKIP=1.
fota_require() {
	local t missing=""
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] && return 0
	if [ "${FOTA_ALLOW_SKIP:-0}" = 1 ]; then
		echo "skipped: missing$missing"
		exit 77
	fi
	fail "missing tools:$missing (install them or set FOTA_ALLOW_SKIP=1)"
}

# --- Cleanup ---------------------------------------------------------------------------------

# Runs a command (one string, eval'd) at exit, last registered first.
fota_cleanup_add() {
	FOTA__CLEANUP+=("$1")
}

# fota_pid_start PID: prints the process's start time (clock ticks after boot, field 22 of
# /proc/PID/stat), nothing when there is no such process. A PID and its start time name one
# process; a PID alone may since have been given to another: pid_max can be 32768, a fan-out
# bench starts thousands of processes, and a signal sent by a stale PID at one test's exit
# lands on a process of a test running beside it.
fota_pid_start() {
	fota__stat "$1" && printf '%s\n' "${FOTA__STAT[19]}"
	return 0
}

# fota_pid_is PID START: PID still names the process that started at START (START empty:
# nothing to compare, true while PID exists).
fota_pid_is() {
	fota__stat "$1" || return 1
	[ -z "${2:-}" ] || [ "${FOTA__STAT[19]}" = "$2" ]
}

# fota__stat PID: reads /proc/PID/stat once into FOTA__STAT, the fields after the command name
# ([0] state, [19] start time); false when there is no such process. No fork: stops poll it.
fota__stat() {
	local line
	FOTA__STAT=()
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -ra FOTA__STAT <<<"${line##*) }"
}

# fota_stop_pid PID [SIGNAL] [START]: signals a child (TERM by default), gives it 5 s, then
# kills it; with START (fota_pid_start), only while PID is still that process.
# (stderr off throughout: bash reports a child killed by a signal whenever it reaps it.)
fota_stop_pid() {
	local pid=$1 start=${3:-} i
	{
		fota_pid_is "$pid" "$start" || return 0
		kill -"${2:-TERM}" "$pid" || return 0
		for ((i = 0; i < 50; i++)); do
			fota_pid_is "$pid" "$start" || break
			sleep 0.1
		done
		if fota_pid_is "$pid" "$start"; then kill -KILL "$pid" || true; fi
		wait "$pid" || true
	} 2>/dev/null
}

# fota_stop_wait PID SIGNAL WHAT [LOG] [START]: signals a child and waits until it has exited,
# for at most FOTA_STOP_WAIT_S seconds (20, or 60 for a sanitizer build, fota_sanitized: it
# checks for leaks at exit). A child still there then is killed and reported on stderr, naming
# WHAT and showing the end of LOG, and the status is 1: a program that does not end on its
# signal has a bug (a stuck shutdown, a crash report that hangs), and an unbounded wait would
# hide it behind the test's timeout. With START, a PID that no longer names that process (it
# ended on its own, and the PID went to another) is left alone. The child's exit status is in
# FOTA_STOP_RC (empty when it was not waited for).
fota_stop_wait() {
	local pid=$1 sig=$2 what=$3 log=${4:-} start=${5:-} limit i
	limit=${FOTA_STOP_WAIT_S:-$(fota_sanitized && echo 60 || echo 20)}
	FOTA_STOP_RC=
	fota_pid_is "$pid" "$start" || return 0 # and no wait: PID may be another child now
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < limit * 20; i++)); do
		if fota__exited "$pid" "$start"; then
			FOTA_STOP_RC=0
			wait "$pid" 2>/dev/null || FOTA_STOP_RC=$?
			return 0
		fi
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	FOTA_STOP_RC=0
	wait "$pid" 2>/dev/null || FOTA_STOP_RC=$?
	{
		echo "FAIL: $what (pid $pid) still ran $limit s after SIG$sig: killed"
		if [ -n "$log" ]; then
			echo "--- last lines of $log ---"
			tail -n 20 "$log" 2>/dev/null || true
		fi
	} >&2
	return 1
}
# fota__exited PID [START]: the process is gone (or PID names another), or a zombie not yet
# reaped.
fota__exited() {
	fota_pid_is "$1" "${2:-}" || return 0
	[ "${FOTA__STAT[0]}" = Z ]
}

# fota_cleanup_pid PID [SIGNAL]: stops a background child at exit, if PID still names it then.
fota_cleanup_pid() {
	local start
	start=$(fota_pid_start "$1")
	[ -n "$start" ] || return 0 # already gone: nothing to stop
	fota_cleanup_add "fota_stop_pid $1 ${2:-TERM} $start"
}

fota__on_exit() {
	local rc=$? i
	set +e
	for ((i = ${#FOTA__CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${FOTA__CLEANUP[i]}"
	done
	fota_broker_stop
	if [ "$rc" -ne 0 ] && [ -n "${FOTA_BROKER_LOG:-}" ] && [ -f "$FOTA_BROKER_LOG" ]; then
		echo "--- last lines of $FOTA_BROKER_LOG ---" >&2
		tail -n 30 "$FOTA_BROKER_LOG" >&2
	fi
	if [ "${FOTA_KEEP_TMP:-0}" = 1 ]; then
		[ ${#FOTA__TMPDIRS[@]} -eq 0 ] || echo "kept: ${FOTA__TMPDIRS[*]}" >&2
	else
		for i in "${FOTA__TMPDIRS[@]}"; do rm -rf "$i"; done
	fi
	exit "$rc"
}
trap fota__on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fota_now_ms [VAR]: wall-clock milliseconds, printed or stored in VAR. From bash's
# EPOCHREALTIME, not date(1): a benchmark that stamps every output line inside its own clock
# must not pay a fork and exec per line (with VAR, not even a fork).
fota_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	if [ $# -gt 0 ]; then printf -v "$1" '%s' "${t%???}"; else echo "${t%???}"; fi
}

# fota_tmpdir VAR: a fresh directory removed at exit, its path stored in VAR.
fota_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/fota-it.XXXXXXXX")
	FOTA__TMPDIRS+=("$d")
	printf -v "$1" '%s' "$d"
}

# --- Waiting ---------------------------------------------------------------------------------

# fota_wait_for SECONDS command...: polls every 0.1 s until the command succeeds.
fota_wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# fota_wait_line FILE TEXT [SECONDS]: waits until FILE has a line containing TEXT.
fota_wait_line() {
	fota_wait_for "${3:-10}" grep -qF -- "$2" "$1" 2>/dev/null
}

# --- PKI -------------------------------------------------------------------------------------

# fota_pki DIR [device...]: a PKI with devices dev-1..dev-5 plus the ones given. Exports
# FOTA_PKI.
fota_pki() {
	local dir=$1
	shift
	fota_require openssl
	"$FOTA_SRC/certs/mkpki.sh" "$dir" --devices "dev-1 dev-2 dev-3 dev-4 dev-5 $*" \
		--broker-names "localhost mosquitto ${FOTA_BROKER_BIND}" \
		>"$dir.log" 2>&1 || { cat "$dir.log" >&2; fail "certs/mkpki.sh failed"; }
	FOTA_PKI=$(cd "$dir" && pwd)
	export FOTA_PKI
}

# fota_cert NAME: "CERT KEY" paths for an identity (orchestrator, forger, broker or a device).
fota_cert() {
	case "$1" in
	orchestrator | forger | broker) echo "$FOTA_PKI/$1.crt $FOTA_PKI/$1.key" ;;
	*) echo "$FOTA_PKI/devices/$1.crt $FOTA_PKI/devices/$1.key" ;;
	esac
}

# fota_role_cert DIR NAME ROLE: DIR/NAME.crt and .key, an operator's certificate from the test CA
# with the API role (docs/api.md) in its OU.
fota_role_cert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$2.key" \
		-subj "/CN=$2/OU=$3" -out "$1/$2.csr" 2>/dev/null
	openssl x509 -req -in "$1/$2.csr" -CA "$FOTA_PKI/ca.crt" -CAkey "$FOTA_PKI/ca.key" \
		-CAcreateserial -days 1 -out "$1/$2.crt" 2>/dev/null
}

# fota__tls_args NAME: FOTA__ARGS = connection options for the test broker as NAME's
# certificate ("-" for none: the CA only, so the client still speaks TLS).
fota__tls_args() {
	local crt key port=$FOTA_BROKER_PORT
	[ "$1" != orchestrator ] || port=${FOTA_BROKER_ORCH_PORT:-$FOTA_BROKER_PORT}
	FOTA__ARGS=(-h "$FOTA_BROKER_BIND" -p "$port" --cafile "$FOTA_PKI/ca.crt")
	if [ "$1" != "-" ]; then
		read -r crt key < <(fota_cert "$1")
		FOTA__ARGS+=(--cert "$crt" --key "$key")
	fi
}

# fota_pub NAME args... / fota_sub NAME args...: mosquitto_pub / mosquitto_sub against the test
# broker as NAME, killed after FOTA_CLIENT_TIMEOUT (10) seconds.
fota_pub() {
	fota__tls_args "$1"
	shift
	timeout "${FOTA_CLIENT_TIMEOUT:-10}" mosquitto_pub "${FOTA__ARGS[@]}" "$@"
}
fota_sub() {
	fota__tls_args "$1"
	shift
	timeout "${FOTA_CLIENT_TIMEOUT:-10}" mosquitto_sub "${FOTA__ARGS[@]}" "$@"
}

# fota_sub_bg NAME FILE args...: mosquitto_sub in the background writing to FILE until the
# test exits; its pid in FOTA_BG_PID.
fota_sub_bg() {
	local out=$2
	fota__tls_args "$1"
	shift 2
	mosquitto_sub "${FOTA__ARGS[@]}" "$@" >"$out" 2>&1 &
	FOTA_BG_PID=$!
	# KILL: mosquitto_sub can miss a TERM that arrives while it is still connecting.
	fota_cleanup_pid "$FOTA_BG_PID" KILL
}

# fota_pub_bg NAME args...: mosquitto_pub in the background (say, --repeat N --repeat-delay S
# for a steady stream) until it ends or the test exits; its pid in FOTA_BG_PID.
fota_pub_bg() {
	fota__tls_args "$1"
	shift
	mosquitto_pub "${FOTA__ARGS[@]}" "$@" >/dev/null 2>&1 &
	FOTA_BG_PID=$!
	fota_cleanup_pid "$FOTA_BG_PID" KILL
}

# --- Broker ----------------------------------------------------------------------------------

fota__port_busy() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

fota__free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		fota__port_busy "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# fota_broker_config DIR PORT: DIR/mosquitto.conf and DIR/acl from docker/mosquitto. With
# FOTA_BROKER_ACCESS=dynsec (the default), the dynamic-security variant
# (docker/mosquitto/dynsec-conf.sh): the orchestrator then has a listener of its own on
# FOTA_BROKER_ORCH_PORT, and devices may do nothing until registered (fota_register).
fota_broker_config() {
	local dir=$1 port=$2 src="$FOTA_SRC/docker/mosquitto" conf
	mkdir -p "$dir/data"
	conf=$src/mosquitto.conf
	case "$FOTA_BROKER_ACCESS" in
	dynsec | acl_file) ;;
	*) fail "FOTA_BROKER_ACCESS='$FOTA_BROKER_ACCESS': want dynsec or acl_file" ;;
	esac
	if [ "$FOTA_BROKER_ACCESS" = dynsec ]; then
		FOTA_BROKER_ORCH_PORT=$(fota__free_port) || fail "no free loopback port"
		export FOTA_BROKER_ORCH_PORT
		# (It finds the plugin as in the broker image: /usr/lib/<multiarch>/.)
		sh "$src/dynsec-conf.sh" "$src/mosquitto.conf" >"$dir/dynsec.conf.in" ||
			fail "FOTA_BROKER_ACCESS=dynsec: docker/mosquitto/dynsec-conf.sh failed (above)"
		sed -e "s|^listener 8884\$|listener $FOTA_BROKER_ORCH_PORT $FOTA_BROKER_BIND|" \
			"$dir/dynsec.conf.in" >"$dir/dynsec.conf"
		fota_dynsec_seed "$src/dynamic-security.json" >"$dir/data/dynamic-security.json" ||
			fail "docker/mosquitto/dynamic-security.json: jq could not add the test identities"
		conf=$dir/dynsec.conf
	fi
	sed -e "s|^listener 8883\$|listener $port $FOTA_BROKER_BIND|" \
		-e "s|/mosquitto/certs/|$FOTA_PKI/|" \
		-e "s|/mosquitto/config/acl|$dir/acl|" \
		-e "s|/mosquitto/data/|$dir/data/|" \
		-e "s|^log_dest stdout\$|log_dest file $dir/mosquitto.log|" \
		"$conf" >"$dir/mosquitto.conf"
	# (Logging to a file: Mosquitto does not flush stdout per line, and tests read the log.)
	# A path or listener this mapping misses would make tests run something else than users do.
	if grep -nE '^[^#]*/mosquitto/' "$dir/mosquitto.conf" >&2; then
		fail "docker/mosquitto/mosquitto.conf has a path lib.sh does not map (above)"
	fi
	grep -q "^listener $port $FOTA_BROKER_BIND\$" "$dir/mosquitto.conf" ||
		fail "docker/mosquitto/mosquitto.conf no longer has 'listener 8883'"
	# Run as root (CI), Mosquitto drops to user "mosquitto", which cannot read our 0600 keys.
	if [ "$(id -u)" = 0 ]; then
		printf '\n# Test only: stay root, the test PKI keys are 0600 root.\nuser root\n' \
			>>"$dir/mosquitto.conf"
	fi
	cp "$src/acl" "$dir/acl"
	cat >>"$dir/acl" <<-'EOF'

		# Test only, added by tests/integration/lib.sh, never in the shipped ACL: a client with
		# a valid certificate that publishes forged frames to one test group.
		user forger
		topic write fota/v1/groups/forgetest/#
	EOF
}

# fota_dynsec_seed FILE: the plugin's state file FILE (docker/mosquitto/dynamic-security.json)
# with the test-only identities the ACL file gets below: "forger" may publish to
# fota/v1/groups/forgetest/# and nothing else. Never in the shipped file.
fota_dynsec_seed() {
	fota_require jq
	jq '.clients += [{"username": "forger", "roles": [{"rolename": "test-only-forger"}],
		"textName": "Test only (tests/integration/lib.sh), never in a real broker: publishes forged frames to one test group"}]
	| .roles += [{"rolename": "test-only-forger", "acls": [
		{"acltype": "publishClientSend", "topic": "fota/v1/groups/forgetest/#", "allow": true}]}]' "$1"
}

# Accepts a TLS connection and a subscription with the orchestrator's certificate.
fota__broker_answers() {
	local crt key
	read -r crt key < <(fota_cert orchestrator)
	timeout 3 mosquitto_sub -h "$FOTA_BROKER_BIND" -p "$FOTA_BROKER_PORT" --cafile "$FOTA_PKI/ca.crt" \
		--cert "$crt" --key "$key" -t fota/v1/probe -E >/dev/null 2>&1
}

# Starts mosquitto with DIR's config on FOTA_BROKER_PORT; 0 when it answers within 10 s.
# Returns 1 if it exited (bind failure?), 2 if it did not answer in time.
fota__broker_launch() {
	local dir=$1 log=$1/mosquitto.log off deadline=$((SECONDS + 10))
	touch "$log"
	off=$(stat -c %s "$log")
	mosquitto -c "$dir/mosquitto.conf" >>"$log" 2>&1 &
	FOTA_BROKER_PID=$!
	while :; do
		if ! kill -0 "$FOTA_BROKER_PID" 2>/dev/null; then
			wait "$FOTA_BROKER_PID" 2>/dev/null || true
			FOTA_BROKER_PID=""
			return 1
		fi
		# "running" from this instance, so that another broker on the port cannot answer
		# in its place.
		if [ -n "$(tail -c "+$((off + 1))" "$log" | sed -n '/mosquitto version .* running$/p')" ] &&
			fota__broker_answers && kill -0 "$FOTA_BROKER_PID" 2>/dev/null; then
			return 0
		fi
		[ "$SECONDS" -lt "$deadline" ] || return 2
		sleep 0.1
	done
}

# fota_broker_start DIR: a real mosquitto on a free loopback port, with the shipped config.
# Exports FOTA_BROKER_PORT, FOTA_BROKER_URI, FOTA_BROKER_PID, FOTA_BROKER_DIR, FOTA_BROKER_LOG.
fota_broker_start() {
	local dir=$1 _ rc
	fota_require mosquitto mosquitto_sub mosquitto_pub timeout
	[ -n "${FOTA_PKI:-}" ] || fail "fota_broker_start needs fota_pki first"
	mkdir -p "$dir"
	FOTA_BROKER_DIR=$(cd "$dir" && pwd)
	FOTA_BROKER_LOG=$FOTA_BROKER_DIR/mosquitto.log
	export FOTA_BROKER_DIR FOTA_BROKER_LOG
	# Another process may take the port between choosing and binding: choose again.
	for _ in 1 2 3; do
		FOTA_BROKER_PORT=$(fota__free_port) || fail "no free loopback port"
		export FOTA_BROKER_PORT
		fota_broker_config "$FOTA_BROKER_DIR" "$FOTA_BROKER_PORT"
		rc=0
		fota__broker_launch "$FOTA_BROKER_DIR" || rc=$?
		[ "$rc" -eq 0 ] && break
		if [ "$rc" -eq 2 ]; then
			fota_broker_stop
			fail "mosquitto did not answer on port $FOTA_BROKER_PORT within 10 s"
		fi
		grep -q "Address already in use" "$FOTA_BROKER_LOG" ||
			fail "mosquitto exited at start (see $FOTA_BROKER_LOG)"
	done
	[ "$rc" -eq 0 ] || fail "mosquitto could not bind a free port"
	export FOTA_BROKER_PID
	export FOTA_BROKER_URI="ssl://$FOTA_BROKER_BIND:$FOTA_BROKER_PORT"
	# The orchestrator's own listener (dynsec), else the shared one.
	export FOTA_BROKER_ORCH_URI="ssl://$FOTA_BROKER_BIND:${FOTA_BROKER_ORCH_PORT:-$FOTA_BROKER_PORT}"
}

# Stops the broker; SIGTERM lets it write its persistence database.
fota_broker_stop() {
	local pid=$FOTA_BROKER_PID
	[ -n "$pid" ] || return 0
	FOTA_BROKER_PID=""
	fota_stop_pid "$pid" TERM
}

# Restarts on the same port with the same config and persistence database.
fota_broker_restart() {
	[ -n "${FOTA_BROKER_DIR:-}" ] || fail "fota_broker_restart without fota_broker_start"
	fota_broker_stop
	local rc=0
	fota__broker_launch "$FOTA_BROKER_DIR" || rc=$?
	[ "$rc" -eq 0 ] || fail "mosquitto did not come back on port $FOTA_BROKER_PORT"
	export FOTA_BROKER_PID
}

# Hard-kills the broker (no persistence write), for crash tests; fota_broker_restart revives it.
fota_broker_kill() {
	local pid=$FOTA_BROKER_PID
	[ -n "$pid" ] || return 0
	FOTA_BROKER_PID=""
	fota_stop_pid "$pid" KILL
}
