#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-checks our JWE key wrap (ECDH-ES+A256KW, A256GCM) against python3-jwcrypto in both
# directions, with a device key and certificate made as the PKI makes them (P-256).
#
# Usage: jwe_interop.sh FOTA_JWE_TOOL
#   FOTA_JWE_TOOL  path to the built fota_jwe_tool (tests/tools)
# Needs openssl and Debian's python3 with jwcrypto (/usr/bin/python3); exits 77 (skip) when
# jwcrypto is missing. Prints every check; exits non-zero on the first mismatch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 FOTA_JWE_TOOL" >&2
	exit 2
fi
tool=$1
# Debian's interpreter, where python3-jwcrypto installs, whatever python3 PATH finds first.
py=/usr/bin/python3
if ! "$py" -c 'import jwcrypto' 2>/dev/null; then
	echo "SKIP: python3-jwcrypto not installed"
	exit 77
fi

fota_tmpdir work
cd "$work"

# The device's TLS key and a certificate for it; another device's key.
openssl ecparam -name prime256v1 -genkey -noout -out dev-1.key 2>/dev/null
openssl req -new -x509 -key dev-1.key -subj /CN=dev-1 -days 1 -out dev-1.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out dev-2.key 2>/dev/null
cek=$(openssl rand -hex 32)

# jwcrypto: decrypt FILE with KEY and print the key in hex; or encrypt HEX to CERT with KID.
cat >jwc.py <<'PY'
import sys
from jwcrypto import jwe, jwk
from jwcrypto.common import json_encode

def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if b"CERTIFICATE" in data:
        from cryptography import x509
        return jwk.JWK.from_pyca(x509.load_pem_x509_certificate(data).public_key())
    return jwk.JWK.from_pem(data)

if sys.argv[1] == "decrypt":
    key = load(sys.argv[2])
    tok = jwe.JWE()
    tok.deserialize(open(sys.argv[3]).read().strip(), key=key)
    hdr = tok.jose_header
    assert hdr["alg"] == "ECDH-ES+A256KW" and hdr["enc"] == "A256GCM", hdr
    print(tok.payload.hex(), hdr.get("kid", ""))
else:
    key = load(sys.argv[2])
    hdr = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": sys.argv[3]}
    tok = jwe.JWE(bytes.fromhex(sys.argv[4]), json_encode(hdr))
    tok.add_recipient(key)
    print(tok.serialize(compact=True))
PY

# Ours -> jwcrypto: wrapped to the certificate, as the orchestrator wraps.
"$tool" wrap dev-1.crt dev-1 "$cek" >ours.jwe
read -r got kid < <("$py" jwc.py decrypt dev-1.key ours.jwe)
[ "$got" = "$cek" ] || fail "jwcrypto unwrapped $got from our JWE, expected $cek"
[ "$kid" = dev-1 ] || fail "our JWE's kid is '$kid'"
pass "our JWE, wrapped to the certificate, unwraps with jwcrypto to the same key (kid dev-1)"

# jwcrypto -> ours.
"$py" jwc.py encrypt dev-1.crt dev-1 "$cek" >theirs.jwe
got=$("$tool" unwrap dev-1.key theirs.jwe)
[ "$got" = "$cek" ] || fail "we unwrapped $got from jwcrypto's JWE, expected $cek"
pass "jwcrypto's JWE unwraps with our code to the same key"

# Another device's key opens neither, with the reason a device reports.
for f in ours.jwe theirs.jwe; do
	if "$tool" unwrap dev-2.key "$f" >out 2>err; then
		fail "dev-2's key unwrapped $f: $(cat out)"
	fi
	grep -q "content key does not unwrap" err || fail "dev-2 on $f: $(cat err)"
	if "$py" jwc.py decrypt dev-2.key "$f" >/dev/null 2>&1; then
		fail "jwcrypto unwrapped $f with dev-2's key"
	fi
done
pass "another device's key unwraps neither JWE, ours or jwcrypto's: $(cat err)"

fota_summary
