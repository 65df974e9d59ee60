#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end through docker/compose.yaml: build, bring the stack up, publish a real signed update
# to the gateways' group, wait for every gateway's final state, check each installed image
# byte for byte, check that Prometheus scrapes the orchestrator (target up, the confirmed
# gateways in a fota metric), that the published dashboard port answers only with a client
# certificate and that the broker enforces group membership (a gateway's certificate is refused
# another group's topics) and refuses a gateway's certificate on the orchestrator's listener,
# print a summary, and tear everything down (also on failure). The same stack also runs
# docker/compose.wrong-ca.yaml: a fourth gateway whose certificate comes from a CA the broker
# does not trust, which the broker must refuse in the TLS handshake (its address refused, never
# connected, in the broker's log) and which must end without the image.
#
# Usage: tests/e2e/compose.sh [--postgresql] [--mib N] [--timeout S] [--keep]
#   --postgresql add docker/compose.postgresql.yaml (store in a PostgreSQL service); the run
#                also finds the publish record and the audit trail in the database.
#                Full mode only (FOTA_FULL=1), else exit 77.
#   --mib N      image size in MiB (default 4);  --timeout S  wait for the gateways (default
#                300);  --keep  leave the stack up for a post-mortem.
# Exit: 0 when the devices that failed are exactly the expected one (the wrong-CA gateway) and
# the broker refused it, 1 otherwise (a device without the image, a container that exited
# early, a timeout, the wrong-CA gateway connected).
# Works with `docker compose`, or podman + podman-compose (tests/e2e/engine_lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/engine_lib.sh"

postgresql=0
mib=4
timeout_s=""
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--postgresql) postgresql=1; shift ;;
	--mib) mib=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) sed -n '14,22s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
[ -n "$timeout_s" ] || timeout_s=300
if [ "$postgresql" = 1 ] && [ "${FOTA_FULL:-0}" != 1 ]; then
	echo "SKIP: the PostgreSQL compose variant builds one more image; it runs with FOTA_FULL=1"
	exit 77
fi

# The gateways the update must reach, and every device the verdict covers: the wrong-CA
# gateway can never confirm, so the publish does not wait for it.
gateways=(gw-1 gw-2 gw-3)
devices=("${gateways[@]}" wrong-ca-device)
expect_fail=(wrong-ca-device)
files=(-f "$src/docker/compose.yaml" -f "$src/docker/compose.wrong-ca.yaml")
extra=()
if [ "$postgresql" = 1 ]; then
	files+=(-f "$src/docker/compose.postgresql.yaml")
	extra=(postgresql)
fi
project=fotae2e$$
work=$(mktemp -d "${TMPDIR:-/tmp}/fota-compose.XXXXXX")
t0=$SECONDS
declare -A phase=()

e2e_have jq || e2e_apt jq || e2e_die "jq is missing"
e2e_have curl || e2e_apt curl || e2e_die "curl is missing"
# free_port: a loopback TCP port nothing listens on, for the stack's published ports.
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
FOTA_DASHBOARD_PORT=$(free_port) && FOTA_PROMETHEUS_PORT=$(free_port) ||
	e2e_die "no free loopback port"
export FOTA_DASHBOARD_PORT FOTA_PROMETHEUS_PORT
# Images tagged for this run only: another build of the stack at the same time (another
# checkout) cannot retag what this run starts. Layers stay cached across runs.
export FOTA_IMAGE_TAG=$project
e2e_engine
e2e_log "engine: $ENGINE, compose: ${COMPOSE[*]}, project $project, work folder $work"
e2e_base_image
e2e_check_names

compose() { "${COMPOSE[@]}" -p "$project" "${files[@]}" "$@"; }

