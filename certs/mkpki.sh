#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes a development PKI for the FOTA system: TLS CA and certificates, signing keys, trust store.
#
# Usage: mkpki.sh OUTDIR [--devices "dev-1 dev-2"] [--broker-names "localhost mosquitto"]
#                        [--http-names "orchestrator"] [--force] [--bulk]
#
# Running it again over an existing OUTDIR keeps the CA and every file already there and only
# adds what is missing (new devices, say); delete broker.crt to reissue it with other names.
# --force deletes what this script made and starts over. --bulk issues each device certificate
# with a single openssl process (key, request and signature at once) and checks one of them
# instead of each: about 20 times faster, for simulated fleets of hundreds of devices.
# --http-names also makes the orchestrator's HTTPS server certificate (http.crt, for those DNS
# names, localhost and 127.0.0.1) and a client certificate for scrapers and dashboard readers
# (monitor.crt, CN monitor, OU viewer).
# Two CAs: ca.crt signs the broker's server certificate and every device certificate;
# operator-ca.crt signs only the orchestrator's client certificate, so that the broker's
# orchestrator listener (dynamic security, docs/operations.md) can refuse every device in the
# TLS handshake. client-cas.crt (both CAs, derived on every run) is what the shared device
# listener trusts, so the one orchestrator certificate works there too.
# Everything is ECDSA P-256 and made with the openssl command line only. Development use only:
# a production PKI keeps the CAs and the release key offline.
set -euo pipefail

usage() {
	sed -n '4,6s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

die() {
	echo "mkpki: $*" >&2
	exit 1
}

# Identities the broker ACL gives special rights to, and test certificates with fixed names:
# a device certificate with one of these CNs would inherit those rights or clash.
RESERVED_IDS="orchestrator forger broker ca wrong-ca wrong-ca-device expired-device http monitor"

OUT=""
DEVICES="dev-1 dev-2 dev-3"
BROKER_NAMES=""
HTTP_NAMES=""
FORCE=0
BULK=0
while [ $# -gt 0 ]; do
	case "$1" in
	--devices) [ $# -ge 2 ] || usage; DEVICES="$2"; shift 2 ;;
	--broker-names) [ $# -ge 2 ] || usage; BROKER_NAMES="$2"; shift 2 ;;
	--http-names) [ $# -ge 2 ] || usage; HTTP_NAMES="$2"; shift 2 ;;
	--force) FORCE=1; shift ;;
	--bulk) BULK=1; shift ;;
	-h | --help) usage ;;
	-*) echo "mkpki: unknown option $1" >&2; usage ;;
	*) [ -z "$OUT" ] || usage; OUT="$1"; shift ;;
	esac
done
[ -n "$OUT" ] || usage
command -v openssl >/dev/null || die "openssl not found"

# Same rule as fota_topic_segment_valid(): the CN becomes a topic segment through the ACL's %u.
valid_id() {
	[[ "$1" =~ ^[A-Za-z0-9._-]{1,64}$ ]] && [ "$1" != "." ] && [ "$1" != ".." ]
}
for d in $DEVICES; do
	valid_id "$d" || die "device id '$d' is not 1..64 of [A-Za-z0-9._-]"
	for r in $RESERVED_IDS; do
		[ "$d" != "$r" ] || die "device id '$d' is reserved (broker ACL / test identity)"
	done
done
for n in $BROKER_NAMES $HTTP_NAMES; do
	[[ "$n" =~ ^[A-Za-z0-9.-]+$ ]] || die "broker or http name '$n' is not a DNS name"
done

umask 077
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ -e "$OUT/ca.crt" ] || [ -e "$OUT/ca.key" ]; then
	if [ "$FORCE" = 1 ]; then
		# Only what this script makes: OUTDIR may be a mounted volume with other files.
		rm -rf "$OUT/devices" "$OUT/signing" "$OUT/trust"
		rm -f "$OUT"/{ca,operator-ca,broker,orchestrator,forger,wrong-ca,http,monitor}.{crt,key} \
			"$OUT/client-cas.crt" "$OUT/SUMMARY.txt"
	else
		if [ ! -s "$OUT/ca.crt" ] || [ ! -s "$OUT/ca.key" ]; then
			die "$OUT has only half a CA (ca.crt/ca.key); fix it or use --force"
		fi
		echo "mkpki: keeping the existing CA in $OUT (--force to replace it)"
	fi
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

SAN="DNS:localhost,DNS:mosquitto,IP:127.0.0.1,IP:::1"
for n in $BROKER_NAMES; do
	# An IPv4 address becomes an IP entry (test hosts in network namespaces), the rest DNS.
	if [[ "$n" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
		case ",$SAN," in *",IP:$n,"*) ;; *) SAN="$SAN,IP:$n" ;; esac
	else
		case ",$SAN," in *",DNS:$n,"*) ;; *) SAN="$SAN,DNS:$n" ;; esac
	fi
