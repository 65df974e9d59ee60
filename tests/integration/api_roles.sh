#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The HTTP API under /api/v1: the role in the client certificate's OU allows or refuses each
# route, a change names the operator in the events, bad bodies get a 400 naming the member
# and store nothing, and the API and the CLI show the same campaign, images, devices and
# retry answer.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_require curl openssl jq

# The OpenAPI document and docs/api.md name the same routes with the same least roles.
openapi_routes() {
	awk '/^  \/[^ ]*:$/ { p = $1; sub(/:$/, "", p) }
	     /^    (get|post|put|delete):$/ { m = toupper($1); sub(/:$/, "", m) }
	     /^      x-role: / { print m, p, $2 }' "$FOTA_SRC/docs/openapi.yaml" | sort
}
apimd_routes() {
	sed -n 's/^### `\([A-Z]*\) \/api\/v1\([^`]*\)`\( (\([a-z-]*\))\)\{0,1\}$/\1 \2 \4/p' \
		"$FOTA_SRC/docs/api.md" | sed 's/start|pause|resume|abort/{command}/; s/ $/ viewer/' | sort
}
check "docs/openapi.yaml and docs/api.md list the same $(openapi_routes | wc -l) routes and roles" \
	[ "$(openapi_routes)" = "$(apimd_routes)" ]
campaign_env 2
fota_random_image "$T/image.bin" 64k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
check "image show --json is the image's entry of image list --json" \
	[ "$(fota_orch image show "$id" --json | jq -c .)" = "$(fota_orch image list --json | jq -c '.[0]')" ]
rc=0
fota_orch image show xyz >/dev/null 2>&1 || rc=$?
check "image show of a malformed id exits 2 (got $rc)" [ "$rc" -eq 2 ]
rc=0
fota_orch image show 0000000000000000 >/dev/null 2>&1 || rc=$?
check "image show of an unknown id exits 5 (got $rc)" [ "$rc" -eq 5 ]

# Operator certificates from the test CA, the role in the OU.
fota_role_cert "$T" vera viewer
fota_role_cert "$T" otto operator
fota_role_cert "$T" rita release-manager
fota_role_cert "$T" nemo nobody

read -r bcrt bkey < <(fota_cert broker)
port=$(fota__free_port)
serve_start "$T/serve.log" --http-listen "127.0.0.1:$port" --http-cert "$bcrt" \
	--http-key "$bkey" --http-ca "$FOTA_PKI/ca.crt"
: >"$T/failing"
sim_start 2 lab "$T/sim.log" --step-ms 200 --fail-health-file "$T/failing"
fota_wait_for 30 registered lab 2 || fail "devices did not register"

# api WHO METHOD PATH [BODY]: the response body in $T/body, the status code on stdout.
api() {
	local who=$1 method=$2 path=$3
	shift 3
	curl -s -o "$T/body" -w '%{http_code}' --cacert "$FOTA_PKI/ca.crt" --cert "$T/$who.crt" \
		--key "$T/$who.key" -X "$method" -H 'Content-Type: application/json' \
		"https://127.0.0.1:$port/api/v1/$path" "$@"
}
# expect WHAT CODE WHO METHOD PATH [BODY]
expect() {
	local what=$1 want=$2 got
	shift 2
	got=$(api "$@")
	if [ "$got" = "$want" ]; then pass "$what ($want)"; else fail_soft "$what: got $got, wanted $want: $(cat "$T/body")"; fi
}
body() { jq -r "$1" "$T/body"; }

create='{"id":"a1","image":"'"$id"'","group":"lab","stages":["sim-1","100%"],"fail_threshold":"1"}'
expect "viewer may not create a campaign" 403 vera POST campaigns -d "$create"
check "... the refusal names the role needed" [ "$(body .error)" = "role viewer may not do this; it needs release-manager" ]
expect "operator may not create a campaign" 403 otto POST campaigns -d "$create"
expect "a certificate with no role is refused" 403 nemo GET campaigns
expect "release-manager creates a campaign" 201 rita POST campaigns -d "$create"
check "... in draft" [ "$(body .state)" = draft ]