# cid SERVICE: the container of a service in this project.
cid() {
	"$ENGINE" ps -a -q --filter "label=com.docker.compose.project=$project" \
		--filter "label=com.docker.compose.service=$1" | sed -n 1p
}
# state SERVICE: "running", "exited 0", ... or "absent".
state() {
	local c
	c=$(cid "$1")
	[ -n "$c" ] || { echo absent; return; }
	"$ENGINE" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$c" 2>/dev/null |
		sed 's/^running .*/running/' || echo absent
}
orch() {
	"$ENGINE" exec "$(cid orchestrator)" fota-orchestrator --client-id orchestrator-cli "$@"
}

teardown() {
	local rc=$? s
	set +e
	[ -n "${publish_pid:-}" ] && kill "$publish_pid" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		for s in pki mosquitto "${extra[@]}" orchestrator prometheus "${devices[@]}"; do
			echo "--- last lines of $s ($(state "$s")) ---" >&2
			"$ENGINE" logs "$(cid "$s")" 2>&1 | tail -n 15 >&2
		done
	fi
	if [ "$keep" = 1 ]; then
		echo "kept: project $project (${COMPOSE[*]} -p $project ${files[*]} down -v)" >&2
	else
		e2e_log "removing the stack"
		# podman-compose's down is one podman command per container and volume: the same
		# removal by the project's label takes one per kind.
		if [ "$ENGINE" = docker ]; then
			compose down -v >"$work/down.log" 2>&1 ||
				{ echo "compose down failed:" >&2; tail -n 5 "$work/down.log" >&2; }
		fi
		e2e_remove_project "$project"
		images=()
		for s in client pki broker orchestrator prometheus; do
			images+=("localhost/fota-$s:$FOTA_IMAGE_TAG")
		done
		"$ENGINE" rmi "${images[@]}" >/dev/null 2>&1 || true
		rm -rf "$work"
	fi
	e2e_log "done in $((SECONDS - t0)) s"
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() {
	local name=$1
	shift
	local t=$SECONDS
	"$@"
	phase[$name]=$((SECONDS - t))
}

# One service per image: gw-2, gw-3 and wrong-ca-device run gw-1's image, which podman-compose
# 1.0.3 would otherwise build once per service (3 more builds, from cache, seconds each). `up`
# builds only an image that is missing.
build_services=(pki mosquitto orchestrator prometheus gw-1 "${extra[@]}")
build_up() {
	e2e_log "building the images and starting the stack"
	compose build "${build_services[@]}" >"$work/build.log" 2>&1 ||
		{ tail -n 40 "$work/build.log" >&2; e2e_die "compose build failed (above)"; }
	# podman-compose 1.0.3 exits 0 when an image fails to build and leaves the old image
	# under its tag: the stack would then run stale binaries.
	if grep -q '^exit code: [1-9]' "$work/build.log"; then
		grep -B 30 -m 1 '^exit code: [1-9]' "$work/build.log" >&2
		e2e_die "an image failed to build (above)"
	fi
	compose up -d >"$work/up.log" 2>&1 ||
		{ tail -n 40 "$work/up.log" >&2; e2e_die "compose up failed (above)"; }
}
step build_up build_up

# The one-shot PKI service must end with 0; every other container must stay up.
wait_pki() {
	local deadline=$((SECONDS + 120)) s
	while :; do
		s=$(state pki)
		case "$s" in
		"exited 0") return 0 ;;
		exited*) e2e_die "the pki service failed ($s)" ;;
		esac
		[ "$SECONDS" -lt "$deadline" ] || e2e_die "the pki service did not finish in 120 s ($s)"
		sleep 1
	done
}
step pki wait_pki

# Containers that must be running; a device expected to fail may die.
check_running() {
	local s d
	for s in mosquitto orchestrator prometheus "${devices[@]}"; do
		d=$(state "$s")
		[ "$d" = running ] && continue
		[[ " ${expect_fail[*]} " == *" $s "* ]] && continue
		echo "container of $s is not running ($d)"
		return 1
	done
}

