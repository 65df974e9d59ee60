#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Time to an installed update over a 2 Mbit/s link: a full payload, a zstd payload and a delta
# payload, each published to one agent, against nginx + curl fetching the full image over HTTPS
# on the same link.
#
# Usage: bench/slow_link.sh [--pair libssl3] [--kbit 2000]
# Two network namespaces made here, a server side (broker, orchestrator, nginx) and a device
# side (the agent, curl), joined by a veth pair with a tc tbf of --kbit each way; the only
# addresses are the pair's own. The images are the pair's uncompressed payloads from
# bench/delta_sizes.sh (--payloads-to): the device first installs the old one (not timed), then
# each run installs the new one (`file` method) from `publish --no-broadcast` (a single device
# fetches its payload by repair, as a campaign serves one device) until it reports confirmed.
# Needs root, a built tree (FOTA_BUILD, default ./build), mosquitto, nginx and curl.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export FOTA_SRC=${FOTA_SRC:-$(cd "$BENCH_DIR/.." && pwd)}
export FOTA_BUILD=${FOTA_BUILD:-$FOTA_SRC/build}
PAIR=libssl3
KBIT=2000
INNER=0
while [ $# -gt 0 ]; do
	case "$1" in
	--pair) PAIR=$2; shift 2 ;;
	--kbit) KBIT=$2; shift 2 ;;
	--inner) INNER=1; shift ;;
	-h | --help) sed -n '4,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "slow_link.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

if [ "$INNER" = 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "slow_link.sh: needs root (ip netns)" >&2; exit 2; }
	# The images first, while the package mirror can be reached.
	IMG=$(mktemp -d "${TMPDIR:-/tmp}/fota-slow-link.XXXXXX")
	trap 'rm -rf "$IMG"' EXIT
	read -r _ v_old v_new < <(bash "$BENCH_DIR/delta_sizes.sh" --pairs "$PAIR" --payloads-to "$IMG")
	export IMG PAIR_VERSIONS="$v_old $v_new"
	n=$((RANDOM % 200 + 20))
	export SRV_NS=fota-srv-$$ DEV_NS=fota-dev-$$ SRV_IP=10.252.$n.1 DEV_IP=10.252.$n.2
	ip netns add "$SRV_NS"
	trap 'ip netns del "$SRV_NS" 2>/dev/null || true; ip netns del "$DEV_NS" 2>/dev/null || true; rm -rf "$IMG"' EXIT
	ip netns add "$DEV_NS"
	ip -n "$SRV_NS" link add sl0 type veth peer name sl1 netns "$DEV_NS"
	ip -n "$SRV_NS" addr add "$SRV_IP/30" dev sl0
	ip -n "$DEV_NS" addr add "$DEV_IP/30" dev sl1
	for ns in "$SRV_NS" "$DEV_NS"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$SRV_NS" link set sl0 up
	ip -n "$DEV_NS" link set sl1 up
	ip netns exec "$SRV_NS" tc qdisc add dev sl0 root tbf rate "${KBIT}kbit" burst 32kbit latency 400ms
	ip netns exec "$DEV_NS" tc qdisc add dev sl1 root tbf rate "${KBIT}kbit" burst 32kbit latency 400ms
	ip netns exec "$SRV_NS" bash "$0" --inner --pair "$PAIR" --kbit "$KBIT"
	exit $?
fi

# --- inside the server namespace -----------------------------------------------------------
export FOTA_BROKER_BIND=$SRV_IP
. "$BENCH_DIR/bench_lib.sh"
NGINX_ADDR=$SRV_IP
HTTPS_CLIENT_WRAP="ip netns exec $DEV_NS"
. "$BENCH_DIR/https_baseline.sh"
fota_transfer_env
ORCH_KEY=$FOTA_PKI/signing/orchestrator/orch-1.pem
# The repair pace: 7/8 of the link, the rest is TCP, TLS and MQTT overhead.
RATE=$((KBIT * 1000 / 8 * 7 / 8))