# Bad input: 400 naming the member, and nothing stored.
expect "not JSON" 400 rita POST campaigns -d 'nope'
expect "missing group" 400 rita POST campaigns -d '{"id":"b1","image":"'"$id"'","stages":["100%"]}'
check "... names the field" [ "$(body .field)" = group ]
expect "misspelt member" 400 rita POST campaigns -d '{"id":"b2","image":"'"$id"'","group":"lab","stages":["100%"],"fail_treshold":"1"}'
check "... names it" [ "$(body .field)" = fail_treshold ]
expect "a bad stage" 400 rita POST campaigns -d '{"id":"b3","image":"'"$id"'","group":"lab","stages":["150%"]}'
check "... names stages" [ "$(body .field)" = stages ]
expect "stages not strings" 400 rita POST campaigns -d '{"id":"b4","image":"'"$id"'","group":"lab","stages":[5]}'
expect "an unknown image" 404 rita POST campaigns -d '{"id":"b5","image":"0000000000000000","group":"lab","stages":["100%"]}'
check "... names image" [ "$(body .field)" = image ]
expect "a malformed image id" 400 rita POST campaigns -d '{"id":"b7","image":"xyz","group":"lab","stages":["100%"]}'
check "... names image" [ "$(body .field)" = image ]
expect "an unknown group" 404 rita POST campaigns -d '{"id":"b6","image":"'"$id"'","group":"nogroup","stages":["100%"]}'
check "... names group" [ "$(body .field)" = group ]
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
expect "a body over 64 KiB" 413 rita POST campaigns --data-binary "@$T/big.json"
expect "the same id again is a conflict" 409 rita POST campaigns -d "$create"
check "nothing of the refused bodies was stored" \
	[ "$(fota_orch campaign list --json | jq -c '[.[].campaign]')" = '["a1"]' ]

expect "viewer may not start it" 403 vera POST campaigns/a1/start
expect "operator starts it" 200 otto POST campaigns/a1/start
check "... now running" [ "$(body .state)" = running ]
expect "operator pauses it" 200 otto POST campaigns/a1/pause
expect "pausing a paused campaign is a conflict" 409 otto POST campaigns/a1/pause
expect "an unknown campaign" 404 vera GET campaigns/zz
expect "GET on a command" 405 otto GET campaigns/a1/pause
expect "viewer reads the events" 200 vera GET campaigns/a1/events
check "the events name the operator who paused it" \
	[ "$(jq -r '[.[] | select(.kind == "paused") | .detail][0]' "$T/body")" = "running -> paused by otto (operator)" ]
check "... and who created it" \
	[ "$(jq -r '[.[] | select(.kind == "created") | .detail][0]' "$T/body")" = "image $id (firmware 2.0.0), group lab, 2 stages by rita (release-manager)" ]
check "the CLI shows the operator's reason" [ "$(cstatus a1 .reason)" = "paused by otto (operator)" ]
expect "release-manager may resume (roles include the ones below)" 200 rita POST campaigns/a1/resume
fota_orch campaign wait a1 --state completed --timeout 60 >/dev/null || fail "campaign did not complete"

expect "viewer reads the campaign" 200 vera GET campaigns/a1
cli=$(fota_orch campaign status a1 --json)
for f in .state .stage .stages_total .counts.admitted .counts.confirmed .counts.failed '.stages[1].confirmed'; do
	check "API and CLI agree on $f ($(jq -r "$f" <<<"$cli"))" [ "$(body "$f")" = "$(jq -r "$f" <<<"$cli")" ]
done
check "API and CLI agree on the whole counts object ($(jq -c .counts <<<"$cli"))" \
	[ "$(body '.counts | tojson')" = "$(jq -c .counts <<<"$cli")" ]
fota_orch campaign create c1 --image "$id" --group lab --stage 100% >/dev/null || fail "CLI create"
expect "viewer lists campaigns" 200 vera GET campaigns
check "the API lists the CLI's campaign" [ "$(jq -c '[.[].campaign] | sort' "$T/body")" = '["a1","c1"]' ]
expect "viewer lists devices" 200 vera GET devices
# same_as_cli PATH CMD...: the API's GET PATH is CMD's JSON, member for member (a reading
# between two equal CLI readings, so that a status arriving in between does not count).
same_as_cli() {
	local path=$1 a b
	shift
	a=$("$@" | jq -cS .)
	api vera GET "$path" >/dev/null
	b=$("$@" | jq -cS .)
	[ "$a" = "$b" ] && [ "$(jq -cS . "$T/body")" = "$a" ]
}
check "the API and the CLI list the same devices, member for member" \
	fota_wait_for 20 same_as_cli devices fota_orch device list --json
check "... each named by device, seen at Unix seconds and the same time as a string" \
	[ "$(jq -c '[.[] | [(.device | type), .last_seen_time == (.last_seen | todate)]] | unique' "$T/body")" = '[["string",true]]' ]
check "device show --json is the device's entry of device list --json" \
	[ "$(fota_orch device show sim-1 --json | jq -cS .)" = "$(fota_orch device list --json | jq -cS '.[] | select(.device == "sim-1")')" ]
# force: created although the preflight refuses it, saying why.
expect "force must be true or false" 400 rita POST campaigns \
	-d '{"id":"f1","image":"'"$id"'","group":"nogroup","stages":["100%"],"force":"yes"}'
