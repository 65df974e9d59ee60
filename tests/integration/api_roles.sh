#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The HTTP API under /api/v1: the role in the client certificate's OU allows or refuses each
# route, a change names the operator in the campaign's events, bad bodies get a 400 naming
# the member and store nothing, and the API and the CLI show the same campaign.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_require curl openssl jq
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
opcert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
		-subj "/CN=$1/OU=$2" -out "$T/$1.csr" 2>/dev/null
	openssl x509 -req -in "$T/$1.csr" -CA "$FOTA_PKI/ca.crt" -CAkey "$FOTA_PKI/ca.key" \
		-CAcreateserial -days 1 -out "$T/$1.crt" 2>/dev/null
}
opcert vera viewer
opcert otto operator
opcert rita release-manager
opcert nemo nobody

read -r bcrt bkey < <(fota_cert broker)
port=$(fota__free_port)
serve_start "$T/serve.log" --http-listen "127.0.0.1:$port" --http-cert "$bcrt" \
	--http-key "$bkey" --http-ca "$FOTA_PKI/ca.crt"
sim_start 2 lab "$T/sim.log" --step-ms 200
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
# One writer for a device: the API's list is the CLI's, member for member (a reading between
# two equal CLI listings, so that a status arriving in between does not count).
same_devices() {
	local a b
	a=$(fota_orch device list --json | jq -cS .)
	api vera GET devices >/dev/null
	b=$(fota_orch device list --json | jq -cS .)
	[ "$a" = "$b" ] && [ "$(jq -cS . "$T/body")" = "$a" ]
}
check "the API and the CLI list the same devices, member for member" fota_wait_for 20 same_devices
check "... each named by device, seen at Unix seconds and the same time as a string" \
	[ "$(jq -c '[.[] | [(.device | type), .last_seen_time == (.last_seen | todate)]] | unique' "$T/body")" = '[["string",true]]' ]
check "device show --json is the device's entry of device list --json" \
	[ "$(fota_orch device show sim-1 --json | jq -cS .)" = "$(fota_orch device list --json | jq -cS '.[] | select(.device == "sim-1")')" ]
# A damaged image is listed with why, not hidden, and the listing fails.
fota_random_image "$T/other.bin" 16k
other=$(fota_image_add "$T/other.bin" 2.0.1 11) || fail "image add failed"
: >"$FOTA_ORCH_STATE/images/$other/table.bin"
rc=0
fota_orch image list --json >"$T/list.json" 2>"$T/list.err" || rc=$?
check "image list with a damaged image exits 1 (got $rc)" [ "$rc" -eq 1 ]
check "... and lists it with its error" \
	[ "$(jq -r --arg i "$other" '.[] | select(.image_id == $i) | .error | length > 0' "$T/list.json")" = true ]
fota_summary