e2e_log "release: a $mib MiB image signed with the release key"
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/firmware-2.0.0.bin"
"$ENGINE" exec -i "$(cid orchestrator)" sh -c 'cat >/var/lib/fota-orchestrator/upload.bin' \
	<"$work/firmware-2.0.0.bin" || e2e_die "cannot copy the image into the orchestrator"
image_id=$(orch image add /var/lib/fota-orchestrator/upload.bin --name firmware \
	--version 2.0.0 --vendor acme --model gw-100 --hw B --sequence 10) ||
	e2e_die "image add failed"
e2e_log "image $image_id; publishing to group fleet, waiting for ${gateways[*]}"

# publish waits for every device; meanwhile, any container that stops ends the run.
publish() {
	local rc=0 list attempt
	list=$(IFS=,; echo "${gateways[*]}")
	# Exit 4 is a failed broker connection before anything was published (seen once on a
	# freshly started podman network): retrying then is what an operator would do.
	for attempt in 1 2 3; do
		rc=0
		orch publish "$image_id" --group fleet --wait-devices "$list" --wait-state confirmed \
			--timeout "$timeout_s" >"$work/publish.log" 2>&1 &
		publish_pid=$!
		publish_watch || rc=$?
		[ "$rc" -eq 4 ] && [ "$attempt" -lt 3 ] || break
		e2e_log "publish could not connect to the broker (attempt $attempt): $(tail -n 1 "$work/publish.log")"
		sleep 3
	done
	publish_rc=$rc
	sed 's/^/   publish: /' "$work/publish.log" | grep -v 'downloading' || true
}

# publish_watch: waits for the publish; any container that stops meanwhile ends the run.
publish_watch() {
	local rc=0 why
	while kill -0 "$publish_pid" 2>/dev/null; do
		if ! why=$(check_running); then
			kill "$publish_pid" 2>/dev/null
			wait "$publish_pid" 2>/dev/null
			publish_pid=""
			cat "$work/publish.log"
			e2e_die "$why before the update ended"
		fi
		sleep 2
	done
	wait "$publish_pid" || rc=$?
	publish_pid=""
	return "$rc"
}
step publish publish
check_running || e2e_die "a container stopped"

