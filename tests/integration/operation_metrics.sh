#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# serve's HTTP endpoints: /metrics passes `promtool check metrics`, its figures match a
# finished campaign (broadcast bytes: image size x broadcasts, and what a subscriber saw) and
# docs/operations.md lists exactly its metrics; /healthz answers before the broker does and
# /readyz is 503 until it connects and again without it; off loopback the listener needs TLS
# with client certificates and refuses clients without one; the dashboard, loaded in headless
# Chromium while the campaign is held mid-way, shows its counts then and the final ones after.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_require curl promtool chromium
campaign_env 3
fota_random_image "$T/image.bin" 64k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
port=$(fota__free_port)
url=http://127.0.0.1:$port
# answers PATH LINE: GET PATH has the line LINE (read whole: grep -q ending the pipe early
# would fail curl under pipefail).
answers() { curl -s "$url$1" >"$T/answer" && grep -qxF "$2" "$T/answer"; }
# Before the broker answers: alive, not ready, saying what it waits for.
fota_broker_stop
serve_launch "$T/serve.log" --http-listen "127.0.0.1:$port"
fota_wait_line "$T/serve.log" "http: listening on 127.0.0.1:$port" 10 || fail "no http listener before the broker"
check "before the broker: /healthz answers 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]
check "before the broker: /readyz answers 503" [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 503 ]
check "... naming the broker" answers /readyz "broker not connected: $FOTA_BROKER_ORCH_URI (not reached yet)"
check "... and /metrics says it is not connected" answers /metrics "fota_broker_connected 0"
check "a listen address in use ends serve (exit 1) without waiting for its broker" exits_with 1 \
	timeout 20 "$FOTA_ORCH_BIN" serve --state-dir "$T/orch-busy" --broker tcp://127.0.0.1:1 --http-listen "127.0.0.1:$port"
check "... saying so" grep -qF "http: cannot listen on 127.0.0.1:$port" "$T/exits.err"
fota_broker_restart
serve_wait "$T/serve.log"
check "once the broker answers: /readyz 200" \
	fota_wait_for 10 eval '[ "$(curl -s -o /dev/null -w "%{http_code}" "$url/readyz")" = 200 ]'

check "/healthz answers 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]
check "on a loopback listener without client certificates the API reads (viewer)" \
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/campaigns")" = 200 ]
check "... and changes nothing (403)" \
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$url/api/v1/campaigns")" = 403 ]
check "an unknown path is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/nope")" = 404 ]
check "POST /metrics is 405" \
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$url/metrics")" = 405 ]

# What the group's broadcasts put on the broker, counted independently of serve.
fota_sub_bg orchestrator "$T/frames.txt" -t "fota/v1/groups/lab/#" -F '%t %l'
# sim-3 stays off line (registered by hand) until the dashboard has seen the campaign held
# mid-way: stage 2 running with sim-2 confirmed and sim-3 waited for.
sim_start 3 lab "$T/sim.log" --step-ms 200 --offline 1
fota_orch device add sim-3 --groups lab >/dev/null || fail "device add sim-3"
# sim-1 and sim-2 report; sim-3 is registered, silent.
fota_wait_for 30 registered lab 2 || fail "devices did not register"
fota_orch campaign create m1 --image "$id" --group lab --stage sim-1 --stage 100% >/dev/null ||
	fail "campaign create"
fota_orch campaign start m1 >/dev/null || fail "campaign start"
# The dashboard in a real headless browser: its script polls the API and fills the page.
dom() {
	chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=3000 --dump-dom \
		"$url/" 2>/dev/null
}
# row FILE: the m1 row of the campaigns table; cellof FILE CLASS: the text of its cell of that
# class.
row() { grep -o '<tr data-campaign="m1">.*</tr>' "$1" || true; }
cellof() { { row "$1" | grep -o "<td class=\"$2\">[^<]*" | sed -n 's/.*>//;1p'; } || true; }
mid_way() { [ "$(cstatus m1 '"\(.stage) \(.counts.confirmed)"')" = "2 2" ]; }
fota_wait_for 60 mid_way || fail "the campaign did not reach stage 2 with 2 devices confirmed"
dom >"$T/dom-running.html"
check "mid-campaign the dashboard shows m1 running in stage 2/2" \
	eval '[ "$(cellof "$T/dom-running.html" state)" = running ] && grep -qF "<td>2/2</td>" <<<"$(row "$T/dom-running.html")"'
check "... with the counts of campaign status: $(cstatus m1 .counts.admitted) admitted, 2 confirmed" eval \
	'[ "$(cellof "$T/dom-running.html" admitted)" = "$(cstatus m1 .counts.admitted)" ] && [ "$(cellof "$T/dom-running.html" confirmed)" = 2 ]'
