#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Prints mosquitto.conf (argument 1) turned from the static ACL file to the dynamic-security
# plugin that fota-orchestrator drives ([broker] access = dynsec, docs/operations.md):
#  - the plugin and its state file (/mosquitto/data/dynamic-security.json, writable: the plugin
#    saves every change; start it from docker/mosquitto/dynamic-security.json) replace acl_file;
#  - on the device listener (8883) the client id is the certificate CN
#    (use_username_as_clientid), so no device can take over another's connection;
#  - the orchestrator, whose processes share one certificate, gets a listener of its own
#    (8884) without that rule, so each of its connections keeps its own client id. That
#    listener trusts only the operator CA, which signs nothing but orchestrator certificates:
#    a device certificate fails the TLS handshake there, so no device can choose its client id.
# The plugin is looked up at run time where Debian installs it for the machine's architecture
# (/usr/lib/<multiarch>/), so the same script serves amd64, arm64 and armhf images.
set -eu
conf=$1
plugin=""
for p in /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so; do
	[ -f "$p" ] && plugin=$p && break
done
[ -n "$plugin" ] || {
	echo "dynsec-conf.sh: mosquitto_dynamic_security.so not found under /usr/lib" \
		"(Mosquitto 2.x's dynamic-security plugin)" >&2
	exit 1
}
sed -e "s|^acl_file /mosquitto/config/acl\$|plugin $plugin\\
plugin_opt_config_file /mosquitto/data/dynamic-security.json|" \
	-e 's|^use_identity_as_username true$|use_identity_as_username true\
use_username_as_clientid true|' "$conf"
cat <<'CONF'

# --- The orchestrator's listener (dynamic security) --------------------------------------------
listener 8884
protocol mqtt
cafile /mosquitto/certs/operator-ca.crt
certfile /mosquitto/certs/broker.crt
keyfile /mosquitto/certs/broker.key
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
CONF