# Prometheus, through its published port: the orchestrator target is up (TLS with the monitor
# client certificate) and a fota metric carries what the update did.
promql() {
	curl -s --max-time 5 "http://127.0.0.1:$FOTA_PROMETHEUS_PORT/api/v1/query" \
		--data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
# wait_promql QUERY VALUE: up to 60 s (scrapes every 5 s) for QUERY to give VALUE.
wait_promql() {
	local deadline=$((SECONDS + 60)) v
	while :; do
		v=$(promql "$1")
		[ "$v" = "$2" ] && return 0
		[ "$SECONDS" -lt "$deadline" ] || { echo "$1 = '${v}', wanted $2"; return 1; }
		sleep 2
	done
}
prometheus_check() {
	local ok=$((${#devices[@]} - ${#expect_fail[@]}))
	wait_promql 'up{job="fota-orchestrator"}' 1 ||
		{ curl -s "http://127.0.0.1:$FOTA_PROMETHEUS_PORT/api/v1/targets" | jq -c '.data.activeTargets[] | {health, lastError}' >&2 || true
		  e2e_die "Prometheus does not report the orchestrator target up"; }
	wait_promql 'fota_devices{state="confirmed"}' "$ok" ||
		e2e_die "Prometheus did not scrape fota_devices{state=\"confirmed\"} = $ok"
	e2e_log "prometheus: target up, fota_devices{state=\"confirmed\"} = $ok"
}
step prometheus prometheus_check

# The dashboard port, published on the host's loopback: a client certificate of the compose CA
# opens it (the one Prometheus uses), none gets 403.
dashboard_check() {
	local c code base=https://127.0.0.1:$FOTA_DASHBOARD_PORT
	c=$(cid prometheus)
	for f in ca.crt monitor.crt monitor.key; do
		"$ENGINE" exec "$c" cat "/etc/fota-prometheus/$f" >"$work/$f" ||
			e2e_die "cannot read $f from the prometheus container"
	done
	code=$(curl -s -o "$work/dashboard.html" -w '%{http_code}' --cacert "$work/ca.crt" \
		--cert "$work/monitor.crt" --key "$work/monitor.key" "$base/") || true
	[ "$code" = 200 ] && grep -q '<title>FOTA fleet</title>' "$work/dashboard.html" ||
		e2e_die "the dashboard on $base/ answered $code with the monitor certificate"
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/ca.crt" "$base/") || true
	[ "$code" = 403 ] || e2e_die "the dashboard answered $code without a client certificate"
	e2e_log "dashboard: $base/ answers with the monitor certificate, 403 without"
}
step dashboard dashboard_check

# Verdict per device: its container, the state it reported, and the installed bytes.
orch status --json >"$work/status.json" 2>"$work/status.err" || true
failed=()
printf '\n%-18s %-10s %-12s %-10s %s\n' DEVICE CONTAINER STATE IMAGE VERDICT
for d in "${devices[@]}"; do
	st=$(jq -r --arg d "$d" '.[] | select(.device == $d) | .state' "$work/status.json" \
		2>/dev/null | sed -n 1p)
	[ -n "$st" ] || st=none
	img=missing
	if "$ENGINE" exec "$(cid "$d")" cat /var/lib/fota/target/firmware.bin \
		>"$work/$d.bin" 2>/dev/null; then
		cmp -s "$work/$d.bin" "$work/firmware-2.0.0.bin" && img=identical || img=differs
	fi
	verdict=ok
	if [ "$st" != confirmed ] || [ "$img" != identical ]; then
		verdict=FAILED
		failed+=("$d")
	fi
	printf '%-18s %-10s %-12s %-10s %s\n' "$d" "$(state "$d" | cut -d' ' -f1)" "$st" "$img" \
		"$verdict"
done

# Group membership is the broker's (dynamic security): with gw-1's certificate, from inside the
# broker container (MQTT stays on the compose network), the broker hands out its group's
# retained directive and refuses another group's topics (MQTT 3.1.1 SUBACK 0x80, which
# mosquitto_sub reports). Run last: the client id is the certificate CN, so each probe takes
# over gw-1's session for a moment.
# broker_sub TOPIC ARGS...: mosquitto_sub's output as gw-1, exit status ignored.
broker_sub() {
	local topic=$1
	shift
	"$ENGINE" exec "$(cid mosquitto)" timeout 15 mosquitto_sub -h mosquitto -p 8883 -V mqttv311 \
		--cafile /pki/ca.crt --cert /pki/devices/gw-1.crt --key /pki/devices/gw-1.key \
		-t "$topic" "$@" 2>&1 || true
}
enforcement_check() {
	local own other
	own=$(broker_sub fota/v1/groups/fleet/directive -C 1 -W 10)
	other=$(broker_sub 'fota/v1/groups/lab/#' -W 5)
	if [ -z "$own" ] || grep -q "denied" <<<"$own"; then
		enforcement="gw-1 did not get its own group's directive: ${own:-nothing}"
	elif ! grep -q "All subscription requests were denied" <<<"$other"; then
		enforcement="the broker did not refuse gw-1 group lab's topics: ${other:-no SUBACK 0x80}"
	else
		enforcement=""
		echo "   broker: gw-1 reads fleet's directive and is refused fota/v1/groups/lab/# (SUBACK 0x80)"
	fi
}
step enforcement enforcement_check

# The orchestrator's listener 8884 keeps client ids, so it trusts only the operator CA: gw-1's
# certificate asking for client id gw-2 there fails the TLS handshake and cannot close gw-2's
# session. A watcher (the orchestrator's certificate on 8884) sees every status of gw-2 (its
# last will would be "offline") until a fence published after the attempt. The broker's log
# reaches `logs` only when it stops (stdout is not flushed per line): this runs last, then
# stops the broker and finds the refusal there, and no "Client gw-2 already connected".
takeover_check() {
	local c rc=0 out watch_pid i
	c=$(cid mosquitto)
	"$ENGINE" exec "$c" timeout 30 mosquitto_sub -h mosquitto -p 8884 -V mqttv311 -i e2e-watch \
		--cafile /pki/ca.crt --cert /pki/orchestrator.crt --key /pki/orchestrator.key \
		-t fota/v1/devices/gw-2/status -t fota/v1/fence >"$work/gw-2.watch" 2>&1 &
	watch_pid=$!
	for ((i = 0; i < 50; i++)); do
		grep -q '"gw-2"' "$work/gw-2.watch" && break
		sleep 0.2
	done
	out=$("$ENGINE" exec "$c" timeout 15 mosquitto_sub -h mosquitto -p 8884 -V mqttv311 -i gw-2 \
		--cafile /pki/ca.crt --cert /pki/devices/gw-1.crt --key /pki/devices/gw-1.key \
		-t fota/v1/groups/fleet/directive -W 3 2>&1) || rc=$?
	"$ENGINE" exec "$c" timeout 15 mosquitto_pub -h mosquitto -p 8884 -i e2e-fence -q 1 \
		--cafile /pki/ca.crt --cert /pki/orchestrator.crt --key /pki/orchestrator.key \
		-t fota/v1/fence -m fence-8884 >/dev/null 2>&1 || true
	for ((i = 0; i < 50; i++)); do
		grep -q fence-8884 "$work/gw-2.watch" && break
		sleep 0.2
	done
	kill "$watch_pid" 2>/dev/null || true
	wait "$watch_pid" 2>/dev/null || true
	"$ENGINE" stop -t 10 "$c" >/dev/null 2>&1 || true
	"$ENGINE" logs "$c" >"$work/broker.log" 2>&1 || true
	takeover=""
	# 27: -W ran out, so the impostor was connected; 0: it read a message.
	if [ "$rc" = 0 ] || [ "$rc" = 27 ]; then
		takeover="gw-1's certificate connected to 8884 as gw-2 (exit $rc): $out"
	elif ! grep -q '"gw-2"' "$work/gw-2.watch" || ! grep -q fence-8884 "$work/gw-2.watch"; then
		takeover="the watcher of gw-2's status saw no status or no fence: $(head -c 300 "$work/gw-2.watch")"
	elif grep -q '"offline"' "$work/gw-2.watch"; then
		takeover="gw-2's last will (offline) was published"
	elif grep -q "Client gw-2 already connected" "$work/broker.log"; then
		takeover="the broker closed gw-2's connection for the impostor"
	elif ! grep -q "certificate verify failed" <<<"$(grep -A 1 "on port 8884\.$" "$work/broker.log")"; then
		takeover="the broker log shows no refused certificate on 8884"
	else
		echo "   broker: gw-1's certificate refused in the TLS handshake on 8884 (exit $rc); gw-2 stayed connected"
	fi
}
# The wrong-CA gateway must have tried the broker before takeover_check stops it: wait for the
# agent's own report of a connect that failed after the TCP connection was made (its log
# reaches `logs` at once; Paho's wording varies, but an unknown name or a closed port is
# reported as "cannot resolve broker host" or "HOST port N: ERROR"), and note its address on
# the compose network, by which the broker's log names its connections.
wrong_ca_attempts() {
	"$ENGINE" logs "$1" 2>&1 | grep 'cannot connect to' |
		grep -v -e 'cannot resolve broker host' -e ' port [0-9]*: '
}
wrong_ca_tried() {
	local c deadline=$((SECONDS + 60))
	c=$(cid wrong-ca-device)
	wrong_ca_ip=$("$ENGINE" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \
		"$c" 2>/dev/null | awk '{print $1}')
	until wrong_ca_attempts "$c" >/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || break
		sleep 1
	done
	wrong_ca_attempts "$c" | sed -n 1p | sed 's/^/   wrong-ca-device log: /' || true
}
step wrong_ca wrong_ca_tried
step takeover takeover_check

# The wrong-CA gateway was refused by the broker in the TLS handshake, not failed for another
# reason: in the broker's log (takeover_check stopped it), a connection from its address on
# 8883 ends with a failed certificate check, and no connection from its address was ever
# accepted.
refusal=""
if [ -z "${wrong_ca_ip:-}" ]; then
	refusal="no address of the wrong-CA gateway's container"
elif grep -q "New client connected from $wrong_ca_ip:" "$work/broker.log"; then
	refusal="the broker accepted a connection from the wrong-CA gateway ($wrong_ca_ip): $(grep -m 1 "New client connected from $wrong_ca_ip:" "$work/broker.log")"
elif ! grep -A 2 "New connection from $wrong_ca_ip:[0-9]* on port 8883\.$" "$work/broker.log" |
	grep -q "certificate verify failed"; then
	refusal="the broker log shows no refused certificate from the wrong-CA gateway ($wrong_ca_ip)"
else
	echo "   broker: the wrong-CA gateway's certificate refused in the TLS handshake on 8883 ($wrong_ca_ip)"
fi

# The PostgreSQL variant: what the orchestrator did is in the database, not in a SQLite file.
store_check=""
if [ "$postgresql" = 1 ]; then
	# As the orchestrator connects: role fota with its password (compose.postgresql.yaml).
	psql() {
		"$ENGINE" exec -e PGPASSWORD=fota-dev-only "$(cid postgresql)" \
			psql -h 127.0.0.1 -U fota -d fota -At -c "$1" 2>&1 || true
	}
	pubs=$(psql "SELECT count(*) FROM group_pubs WHERE grp = 'fleet' AND image_id = '$image_id'")
	audited=$(psql "SELECT count(DISTINCT device) FROM audit WHERE image_id = '$image_id'")
	sqlite=$("$ENGINE" exec "$(cid orchestrator)" sh -c \
		'[ -e /var/lib/fota-orchestrator/orchestrator.db ] && echo present || echo absent')
	echo "   postgresql: publish records $pubs, devices in the audit trail $audited; SQLite file $sqlite"
	[ "$pubs" = 1 ] && [ "$audited" = "${#gateways[@]}" ] &&
		[ "$sqlite" = absent ] || store_check="the store's rows are not in PostgreSQL"
fi

echo
echo "publish exit code: $publish_rc; timings: build+up ${phase[build_up]} s, pki ${phase[pki]} s, update ${phase[publish]} s ($mib MiB), prometheus ${phase[prometheus]} s, group check ${phase[enforcement]} s, wrong-CA attempt ${phase[wrong_ca]} s, takeover check ${phase[takeover]} s"
echo "failed devices: ${failed[*]:-none}; expected to fail: ${expect_fail[*]:-none}"
if [ "${failed[*]:-}" != "${expect_fail[*]:-}" ]; then
	echo "compose e2e FAILED: the failed devices are not the expected ones"
	exit 1
fi
if [ -n "$enforcement" ]; then
	echo "compose e2e FAILED: $enforcement"
	exit 1
fi
if [ -n "$takeover" ]; then
	echo "compose e2e FAILED: $takeover"
	exit 1
fi
if [ -n "$store_check" ]; then
	echo "compose e2e FAILED: $store_check"
	exit 1
fi
if [ -n "$refusal" ]; then
	echo "compose e2e FAILED: $refusal"
	exit 1
fi
echo "compose e2e passed: $((${#devices[@]} - ${#failed[@]})) of ${#devices[@]} gateways updated and verified${expect_fail:+, ${expect_fail[*]} refused as expected}"
