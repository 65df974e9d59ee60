#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Prometheus entrypoint: copies the CA and the monitor client certificate and key from the PKI
# volume for the user "prometheus", then runs Prometheus as that user.
set -eu
. /usr/local/lib/fota/wait-pki.sh
pki=${FOTA_PKI_DIR:-/pki}
dir=/etc/fota-prometheus
wait_pki "$pki/ca.crt" "$pki/monitor.crt" "$pki/monitor.key"
install -m 0644 "$pki/ca.crt" "$pki/monitor.crt" "$dir/"
install -o prometheus -g prometheus -m 0600 "$pki/monitor.key" "$dir/monitor.key"
chown -R prometheus:prometheus /var/lib/fota-prometheus
exec setpriv --reuid=prometheus --regid=prometheus --init-groups \
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path=/var/lib/fota-prometheus \
	--web.listen-address=0.0.0.0:9090 "$@"