done

HTTP_SAN="DNS:localhost,IP:127.0.0.1"
for n in $HTTP_NAMES; do
	HTTP_SAN="$HTTP_SAN,DNS:$n"
done

# A private config so the result does not depend on the system openssl.cnf.
cat >"$WORK/openssl.cnf" <<EOF
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = unused

[ext_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ext_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ext_http]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $HTTP_SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ext_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# 'openssl ca' is used only for the expired certificate: unlike 'openssl x509 -req' in
# OpenSSL 3.0 it takes explicit start and end dates.
[ca]
default_ca = ca_expired
[ca_expired]
database = $WORK/index.txt
new_certs_dir = $WORK
serial = $WORK/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[policy_any]
commonName = supplied
EOF
: >"$WORK/index.txt"
openssl rand -hex 16 | sed 's/^./1/' >"$WORK/serial"

CREATED=()
KEPT=()

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$1" 2>/dev/null
	chmod 0600 "$1"
}

serial() {
	# 127 bits, positive: the leading hex digit stays below 8.
	printf '0x%x%s' $((RANDOM % 8)) "$(openssl rand -hex 15)"
}

# already BASE: true (and noted) when BASE.crt and BASE.key both exist.
already() {
	if [ -s "$1.crt" ] && [ -s "$1.key" ]; then
		KEPT+=("${1#"$OUT"/}.crt")
		return 0
	fi
	return 1
}

# make_ca BASE CN
make_ca() {
	already "$1" && return 0
	newkey "$1.key"
	openssl req -config "$WORK/openssl.cnf" -new -x509 -key "$1.key" -subj "/CN=$2" \
		-days 3650 -sha256 -set_serial "$(serial)" -extensions ext_ca -out "$1.crt"
	chmod 0644 "$1.crt"
	CREATED+=("${1#"$OUT"/}.crt")
}

# make_leaf BASE CN EXT CABASE
make_leaf() {
	already "$1" && return 0
	newkey "$1.key"
	openssl req -config "$WORK/openssl.cnf" -new -key "$1.key" -subj "/CN=$2" \
		-out "$WORK/req.csr"
	openssl x509 -req -in "$WORK/req.csr" -CA "$4.crt" -CAkey "$4.key" \
		-set_serial "$(serial)" -days 825 -sha256 \
		-extfile "$WORK/openssl.cnf" -extensions "$3" -out "$1.crt" 2>/dev/null
	chmod 0644 "$1.crt"
	CREATED+=("${1#"$OUT"/}.crt")
}

# make_leaf_fast BASE CN EXT CABASE: make_leaf in one openssl process ("req -x509 -CA").
make_leaf_fast() {
	already "$1" && return 0
	openssl req -config "$WORK/openssl.cnf" -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -noenc \
		-keyout "$1.key" -subj "/CN=$2" -CA "$4.crt" -CAkey "$4.key" \
		-set_serial "0x$(openssl rand -hex 15)" -days 825 -sha256 -extensions "$3" \
		-out "$1.crt" 2>/dev/null
	chmod 0600 "$1.key"
	chmod 0644 "$1.crt"
	CREATED+=("${1#"$OUT"/}.crt")
}

# make_expired BASE CN: a client certificate valid only for one day in 2020.
make_expired() {
	already "$1" && return 0
	newkey "$1.key"
	openssl req -config "$WORK/openssl.cnf" -new -key "$1.key" -subj "/CN=$2" \
		-out "$WORK/req.csr"
	openssl ca -config "$WORK/openssl.cnf" -batch -notext -keyfile "$OUT/ca.key" \
		-cert "$OUT/ca.crt" -startdate 20200101000000Z -enddate 20200102000000Z \
		-extensions ext_client -in "$WORK/req.csr" -out "$1.crt" 2>/dev/null ||
		die "openssl ca failed to issue the expired test certificate"
	chmod 0644 "$1.crt"
	CREATED+=("${1#"$OUT"/}.crt")
}

# make_signing ROLE KID: private key in signing/ROLE/KID.pem, public in trust/ROLE/KID.pem.
make_signing() {
	local priv="$OUT/signing/$1/$2.pem" pub="$OUT/trust/$1/$2.pem"
	mkdir -p "$OUT/signing/$1" "$OUT/trust/$1"
	chmod 0700 "$OUT/signing" "$OUT/signing/$1"
	chmod 0755 "$OUT/trust" "$OUT/trust/$1"
	if [ -s "$priv" ]; then
		KEPT+=("signing/$1/$2.pem")
	else
		newkey "$priv"
		rm -f "$pub"
		CREATED+=("signing/$1/$2.pem")
	fi
	# The public half is always derived again so it can never drift from the private key.
	openssl pkey -in "$priv" -pubout -out "$pub"
	chmod 0644 "$pub"
}