check "... names force" [ "$(body .field)" = force ]
expect "force creates what the preflight refuses" 201 rita POST campaigns \
	-d '{"id":"f1","image":"'"$id"'","group":"nogroup","stages":["100%"],"force":true}'
check "... and says why it was refused ($(body .forced))" [ "$(body '.forced | contains("nogroup")')" = true ]
check "... stored in draft" [ "$(cstatus f1 .state)" = draft ]

# Images: the API shows what the CLI shows.
expect "viewer lists images" 200 vera GET images
check "... as image list --json" [ "$(jq -cS . "$T/body")" = "$(fota_orch image list --json | jq -cS .)" ]
expect "viewer shows an image" 200 vera GET "images/$id"
check "... as image show --json" [ "$(jq -cS . "$T/body")" = "$(fota_orch image show "$id" --json | jq -cS .)" ]
expect "a malformed image id" 400 vera GET images/xyz
check "... names id" [ "$(body .field)" = id ]
expect "an unknown image" 404 vera GET images/0000000000000000
expect "POST on images" 405 rita POST images

# A device, and its groups (release-manager: they decide which campaigns reach it).
expect "viewer shows a device" 200 vera GET devices/sim-1
check "... as device show --json" fota_wait_for 20 same_as_cli devices/sim-1 fota_orch device show sim-1 --json
expect "an unknown device" 404 vera GET devices/sim-9
groups='{"groups":["lab","beta"]}'
expect "viewer may not set groups" 403 vera PUT devices/sim-2/groups -d "$groups"
expect "operator may not set groups" 403 otto PUT devices/sim-2/groups -d "$groups"
expect "a group name the CLI refuses" 400 rita PUT devices/sim-2/groups -d '{"groups":["lab","a/b"]}'
check "... names groups" [ "$(body .field)" = groups ]
check "... says why" [ "$(body .error)" = "'a/b' is not a group name ([A-Za-z0-9._-])" ]
check "... as device add --groups refuses it" exits_with 1 fota_orch device add sim-2 --groups lab,a/b
check "... with the same words" grep -qF "device add: $(body .error)" "$T/exits.err"
expect "more groups than a device follows" 400 rita PUT devices/sim-2/groups \
	-d '{"groups":["g1","g2","g3","g4","g5","g6","g7","g8","g9"]}'
check "... names groups" [ "$(body .field)" = groups ]
expect "two groups in one element" 400 rita PUT devices/sim-2/groups -d '{"groups":["lab;beta"]}'
expect "groups not an array" 400 rita PUT devices/sim-2/groups -d '{"groups":"lab"}'
check "... names groups" [ "$(body .field)" = groups ]
expect "an unknown member" 400 rita PUT devices/sim-2/groups -d '{"groups":["lab"],"group":"x"}'
check "... names it" [ "$(body .field)" = group ]
check "the refused changes changed nothing" [ "$(fota_orch device show sim-2 --json | jq -r .groups)" = lab ]
expect "groups of an unknown device" 404 rita PUT devices/sim-9/groups -d "$groups"
expect "GET on groups" 405 rita GET devices/sim-2/groups
expect "release-manager sets sim-2's groups" 200 rita PUT devices/sim-2/groups -d "$groups"
check "... answers with the device and its new groups" [ "$(body .groups)" = beta,lab ]
check "... and that the assignment was published" [ "$(body .assignment_published)" = true ]
check "the CLI shows the new groups" [ "$(fota_orch device show sim-2 --json | jq -r .groups)" = beta,lab ]
fota_sub orchestrator -t fota/v1/devices/sim-2/assignment -C 1 -W 3 >"$T/assignment.jws" ||
	fail "no retained assignment on sim-2's topic"
check "... over serve's own session, no connection of the API's own" \
	[ "$(grep -c -- '-api ' "$FOTA_BROKER_LOG" || true)" = 0 ]
check "... and serve stayed on the broker" \
	[ "$(grep -c "broker connection lost" "$T/serve.log" || true)" = 0 ]
check "the retained assignment names both groups" \
	[ "$(jq -r .payload "$T/assignment.jws" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -c .groups)" = '["beta","lab"]' ]
expect "viewer reads sim-2's events" 200 vera GET devices/sim-2/events
check "the event names who set the groups" \
	[ "$(jq -r '[.[] | select(.kind == "groups") | .detail][0]' "$T/body")" = "lab -> beta,lab by rita (release-manager)" ]

