#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The staged campaign of campaign_stages.sh (20 simulated devices, canary -> 50 % -> 100 %)
# with the orchestrator's store on a real PostgreSQL (tests/tools/with_postgres.sh) instead of
# SQLite: it completes the same way, and the database then holds the campaign, its events, the
# group's directive sequence and every device's audit trail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${FOTA_TEST_STORE:-}" ]; then
	exec "$here/../tools/with_postgres.sh" bash "$0" "$@"
fi
. "$here/lib.sh"

fota_tmpdir P
printf '[orchestrator]\nstore = %s\n' "$FOTA_TEST_STORE" >"$P/orchestrator.conf"
FOTA_ORCHESTRATOR_CONFIG=$P/orchestrator.conf bash "$here/campaign_stages.sh" ||
	fail "the staged campaign failed with its store on PostgreSQL"

orch() { "${FOTA_ORCHESTRATOR:-$FOTA_BUILD/orchestrator/fota-orchestrator}" --store "$FOTA_TEST_STORE" --state-dir "$P/state" "$@"; }
sql() { psql "$FOTA_TEST_STORE" -Atc "$1"; }
s=$(orch campaign status r1 --json) || fail "campaign status from PostgreSQL"
check "the campaign is completed in the database" [ "$(jq -r .state <<<"$s")" = completed ]
seq=$(jq -r .directive_seq <<<"$s")
check "the group's directive sequence is the campaign's last ($seq)" \
	[ "$(sql "SELECT seq FROM group_seqs WHERE grp = 'lab'")" = "$seq" ]
check "what was last published to the group is recorded" \
	[ "$(sql "SELECT campaign FROM group_pubs WHERE grp = 'lab'")" = r1 ]
check "every device's audit trail ends confirmed" \
	[ "$(sql "SELECT count(DISTINCT device) FROM audit WHERE state = 'confirmed'")" = 20 ]
n=$(orch campaign events r1 --json | jq length)
check "the campaign's events are there ($n)" [ "$n" -gt 20 ]
fota_summary