bar=$(row "$T/dom-running.html" | grep -o 'class="ok" style="width: [0-9.]*%' | grep -o '[0-9.]*%') || true
check "... and its progress bar short of 100% ($bar)" awk -v w="${bar%\%}" 'BEGIN { exit !(w != "" && w > 0 && w < 100) }'
check "... and 2 devices on 2.0.0" \
	grep -q '<tr data-version="2.0.0"><td>2.0.0</td><td class="count">2</td></tr>' "$T/dom-running.html"
# sim-3 comes on line and finishes the campaign.
sim_start 3 lab "$T/sim3.log" --step-ms 200 --offline "sim-1 sim-2"
fota_orch campaign wait m1 --state completed --timeout 90 >/dev/null || fail "campaign did not complete"
dom >"$T/dom-done.html"
check "the dashboard shows m1 completed" [ "$(cellof "$T/dom-done.html" state)" = completed ]
check "... with the confirmed count of campaign status" \
	[ "$(cellof "$T/dom-done.html" confirmed)" = "$(cstatus m1 .counts.confirmed)" ]
check "... and the admitted count" [ "$(cellof "$T/dom-done.html" admitted)" = "$(cstatus m1 .counts.admitted)" ]
check "... and 3 devices on 2.0.0" \
	grep -q '<tr data-version="2.0.0"><td>2.0.0</td><td class="count">3</td></tr>' "$T/dom-done.html"
check "... and the campaign's last event" grep -q 'completed' <(grep -o '<ol id="events">.*</ol>' "$T/dom-done.html")

# A broadcast's bytes are counted when it ends, which its record in the store follows.
check "the broadcasts are recorded as ended" \
	fota_wait_for 20 answers /metrics 'fota_broadcasts{state="active"} 0'
curl -sf -D "$T/headers" "$url/metrics" >"$T/metrics" || fail "GET /metrics"
check "/metrics is the Prometheus text format 0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers"
if promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1; then
	pass "promtool check metrics passes"
else
	cat "$T/promtool.out"
	fail_soft "promtool check metrics passes"
