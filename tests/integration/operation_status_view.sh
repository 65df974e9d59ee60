#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `status` shows the fleet from the store as well as from the broker: a device the store heard
# from but whose retained status the broker does not replay (a broker that replays retained
# messages only to exact topics, or a status that was cleared) is still listed, marked "source":
# "store", while a device with a retained status is listed from the broker. A device that is only
# registered and never reported is not a row: `--group` names it as silent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"

fota_require jq
fota_tmpdir T
fota_pki "$T/pki"
fota_broker_start "$T/broker"
export FOTA_ORCH_STATE=$T/orch

ORCH_KEY_ARGS=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")
# dev-1 and dev-2 publish their statuses below: registered first, as the broker admits only
# registered devices.
fota_register dev-1=lab dev-2=lab
fota_orch device add dev-1 --groups lab --version 1.0 >/dev/null || fail "device add dev-1"
fota_orch device add dev-3 --groups lab >/dev/null || fail "device add dev-3"
ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# dev-1 reports once while serve records it, then its retained status is cleared: only the
# store still knows it.
serve_start "$T/serve.log"
fota_pub dev-1 -i dev-1 -q 1 -r -t fota/v1/devices/dev-1/status \
	-m "{\"device\":\"dev-1\",\"state\":\"idle\",\"result\":\"none\",\"version\":\"1.0\",\"groups\":[\"lab\"],\"ts\":\"$ts\"}" ||
	fail "status of dev-1"
seen_dev1() { [ -n "$(fota_orch device show dev-1 --json 2>/dev/null | jq -r '.last_seen // empty')" ]; }
fota_wait_for 20 seen_dev1 || fail "serve did not record dev-1: $(fota_orch device show dev-1 --json)"
fota_stop_pid "$SERVE_PID"
fota_pub dev-1 -i dev-1 -q 1 -r -n -t fota/v1/devices/dev-1/status || fail "clearing dev-1's status"
fota_pub dev-2 -i dev-2 -q 1 -r -t fota/v1/devices/dev-2/status \
	-m "{\"device\":\"dev-2\",\"state\":\"idle\",\"result\":\"none\",\"version\":\"2.0\",\"ts\":\"$ts\"}" ||
	fail "retained status of dev-2"

fota_orch status --wait 1 --json >"$T/status.json" 2>"$T/status.err" || fail "status: $(cat "$T/status.err")"
src() { jq -r --arg d "$1" '.[] | select(.device == $d) | .source' "$T/status.json"; }
check "dev-1, known only to the store, is listed from the store (got '$(src dev-1)')" \
	[ "$(src dev-1)" = store ]
check "with the registry's version (got '$(jq -r '.[] | select(.device == "dev-1") | .version' "$T/status.json")')" \
	[ "$(jq -r '.[] | select(.device == "dev-1") | .version' "$T/status.json")" = 1.0 ]
check "dev-2, with a retained status, is listed from the broker (got '$(src dev-2)')" \
	[ "$(src dev-2)" = broker ]
fota_orch status --wait 1 --group lab >"$T/table" 2>&1 || fail "status --group lab"
check "the table lists dev-1 and does not call it silent: $(tr '\n' '|' <"$T/table")" \
	sh -c "grep -q '^dev-1 ' '$T/table' && ! grep -q 'dev-1: member of lab, no status' '$T/table'"
check "dev-3, registered and never heard from, is no row (got '$(src dev-3)')" \
	[ -z "$(src dev-3)" ]
check "and --group names it as silent" grep -q "dev-3: member of lab, no status received" "$T/table"
fota_summary