mkdir -p "$OUT/devices"
chmod 0755 "$OUT" "$OUT/devices"

make_ca "$OUT/ca" "FOTA Development CA"
make_ca "$OUT/operator-ca" "FOTA Operator CA"
make_leaf "$OUT/broker" "mosquitto" ext_server "$OUT/ca"
# A PKI made before the operator CA existed has an orchestrator certificate from ca.crt, which
# the orchestrator listener refuses: issue it again from the operator CA.
if [ -s "$OUT/orchestrator.crt" ] &&
	! openssl verify -CAfile "$OUT/operator-ca.crt" "$OUT/orchestrator.crt" >/dev/null 2>&1; then
	echo "mkpki: orchestrator.crt is not from operator-ca.crt: issuing it again from the operator CA"
	rm -f "$OUT/orchestrator.crt" "$OUT/orchestrator.key"
fi
make_leaf "$OUT/orchestrator" "orchestrator" ext_client "$OUT/operator-ca"
make_leaf "$OUT/forger" "forger" ext_client "$OUT/ca"
if [ -n "$HTTP_NAMES" ]; then
	make_leaf "$OUT/http" "orchestrator-http" ext_http "$OUT/ca"
	# make_leaf puts its CN argument into -subj "/CN=...": the OU rides along.
	make_leaf "$OUT/monitor" "monitor/OU=viewer" ext_client "$OUT/ca"
fi
for d in $DEVICES; do
	if [ "$BULK" = 1 ]; then
		make_leaf_fast "$OUT/devices/$d" "$d" ext_client "$OUT/ca"
	else
		make_leaf "$OUT/devices/$d" "$d" ext_client "$OUT/ca"
	fi
done

# Negative-test identities: a CA the broker does not trust, and an expired device.
make_ca "$OUT/wrong-ca" "FOTA Wrong CA"
make_leaf "$OUT/devices/wrong-ca-device" "wrong-ca-device" ext_client "$OUT/wrong-ca"
make_expired "$OUT/devices/expired-device" "expired-device"

make_signing release release-1
make_signing orchestrator orch-1

# The shared listener's trust: both CAs. Derived every time, so it never drifts from them.
cat "$OUT/ca.crt" "$OUT/operator-ca.crt" >"$OUT/client-cas.crt"
chmod 0644 "$OUT/client-cas.crt"

# Catch a broken certificate here rather than as a TLS failure in some test much later.
openssl verify -CAfile "$OUT/operator-ca.crt" "$OUT/orchestrator.crt" >/dev/null ||
	die "orchestrator.crt does not verify against operator-ca.crt"
for crt in broker forger ${HTTP_NAMES:+http monitor}; do
	openssl verify -CAfile "$OUT/ca.crt" "$OUT/$crt.crt" >/dev/null ||
		die "$crt.crt does not verify against ca.crt"
done
for d in $DEVICES; do
	openssl verify -CAfile "$OUT/ca.crt" "$OUT/devices/$d.crt" >/dev/null ||
		die "devices/$d.crt does not verify against ca.crt"
	# Bulk certificates all come from the same command: one check stands for all.
	[ "$BULK" = 0 ] || break
done
if openssl verify -CAfile "$OUT/ca.crt" "$OUT/devices/expired-device.crt" >/dev/null 2>&1; then
	die "devices/expired-device.crt verifies: it should be expired"
fi

{
	echo "FOTA development PKI in $OUT"
	printf '  %-36s %-26s %s\n' "certificate" "subject" "not after"
	while IFS= read -r crt; do
		subj=$(openssl x509 -in "$crt" -noout -subject -nameopt multiline |
			sed -n 's/^ *commonName *= *//p')
		end=$(openssl x509 -in "$crt" -noout -enddate | cut -d= -f2)
		printf '  %-36s %-26s %s\n' "${crt#"$OUT"/}" "CN=$subj" "$end"
	done < <(find "$OUT" -maxdepth "$((BULK ? 1 : 2))" -name '*.crt' ! -name client-cas.crt | sort)
	echo "  client-cas.crt: ca.crt and operator-ca.crt (the device listener's client trust)"
	[ "$BULK" = 0 ] || echo "  devices/: $(find "$OUT/devices" -name '*.crt' | wc -l) certificates"
	echo "  broker SAN: $SAN"
	[ -z "$HTTP_NAMES" ] || echo "  http SAN: $HTTP_SAN"
	echo "  signing keys (private, keep secret): $(cd "$OUT" && find signing -name '*.pem' | sort | xargs)"
	echo "  trust store (public): $OUT/trust"
	echo "  created: ${#CREATED[@]}, kept: ${#KEPT[@]}"
} | tee "$OUT/SUMMARY.txt"
chmod 0644 "$OUT/SUMMARY.txt"
