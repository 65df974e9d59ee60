# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Helpers for directive tests: take the directive the orchestrator published, change members
# with jq, sign it again with the orchestrator key and publish it to a group, so a test can
# send any window, state or group a real orchestrator could sign. Source after lib.sh and
# transfer_lib.sh.

FOTA_JWS_TOOL=${FOTA_JWS_TOOL:-$FOTA_BUILD/tests/tools/fota_jws_tool}

# directive_payload GROUP: the payload of GROUP's retained directive (verified), to stdout.
directive_payload() {
	local env
	env=$(mktemp "$T/directive.XXXXXX")
	FOTA_CLIENT_TIMEOUT=5 fota_sub orchestrator -t "fota/v1/groups/$1/directive" -C 1 -W 4 \
		| tr -d '\n' >"$env" || fail "no retained directive on group $1"
	"$FOTA_JWS_TOOL" verify "$FOTA_PKI/trust" orchestrator "$env" ||
		fail "the retained directive of $1 does not verify"
}

# directive_resign GROUP JQ OUT: GROUP's retained directive changed by the jq filter JQ and
# signed with the orchestrator key, as an envelope in OUT.
directive_resign() {
	directive_payload "$1" | jq -c "$2" >"$3.json" || fail "jq '$2' failed"
	truncate -s -1 "$3.json" # jq's newline is not part of the document
	"$FOTA_JWS_TOOL" sign "$FOTA_PKI/signing/orchestrator/orch-1.pem" - "$3.json" |
		tr -d '\n' >"$3" || fail "signing the directive failed"
}

# directive_send FILE GROUP: publishes the envelope in FILE, retained, as the orchestrator.
directive_send() {
	fota_pub orchestrator -t "fota/v1/groups/$2/directive" -q 1 -r -f "$1" ||
		fail "publishing the directive to $2 failed"
}

# rfc3339 SECONDS_FROM_NOW: a UTC time for directive members.
rfc3339() {
	date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ
}