fi
# metric VALUE: true if the sample line "metric value" is in the exposition.
metric() { grep -qxF "$1 $2" "$T/metrics" || { echo "want '$1 $2', have: $(grep -F "${1%%\{*}" "$T/metrics" | grep -v '^#')"; return 1; }; }
# What the store says, read through the CLI, so the figures are not hard-coded.
confirmed=$(cstatus m1 .counts.confirmed)
check "the CLI counts 3 confirmed" [ "$confirmed" = 3 ]
check "stage 1 admitted 1" metric 'fota_campaign_stage_devices{campaign="m1",stage="1",outcome="admitted"}' 1
check "stage 1 confirmed 1" metric 'fota_campaign_stage_devices{campaign="m1",stage="1",outcome="confirmed"}' 1
check "stage 2 admitted 2" metric 'fota_campaign_stage_devices{campaign="m1",stage="2",outcome="admitted"}' 2
check "stage 2 confirmed 2" metric 'fota_campaign_stage_devices{campaign="m1",stage="2",outcome="confirmed"}' 2
check "stage 2 failed 0" metric 'fota_campaign_stage_devices{campaign="m1",stage="2",outcome="failed"}' 0
check "one completed campaign" metric 'fota_campaigns{state="completed"}' 1
check "no running campaign" metric 'fota_campaigns{state="running"}' 0
check "devices by state: $confirmed confirmed" metric 'fota_devices{state="confirmed"}' "$confirmed"
check "devices by version: $confirmed on 2.0.0" metric 'fota_devices_by_version{version="2.0.0"}' "$confirmed"
check "3 devices registered" metric fota_devices_registered \
	"$(fota_orch device list --json | jq length)"
check "broker connected" metric fota_broker_connected 1
check "directives were published" awk '$1 == "fota_directives_published_total" && $2 >= 2 { ok = 1 } END { exit !ok }' "$T/metrics"
check "statuses were ingested" awk '$1 == "fota_status_ingested_total" && $2 > 0 { ok = 1 } END { exit !ok }' "$T/metrics"
# value METRIC: its sample's value.
value() { awk -v m="$1" '$1 == m { print $2 }' "$T/metrics"; }
size=$(fota_orch image show "$id" --json | jq .size)
nchunks=$(fota_orch image show "$id" --json | jq .chunk_count)
broadcasts=$(value 'fota_broadcasts{state="success"}')
check "stage 2 (2 of 3 devices) was broadcast ($broadcasts), none stopped or failed" eval \
	'[ "$broadcasts" -ge 1 ] && metric "fota_broadcasts{state=\"stopped\"}" 0 && metric "fota_broadcasts{state=\"failed\"}" 0'
check "broadcast chunks: $nchunks chunks x $broadcasts broadcasts" \
	metric fota_broadcast_chunks_sent_total $((nchunks * broadcasts))
# Each chunk frame has the protocol's 32-byte header (docs/protocol.md).
check "broadcast bytes: ($size image bytes + 32 per chunk) x $broadcasts broadcasts" \
	metric fota_broadcast_bytes_sent_total $(((size + 32 * nchunks) * broadcasts))
check "... which a subscriber to the group's chunks topic received" \
	metric fota_broadcast_bytes_sent_total "$(awk '$1 ~ /\/chunks$/ { n += $2 } END { print n + 0 }' "$T/frames.txt")"
check "stage 1's single device fetched the image by repair ($nchunks chunks at least)" \
	awk -v n="$nchunks" '$1 == "fota_repair_frames_sent_total" && $2 >= n { ok = 1 } END { exit !ok }' "$T/metrics"
check "... through served repair requests" \
	awk '$1 == "fota_repair_requests_total{outcome=\"served\"}" && $2 >= 1 { ok = 1 } END { exit !ok }' "$T/metrics"
check "the ingest queue has a depth and an age" eval \
	'[ -n "$(value fota_status_queue_length)" ] && [ -n "$(value fota_status_queue_oldest_seconds)" ]'
# docs/operations.md lists every metric with its type, and nothing that is not exposed.
awk '$1 == "#" && $2 == "TYPE" { print $3, $4 }' "$T/metrics" | sort >"$T/exposed"
sed -n '/^Every metric/,/^Test:/p' "$FOTA_SRC/docs/operations.md" |
	sed -n 's/^| `\(fota_[a-z_]*\)[^`]*` | \([a-z]*\) |.*/\1 \2/p' | sort >"$T/documented"
check "docs/operations.md lists each exposed metric and type, and only those ($(wc -l <"$T/exposed") metrics)" \
	diff "$T/documented" "$T/exposed"

fota_broker_stop
if fota_wait_for 20 eval '[ "$(curl -s -o /dev/null -w "%{http_code}" "$url/readyz")" = 503 ]'; then
	pass "/readyz answers 503 without the broker"
else
	fail_soft "/readyz answers 503 without the broker"
fi
check "... saying why" answers /readyz "broker not connected: $FOTA_BROKER_ORCH_URI (reconnecting)"
check "/healthz still 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]
check "/metrics shows the broker down" answers /metrics "fota_broker_connected 0"
fota_stop_wait "$SERVE_PID" TERM "fota-orchestrator serve" "$T/serve.log" ||
	fail "serve did not end on SIGTERM"

# Off loopback: refused without TLS and client certificates (before any broker connection).
check "a non-loopback listener without TLS is a configuration error" exits_with 2 \
	"$FOTA_ORCH_BIN" serve --state-dir "$T/orch2" --broker tcp://127.0.0.1:1 --http-listen "0.0.0.0:$port"
check "... naming what to set" grep -qF "[http] listen 0.0.0.0:$port is not a loopback address: set [http] cert, key and ca" "$T/exits.err"

# The TLS listener answers before any broker does: none is started for it.
read -r bcrt bkey < <(fota_cert broker)
# Any client certificate of the CA (a simulated device's): /healthz needs no role.
read -r ccrt ckey < <(fota_cert sim-1)
tport=$(fota__free_port)
FOTA_ORCH_STATE=$T/orch3 serve_launch "$T/serve3.log" --http-listen "0.0.0.0:$tport" \
	--http-cert "$bcrt" --http-key "$bkey" --http-ca "$FOTA_PKI/ca.crt"
fota_wait_line "$T/serve3.log" "http: listening on 0.0.0.0:$tport (TLS, client certificates)" 10 ||
	fail "no TLS listener"
turl=https://127.0.0.1:$tport
check "TLS: a client with a certificate of the CA gets /healthz" \
	[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$FOTA_PKI/ca.crt" --cert "$ccrt" --key "$ckey" "$turl/healthz")" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$FOTA_PKI/ca.crt" "$turl/healthz" || true)
check "TLS: a client without a certificate is refused (403)" [ "$code" = 403 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$FOTA_PKI/ca.crt" --cert "$FOTA_PKI/wrong-ca.crt" --key "$FOTA_PKI/wrong-ca.key" "$turl/healthz" || true)
check "TLS: a certificate of another CA is refused ($code)" [ "$code" != 200 ]
check "plain HTTP on the TLS port gets no answer" eval '! curl -sf "http://127.0.0.1:$tport/healthz" >/dev/null'
fota_summary