read -r v_old v_new <<<"$PAIR_VERSIONS"
OLD=$IMG/$PAIR.old NEW=$IMG/$PAIR.new
echo "pair $PAIR: $v_old -> $v_new, $(stat -c %s "$OLD") -> $(stat -c %s "$NEW") bytes, ${KBIT} kbit/s" >&2

# start_device DEV GROUP: the agent in the device namespace.
start_device() {
	fota_client_conf "$1" "$T" "$2" "stall_timeout_s=600"
	ip netns exec "$DEV_NS" "$FOTA_CLIENT_BIN" --config "$T/$1/client.conf" >>"$T/$1/client.log" 2>&1 &
	FOTA_CLIENT_PIDS[$1]=$!
	fota_cleanup_pid "$!"
	fota_wait_for 60 fota__state_is "$1" idle || fail "$1 did not come online over the link"
}

# install DEV GROUP ID: seconds from publish to the device's confirmed report.
install() {
	local t0 t1
	t0=$(fota_now_ms)
	fota_orch publish "$3" --group "$2" --orch-key "$ORCH_KEY" --no-broadcast --rate "$RATE" \
		--wait-devices "$1" --wait-state confirmed --timeout 1800 >"$T/publish-$3.log" 2>&1 ||
		{ tail -n 20 "$T/publish-$3.log" "$T/$1/client.log" >&2; fail "$1 did not install $3"; }
	t1=$(fota_now_ms)
	fota_same "$T/$1/target/firmware.bin" "$NEW" "$1's installed image" >&2
	R=$(secs "$t0" "$t1")
}

payload_bytes() { stat -c %s "$FOTA_ORCH_STATE/images/$1/image.bin"; }

# The full image, then the zstd payload, each to a device of its own group.
full=$(fota_image_add "$NEW" 2.0.0 10) || fail "image add (full)"
start_device dev-2 gfull
install dev-2 gfull "$full"; t_full=$R
fota_client_kill dev-2 TERM
zst=$(fota_image_add "$NEW" 2.0.0 10 --compress zstd:19) || fail "image add --compress"
start_device dev-3 gzstd
install dev-3 gzstd "$zst"; t_zstd=$R
fota_client_kill dev-3 TERM
# The delta: the device first runs the old image, then takes the new one's delta.
base=$(fota_image_add "$OLD" 1.0.1 5) || fail "image add (base)"
start_device dev-1 gdelta
NEW_SAVED=$NEW NEW=$OLD
install dev-1 gdelta "$base"
NEW=$NEW_SAVED
withdelta=$(fota_image_add "$NEW" 2.0.0 10 --delta-from "$base") || fail "image add --delta-from"
delta_id=$(fota_orch image show "$withdelta" --json | jq -r .delta.image_id)
install dev-1 gdelta "$withdelta"; t_delta=$R
grep -q "accepted: firmware 2.0.0 (delta payload $delta_id" "$T/dev-1/client.log" ||
	fail "dev-1 did not take the delta"
fota_client_kill dev-1 TERM
# nginx + curl: the full image over HTTPS on the same link.
https_get "$NEW"; t_https=$R

b_full=$(payload_bytes "$full") b_zstd=$(payload_bytes "$zst") b_delta=$(payload_bytes "$delta_id")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| payload | bytes | time to installed, s | / nginx + curl |"
echo "|---|---:|---:|---:|"
echo "| nginx + curl, full image over HTTPS (fetch only) | $(stat -c %s "$NEW") | $t_https | 1.00 |"
echo "| ours, full image | $b_full | $t_full | $(ratio "$t_full" "$t_https") |"
echo "| ours, zstd -19 | $b_zstd | $t_zstd | $(ratio "$t_zstd" "$t_https") |"
echo "| ours, delta | $b_delta | $t_delta | $(ratio "$t_delta" "$t_https") |"
echo
echo "pair $PAIR $v_old -> $v_new; ${KBIT} kbit/s tbf each way; repair pace $RATE B/s; delta vs full: $(ratio "$t_full" "$t_delta")x faster, vs nginx + curl: $(ratio "$t_https" "$t_delta")x faster; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
fota_summary >&2