# Retry, as `campaign retry`: a canary that failed its health check is re-admitted.
fota_random_image "$T/next.bin" 32k
next=$(fota_image_add "$T/next.bin" 2.0.2 12 --chunk-size 16384) || fail "image add failed"
echo sim-1 >"$T/failing"
fota_orch campaign create r2 --image "$next" --group lab --stage sim-1 --stage 100% >/dev/null ||
	fail "campaign create r2"
fota_orch campaign start r2 >/dev/null || fail "campaign start r2"
sim1_failed() { [ "$(cstatus r2 '[.failures[] | select(.device == "sim-1")] | length')" = 1 ]; }
fota_wait_for 30 sim1_failed || fail "sim-1 did not fail"
expect "viewer may not retry" 403 vera POST campaigns/r2/retry -d '{"device":"sim-1"}'
expect "retry of a device not in the campaign" 404 otto POST campaigns/r2/retry -d '{"device":"sim-9"}'
check "... names device" [ "$(body .field)" = device ]
expect "a retry body with an unknown member" 400 otto POST campaigns/r2/retry -d '{"devices":"sim-1"}'
check "... names it" [ "$(body .field)" = devices ]
expect "a retry body that is not JSON" 400 otto POST campaigns/r2/retry -d 'sim-1'
expect "retry of a draft campaign" 409 otto POST campaigns/c1/retry
expect "GET on retry" 405 otto GET campaigns/r2/retry
check "the refused retries re-admitted nothing" [ "$(cstatus r2 '[.failures[] | select(.device == "sim-1")] | length')" = 1 ]
: >"$T/failing"
expect "operator retries sim-1" 200 otto POST campaigns/r2/retry -d '{"device":"sim-1"}'
check "... one device re-admitted" [ "$(body .retried)" = 1 ]
check "the retry event names the operator" \
	[ "$(events r2 | jq -r '[.[] | select(.kind == "retry" and .device == "sim-1") | .detail | endswith(" by otto (operator)")][0]')" = true ]
expect "a retry with nothing to retry" 200 otto POST campaigns/r2/retry
check "... as campaign retry --json says" \
	[ "$(jq -cS . "$T/body")" = "$(fota_orch campaign retry r2 --json | jq -cS .)" ]

# A damaged image is listed with why, not hidden, and the listing fails.
fota_random_image "$T/other.bin" 16k
other=$(fota_image_add "$T/other.bin" 2.0.1 11) || fail "image add failed"
: >"$FOTA_ORCH_STATE/images/$other/table.bin"
rc=0
fota_orch image list --json >"$T/list.json" 2>"$T/list.err" || rc=$?
check "image list with a damaged image exits 1 (got $rc)" [ "$rc" -eq 1 ]
check "... and lists it with its error" \
	[ "$(jq -r --arg i "$other" '.[] | select(.image_id == $i) | .error | length > 0' "$T/list.json")" = true ]
expect "the API lists it too" 200 vera GET images
check "... as image list --json" [ "$(jq -cS . "$T/body")" = "$(jq -cS . "$T/list.json")" ]
# The broker gone: setting groups answers 502 at once, saying that the registry changed and
# why no assignment was published (no connection is attempted), and /healthz, which the same
# HTTP thread answers, still does.
fota_broker_stop
fota_wait_line "$T/serve.log" "broker connection lost" 20 || fail "serve did not see the broker go"
expect "with the broker stopped, setting groups" 502 rita PUT devices/sim-2/groups -d '{"groups":["lab"]}'
check "... says the registry changed and why nothing was published ($(body .error))" \
	[ "$(body .error)" = "the registry changed, but no assignment was published: not connected to the broker (send it again)" ]
check "... and the registry did change" [ "$(fota_orch device show sim-2 --json | jq -r .groups)" = lab ]
check "/healthz answers while the broker is down" \
	[ "$(curl -s --max-time 10 --cacert "$FOTA_PKI/ca.crt" --cert "$T/vera.crt" --key "$T/vera.key" \
		"https://127.0.0.1:$port/healthz")" = ok ]
fota_broker_restart
# A listener that asks for no certificate (loopback only): every request is a viewer's.
fota_stop_pid "$SERVE_PID"
lport=$(fota__free_port)
serve_start "$T/serve2.log" --http-listen "127.0.0.1:$lport"
local_api() {
	curl -s -o "$T/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$lport/api/v1/$2"
}
check "without a certificate on loopback, reading is allowed" [ "$(local_api GET campaigns/r2)" = 200 ]
state=$(body .state)
check "... a change is refused as a viewer's" [ "$(local_api POST campaigns/r2/pause)" = 403 ]
check "... naming the role it needs" [ "$(body .error)" = "role viewer may not do this; it needs operator" ]
check "... and nothing changed" [ "$(cstatus r2 .state)" = "$state" ]
fota_summary
