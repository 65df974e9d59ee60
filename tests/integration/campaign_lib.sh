# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Helpers for campaign tests: a bulk PKI, the fleet simulator and the orchestrator daemon.
# Source after lib.sh and transfer_lib.sh.

FOTA_SIM_BIN=${FOTA_SIM_BIN:-$FOTA_BUILD/orchestrator/fota-fleet-sim}
ORCH_KEY_ARGS=()

# campaign_pki DIR N: a PKI with devices sim-1..sim-N (bulk mode). Exports FOTA_PKI.
campaign_pki() {
	local dir=$1 n=$2
	fota_require openssl jq
	"$FOTA_SRC/certs/mkpki.sh" "$dir" --bulk --devices "$(seq -f 'sim-%g' 1 "$n" | xargs)" \
		>"$dir.log" 2>&1 || { cat "$dir.log" >&2; fail "certs/mkpki.sh --bulk failed"; }
	FOTA_PKI=$(cd "$dir" && pwd)
	export FOTA_PKI
	ORCH_KEY_ARGS=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")
}

# sim_launch N GROUP LOG [options...]: fota-fleet-sim with sim-1..sim-N in GROUP, not waiting;
# its stdout (progress, then "ready") in LOG.out. Pid in SIM_PID.
sim_launch() {
	local n=$1 group=$2 log=$3
	shift 3
	fota_register $(seq -f "sim-%g=$group" 1 "$n")
	"$FOTA_SIM_BIN" --broker "$FOTA_BROKER_URI" --ca "$FOTA_PKI/ca.crt" \
		--certs "$FOTA_PKI/devices" --trust "$FOTA_PKI/trust" --group "$group" \
		--count "$n" "$@" >"$log.out" 2>"$log" &
	SIM_PID=$!
	fota_cleanup_pid "$SIM_PID"
}

# sim_start N GROUP LOG [options...]: sim_launch, then waits until every device connected (at
# most FOTA_SIM_READY_S seconds, default 120).
sim_start() {
	local log=$3
	sim_launch "$@"
	fota_wait_line "$log.out" "ready" "${FOTA_SIM_READY_S:-120}" || { tail "$log" >&2; fail "simulator did not start"; }
}

# serve_launch LOG [options...]: the orchestrator daemon with the orchestrator key, not waiting
# for anything; SERVE_PID is the daemon's own pid (not a subshell's), so signals reach it.
serve_launch() {
	local crt key log=$1
	shift
	read -r crt key < <(fota_cert orchestrator)
	"$FOTA_ORCH_BIN" serve --shared --broker "${FOTA_BROKER_ORCH_URI:-$FOTA_BROKER_URI}" --ca "$FOTA_PKI/ca.crt" \
		--cert "$crt" --key "$key" --state-dir "$FOTA_ORCH_STATE" --broker-access "$FOTA_BROKER_ACCESS" \
		"${ORCH_KEY_ARGS[@]}" "$@" \
		>>"$log" 2>&1 &
	SERVE_PID=$!
	fota_cleanup_pid "$SERVE_PID"
}

# serve_start LOG [options...]: serve_launch, then waits until it serves (connected and
# subscribed).
serve_start() {
	local before log=$1
	before=$(grep -c "serving" "$log" 2>/dev/null) || before=0
	serve_launch "$@"
	serve_wait "$log" "$before"
}

# serve_wait LOG [BEFORE]: waits until LOG has more than BEFORE "serving" lines.
serve_wait() {
	fota_wait_for 20 serve__started "$1" "${2:-0}" || { cat "$1" >&2; fail "serve did not start"; }
}
serve__started() {
	[ "$(grep -c "serving" "$1")" -gt "$2" ]
}

# registered GROUP N: true once N devices of GROUP in the registry have reported (a device
# fota_register entered counts only once its status arrived).
registered() {
	[ "$(fota_orch device list --group "$1" --json 2>/dev/null |
		jq '[.[] | select(.last_seen != null)] | length')" -ge "$2" ]
}

# cstatus ID FILTER: a jq filter over `campaign status ID --json`.
cstatus() {
	fota_orch campaign status "$1" --json 2>/dev/null | jq -r "$2"
}

# events ID: the campaign's event log as JSON.
events() {
	fota_orch campaign events "$1" --json
}

# campaign_env N: the campaign scene, a temporary folder $T with a bulk PKI for N simulated
# devices, a broker, and the orchestrator's state folder ($FOTA_ORCH_STATE).
campaign_env() {
	fota_tmpdir T
	campaign_pki "$T/pki" "$1"
	fota_broker_start "$T/broker"
	export FOTA_ORCH_STATE=$T/orch
}

# campaign_agents_scene MIB CHUNK N [serve options...]: the scene of a campaign to real agents:
# fota_transfer_env, a random image of MIB MiB in $T/image.bin added as 2.0.0 with CHUNK-byte
# chunks (its id in IMAGE_ID), serve started with the options (log $T/serve.log), and agents
# dev-1..dev-N in group lab, registered.
campaign_agents_scene() {
	local mib=$1 chunk=$2 n=$3 d
	shift 3
	fota_transfer_env
	ORCH_KEY_ARGS=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")
	fota_random_image "$T/image.bin" "$mib"
	IMAGE_ID=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size "$chunk") || fail "image add failed"
	serve_start "$T/serve.log" "$@"
	# All configured before the first start: fota_client_start registers them in one go.
	for d in $(seq -f 'dev-%g' 1 "$n"); do fota_client_conf "$d" "$T" lab; done
	for d in $(seq -f 'dev-%g' 1 "$n"); do fota_client_start "$d" "$T"; done
	fota_wait_for 30 registered lab "$n" || fail "the agents did not register in group lab"
}

# exits_with CODE CMD...: true if CMD exits with CODE (its stderr kept in $T/exits.err).
exits_with() {
	local want=$1 rc=0
	shift
	"$@" >/dev/null 2>"$T/exits.err" || rc=$?
	[ "$rc" = "$want" ] || { echo "exit $rc, wanted $want: $(cat "$T/exits.err")"; return 1; }
}

# bcast_frames FILE: broadcast data frames in FILE, which a `-F '%t %l'` subscriber to
# fota/v1/groups/GROUP/# writes (the table and directive have other topics).
bcast_frames() {
	grep -c '/chunks ' "$1" || true
}
# bcast_frames_at_least FILE N: true once FILE holds N broadcast frames.
bcast_frames_at_least() {
	[ "$(bcast_frames "$1")" -ge "$2" ]
}
