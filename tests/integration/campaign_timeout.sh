#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Six members of group lab, two of which never connect (fota-fleet-sim --offline 2) and one
# more registered with a model the image is not for. `create` refuses what cannot work; the
# campaign with --device-timeout 3s --on-timeout skipped completes once the silent two time
# out, never admits the incompatible one, and `status --pending` names the silent devices.
# Along the way: `status --group` lists the members, `device add` keeps a device online.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

campaign_env 6

fota_random_image "$T/image.bin" 64k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
serve_start "$T/serve.log"
sim_start 6 lab "$T/sim.log" --offline 2
fota_wait_for 20 registered lab 4 || fail "devices did not register"
# The inventory knows the two that never connect, and a device of another model.
fota_orch device add sim-5 --groups lab --model gw-100 >/dev/null || fail "device add sim-5"
fota_orch device add sim-6 --groups lab --model gw-100 >/dev/null || fail "device add sim-6"
fota_orch device add odd-1 --groups lab --model gw-900 >/dev/null || fail "device add odd-1"

# Registering a connected device by hand leaves it online.
fota_orch device add sim-1 --groups lab >/dev/null || fail "device add sim-1"
check "device add keeps a connected device online" \
	[ "$(fota_orch device show sim-1 --json | jq -r .online)" = true ]
# status --group lists the group's members, whether or not anything was published to it.
fota_orch status --group lab --json --wait 2 >"$T/st.json" 2>"$T/st.err" ||
	fail "status --group lab"
check "status --group lists the 4 connected members" \
	[ "$(jq -r '[.[].device] | sort | join(",")' "$T/st.json")" = "sim-1,sim-2,sim-3,sim-4" ]
check "status --group names the members that sent no status" \
	grep -q "sim-5: member of lab, no status" "$T/st.err"

# create refuses campaigns that cannot do anything, with the reason and exit 5 or 2.
refuses() {
	local want=$1 why=$2
	shift 2
	exits_with "$want" fota_orch campaign create "$@" && grep -q "$why" "$T/exits.err" ||
		{ cat "$T/exits.err"; return 1; }
}
check "create refuses an unknown group (exit 5)" \
	refuses 5 "group nosuchgroup has no registered device" x1 --image "$id" \
	--group nosuchgroup --stage 100%
check "create refuses an unknown canary (exit 5)" \
	refuses 5 "'ghost-1', which is not in the registry" x2 --image "$id" --group lab \
	--stage ghost-1 --stage 100%
check "create refuses a canary of another model (exit 2)" \
	refuses 2 "registered model 'gw-900'" x3 --image "$id" --group lab --stage odd-1
check "--force creates it anyway" \
	fota_orch campaign create x4 --image "$id" --group nosuchgroup --stage 100% --force

fota_orch campaign create t1 --image "$id" --group lab --stage 100% --device-timeout 3s \
	--on-timeout skipped >/dev/null 2>"$T/create.err" || fail "campaign create"
check "create warns that one member cannot take the image" \
	grep -q "1 of 7 registered devices of group lab cannot take the image" "$T/create.err"
fota_orch campaign start t1 >/dev/null || fail "campaign start"
if fota_orch campaign wait t1 --state completed --timeout 60; then
	pass "the campaign completed past its silent devices"
else
	fota_orch campaign status t1
	fail "the campaign did not complete"
fi
s=$(fota_orch campaign status t1 --json)
fota_orch campaign status t1
check "4 confirmed, 2 timed out and skipped" \
	[ "$(jq -c '[.counts.confirmed, .counts.timed_out, .counts.skipped]' <<<"$s")" = "[4,2,2]" ]
check "the timed-out devices are sim-5 and sim-6" \
	[ "$(jq -r '[.failures[] | select(.state == "timed_out") | .device] | join(",")' \
		<<<"$s")" = "sim-5,sim-6" ]
check "odd-1 is reported incompatible, neither admitted nor expected" \
	[ "$(jq -c '[.counts.admitted, .counts.incompatible, .incompatible[0].device,
		.expected_devices]' <<<"$s")" = '[6,1,"odd-1",6]' ]
p=$(fota_orch campaign status t1 --pending --json)
check "status --pending names the silent devices and how long they were silent" \
	[ "$(jq -r '[.[] | select(.state == "timed_out" and .reported == false
		and .silent_s >= 3) | .device] | join(",")' <<<"$p")" = "sim-5,sim-6" ]
events t1 >"$T/ev.json"
check "events: sim-5 timed_out (skipped), odd-1 incompatible, never admitted" \
	[ "$(jq -r '[.[] | select(.device == "sim-5" or .device == "odd-1")
		| "\(.device):\(.kind):\(.result)"] | join(" ")' "$T/ev.json")" = \
	"odd-1:incompatible: sim-5:admitted: sim-5:timed_out:skipped" ]
fota_summary
