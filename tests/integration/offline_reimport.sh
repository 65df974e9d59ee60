#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Importing an encrypted release again on the same host (docs/orchestrator.md, "image import"):
# the image keeps the content key it was imported with, so the devices a campaign already gave
# that key can open every chunk served after the import; the sealed payloads stay byte for byte
# the same while the manifest is replaced. A manifest that offers another delta payload, or
# none where the stored one offers a delta, is refused with the reason and changes nothing:
# sealing other bytes as the delta under the kept key would reuse its nonces. So is an import
# over a stored directory that does not open.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_require openssl
fota_tmpdir T
FOTA_ORCH_STATE=$T/state
# A release key and a trust store with its public half: all this test signs and verifies.
install -d "$T/trust/release"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/release-1.pem" \
	2>/dev/null || fail "openssl could not make a release key"
openssl pkey -in "$T/release-1.pem" -pubout -out "$T/trust/release/release-1.pem"

# sign VERSION SEQUENCE OUT [options...]: an --encrypt manifest for fw.bin, signed offline.
sign() {
	local version=$1 seq=$2 out=$3
	shift 3
	"$FOTA_ORCH_BIN" --state-dir "$T/no-state" image sign "$T/fw.bin" --name firmware \
		--version "$version" --vendor acme --model gw-100 --hw B --sequence "$seq" \
		--chunk-size 16384 --release-key "$T/release-1.pem" \
		--out "$out" --encrypt "$@" >/dev/null
}
import() {
	"$FOTA_ORCH_BIN" --state-dir "$FOTA_ORCH_STATE" image import "$T/fw.bin" --trust "$T/trust" \
		--manifest "$@" >/dev/null
}
# refused MANIFEST WHAT [options...]: the import exits 1 saying the image is imported already.
refused() {
	local manifest=$1 what=$2 rc=0
	shift 2
	import "$manifest" "$@" 2>"$T/err" || rc=$?
	if [ "$rc" = 1 ] && grep -q "is imported already" "$T/err"; then
		pass "$what: refused: $(cat "$T/err")"
	else
		fail_soft "$what: exit $rc, want 1 and 'is imported already': $(cat "$T/err")"
	fi
}

fota_random_image "$T/base1.bin" 96k
fota_random_image "$T/base2.bin" 96k
{ head -c 50000 "$T/base1.bin"; head -c 2000 /dev/urandom; tail -c +50001 "$T/base1.bin"; } \
	>"$T/fw.bin"
id=$(sha256sum "$T/fw.bin" | cut -c1-16)
sign 2.0.0 10 "$T/a.jws" --delta-from "$T/base1.bin" --delta-out "$T/a.delta" ||
	fail "image sign --encrypt --delta-from failed"
import "$T/a.jws" --delta "$T/a.delta" || fail "the first import failed"
img=$FOTA_ORCH_STATE/images/$id
delta=$FOTA_ORCH_STATE/images/$(sha256sum "$T/a.delta" | cut -c1-16)
cp "$img/content.key" "$T/key.1"
cp "$img/image.bin" "$T/sealed.1"
cp "$delta/image.bin" "$T/delta-sealed.1"

# The same manifest again, as a retried deployment script would import it.
import "$T/a.jws" --delta "$T/a.delta" 2>"$T/again.err" ||
	fail "importing the same manifest again failed: $(cat "$T/again.err")"
check "the same import again keeps the content key" cmp -s "$img/content.key" "$T/key.1"
check "... and the sealed chunks, byte for byte" cmp -s "$img/image.bin" "$T/sealed.1"
check "... and the sealed delta payload" cmp -s "$delta/image.bin" "$T/delta-sealed.1"
check "... and says so: $(cat "$T/again.err")" grep -q "keeps its content key" "$T/again.err"

# A new manifest for the same bytes (another version and sequence), with the same delta.
sign 2.0.1 11 "$T/b.jws" --delta-from "$T/base1.bin" --delta-out "$T/b.delta" ||
	fail "image sign of the second manifest failed"
cmp -s "$T/a.delta" "$T/b.delta" || fail "the delta from the same base differs between signings"
import "$T/b.jws" --delta "$T/b.delta" 2>"$T/b.err" ||
	fail "importing a new manifest for the image failed: $(cat "$T/b.err")"
check "the new manifest is stored" cmp -s "$img/manifest.jws" "$T/b.jws"
check "... under the content key of the first import" cmp -s "$img/content.key" "$T/key.1"
check "... with the same sealed chunks" cmp -s "$img/image.bin" "$T/sealed.1"

# Refused: another delta payload, or none, under the kept key.
sign 2.0.2 12 "$T/c.jws" --delta-from "$T/base2.bin" --delta-out "$T/c.delta" ||
	fail "image sign with another base failed"
refused "$T/c.jws" "a manifest offering another delta payload" --delta "$T/c.delta"
check "... stores nothing of that delta" [ ! -e "$FOTA_ORCH_STATE/images/$(sha256sum "$T/c.delta" | cut -c1-16)" ]
sign 2.0.3 13 "$T/d.jws" || fail "image sign without a delta failed"
refused "$T/d.jws" "a manifest offering no delta payload"
check "the refusals left the stored manifest" cmp -s "$img/manifest.jws" "$T/b.jws"
check "... the content key" cmp -s "$img/content.key" "$T/key.1"
check "... and the sealed chunks" cmp -s "$img/image.bin" "$T/sealed.1"

# A stored directory that does not open is not replaced either: its key may be in use.
: >"$img/table.bin"
refused "$T/b.jws" "a re-import over a damaged image directory" --delta "$T/b.delta"
check "... keeps its content key" cmp -s "$img/content.key" "$T/key.1"
fota_summary
