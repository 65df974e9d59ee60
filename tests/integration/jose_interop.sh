#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-checks our JWS envelopes against the jose CLI (libjose) in both directions.
#
# Usage: jose_interop.sh FOTA_JWS_TOOL
#   FOTA_JWS_TOOL  path to the built fota_jws_tool (tests/tools)
# Needs `jose` and `jq` on PATH; exits 77 (skip) when either is missing.
# Prints every check; exits non-zero on the first mismatch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 FOTA_JWS_TOOL" >&2
	exit 2
fi
tool=$1
for cmd in jose jq; do
	if ! command -v "$cmd" >/dev/null; then
		echo "SKIP: $cmd not installed"
		exit 77
	fi
done

# jose parses an -i argument with two dots as compact JWS text, so file names have one dot.
fota_tmpdir work
cd "$work"

# Non-ASCII and JSON-special bytes, so base64url and byte-exact payload handling both matter.
printf '{"schema":"fota.manifest.v1","sequence":7,"note":"interop \xc3\xa9 \\"q\\" +/="}\n' >payload

# $1 alg, $2 kid: key_<kid>.jwk (private) and a trust store entry with the public half.
make_key() {
	jose jwk gen -i "{\"alg\":\"$1\"}" -o "key_$2.jwk"
	mkdir -p trust/release trust/orchestrator
	jose jwk pub -i "key_$2.jwk" -o "trust/release/$2.jwk"
}

# $1 description, $2 file produced by a verifier, compared with the signed payload.
same_payload() {
	cmp -s payload "$2" || fail "$1: payload differs after verification"
}

# $1 alg: runs every direction and form for one algorithm.
check_alg() {
	local alg=$1 k1="interop-${1,,}-1" k2="interop-${1,,}-2"

	make_key "$alg" "$k1"
	make_key "$alg" "$k2"

	# ours -> jose, general and flattened
	"$tool" sign "key_$k1.jwk" "$k1" payload >ours_general.json
	jq -e '.signatures | length == 1' ours_general.json >/dev/null ||
		fail "$alg: our general form lacks signatures[]"
	jose jws ver -i ours_general.json -k "trust/release/$k1.jwk" -O out ||
		fail "$alg: jose rejects our general serialization"
	same_payload "$alg ours general" out
	pass "$alg: jose jws ver accepts our general JSON serialization"

	"$tool" sign "key_$k1.jwk" "$k1" payload --flat >ours_flat.json
	jq -e 'has("signature") and (has("signatures") | not)' ours_flat.json >/dev/null ||
		fail "$alg: our flattened form is not flattened"
	jose jws ver -i ours_flat.json -k "trust/release/$k1.jwk" -O out ||
		fail "$alg: jose rejects our flattened serialization"
	same_payload "$alg ours flattened" out
	pass "$alg: jose jws ver accepts our flattened JSON serialization"

	# jose -> ours: flattened, the same as general with one signature, and two signers
	jose jws sig -I payload -k "key_$k1.jwk" -s "{\"protected\":{\"kid\":\"$k1\"}}" \
		-o theirs_flat.json
	jq -e 'has("signature")' theirs_flat.json >/dev/null ||
		fail "$alg: jose did not produce the flattened form"
	"$tool" verify trust release theirs_flat.json >out ||
		fail "$alg: we reject jose's flattened serialization"
	same_payload "$alg jose flattened" out
	pass "$alg: we verify jose jws sig flattened JSON serialization"

	jq -c '{payload, signatures: [{protected, signature}]}' theirs_flat.json \
		>theirs_general1.json
	"$tool" verify trust release theirs_general1.json >out ||
		fail "$alg: we reject jose's signature in general serialization"
	same_payload "$alg jose general (1)" out
	pass "$alg: we verify jose's signature in general JSON serialization"

	jose jws sig -I payload \
		-k "key_$k1.jwk" -s "{\"protected\":{\"kid\":\"$k1\"}}" \
		-k "key_$k2.jwk" -s "{\"protected\":{\"kid\":\"$k2\"}}" -o theirs_general2.json
	jq -e '.signatures | length == 2' theirs_general2.json >/dev/null ||
		fail "$alg: jose did not produce two signatures"
	"$tool" verify trust release theirs_general2.json >out ||
		fail "$alg: we reject jose's two-signature general serialization"
	same_payload "$alg jose general (2)" out
	pass "$alg: we verify jose jws sig general JSON serialization with two signers"

	# Both sides must refuse a changed payload; ours must refuse the wrong role.
	jq -c '.payload = "e30"' ours_flat.json >tampered.json
	if jose jws ver -i tampered.json -k "trust/release/$k1.jwk" >/dev/null 2>&1; then
		fail "$alg: jose accepts our envelope with a replaced payload"
	fi
	jq -c '.payload = "e30"' theirs_flat.json >tampered.json
	if "$tool" verify trust release tampered.json >/dev/null 2>&1; then
		fail "$alg: we accept jose's envelope with a replaced payload"
	fi
	if "$tool" verify trust orchestrator theirs_flat.json >/dev/null 2>&1; then
		fail "$alg: we accept a release signature for the orchestrator role"
	fi
	pass "$alg: both refuse a replaced payload; a release key does not sign for orchestrator"

	rm -f trust/release/*.jwk
}

check_alg ES256
# Older jose builds (libjose < 12) have no EdDSA; check it whenever the build offers it.
if grep -qx EdDSA <<<"$(jose alg)" && jose jwk gen -i '{"alg":"EdDSA"}' >/dev/null 2>&1; then
	check_alg EdDSA
else
	echo "# EdDSA: not supported by this jose build, not checked"
fi
fota_summary
