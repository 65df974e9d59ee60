#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole system through a second broker implementation, RabbitMQ 3.10's MQTT plugin, which
# replays retained messages only to exact-topic subscriptions, has no shared subscriptions and
# answers a refused subscription by closing the connection:
# - serve --shared finds out at start, says why and runs as a single instance;
# - a campaign reaches a device online at its start (dev-1);
# - after a broker restart, a device that joins late (dev-2, started only then) gets the
#   retained directive and table and installs; the daemon reconnects by itself;
# - a message over our own size limit, which RabbitMQ delivers, is dropped with the reason;
# - `status` shows both devices confirmed, from the broker's retained statuses;
# - a device whose status publish the broker refuses (by closing the connection) names the
#   refused topic once, and keeps reconnecting with a growing backoff.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"
. "$(dirname "$0")/campaign_lib.sh"
. "$(dirname "$0")/rabbitmq_lib.sh"

fota_require jq
fota_tmpdir T
fota_pki "$T/pki"
export FOTA_RABBIT_NO_STATUS=dev-5
fota_rabbit_start "$T/rabbit"
pass "RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo '?') answers MQTT over mutual TLS on port $FOTA_BROKER_PORT"
export FOTA_ORCH_STATE=$T/orch
ORCH_KEY_ARGS=(--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem")

fota_random_image "$T/image.bin" 256k
id=$(fota_image_add "$T/image.bin" 2.0.0 10 --chunk-size 16384) || fail "image add failed"
serve_start "$T/serve.log"
check "serve --shared says the broker has no shared subscriptions, and why: $(grep -m1 'shared subscriptions' "$T/serve.log" | cut -c1-220)" \
	grep -q "serve --shared: the broker does not support shared subscriptions (.*closed the connection.*); running as a single instance" "$T/serve.log"

fota_client_conf dev-1 "$T" lab
fota_client_start dev-1 "$T"
fota_wait_for 30 registered lab 1 || fail "dev-1 did not register (its status never reached serve)"
fota_orch campaign create rq --image "$id" --group lab --stage 100% >/dev/null || fail "campaign create"
fota_orch campaign start rq >/dev/null || fail "campaign start"
if fota_wait_for 60 fota__state_is dev-1 confirmed; then
	pass "dev-1, online at the start, installed the image"
else
	fail "dev-1 did not confirm: $(fota_status_json dev-1)"
fi
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"

fota_rabbit_restart
pass "broker restarted"
fota_client_conf dev-2 "$T" lab
fota_client_start dev-2 "$T"
if fota_wait_for 60 fota__state_is dev-2 confirmed; then
	pass "dev-2, started after the directive and after the broker restart, installed the image"
else
	fail_soft "dev-2 did not confirm: $(fota_status_json dev-2); log: $(tail -n 5 "$T/dev-2/client.log")"
fi
fota_same "$T/dev-2/target/firmware.bin" "$T/image.bin" "dev-2's installed image"
check "serve reconnected after the restart" grep -q "reconnected to the broker" "$T/serve.log"

# RabbitMQ has no message size limit of its own: ours holds.
head -c 1100000 /dev/urandom >"$T/big"
fota_pub orchestrator -q 1 -t fota/v1/devices/dev-2/chunks -f "$T/big" ||
	fail "RabbitMQ refused 1,100,000 bytes"
text="dropped: message of 1100000 bytes on 'fota/v1/devices/dev-2/chunks' exceeds our limit"
check "RabbitMQ delivered a 1,100,000-byte frame and dev-2 dropped it with the reason" \
	fota_wait_for 10 grep -qF "$text" "$T/dev-2/client.log"

# dev-5 may not publish its status: RabbitMQ closes the connection at each attempt.
fota_client_conf dev-5 "$T" lab
fota_client_start dev-5 "$T"
closings() { grep "connection lost: the broker closed the connection" "$T/dev-5/client.log" || true; }
reconnects() { grep -c "reconnected" "$T/dev-5/client.log" || true; }
if fota_wait_for 60 eval '[ "$(reconnects)" -ge 3 ]'; then
	pass "dev-5 kept reconnecting after the refusals ($(reconnects) reconnects)"
else
	fail_soft "dev-5 did not reconnect 3 times: $(grep -v "repair request not sent" "$T/dev-5/client.log" | tail -n 30)"
fi
reported_once() {
	[ "$(closings | wc -l)" -eq 1 ] && grep -qF "'fota/v1/devices/dev-5/status'" <<<"$(closings)"
}
check "dev-5 reported the closings once, naming its status publish: $(closings | cut -c1-400)" \
	reported_once

fota_orch status --json >"$T/status.json" 2>"$T/status.err" || fail "status: $(cat "$T/status.err")"
state() { jq -r --arg d "$1" '.[] | select(.device == $d) | "\(.state)/\(.source)"' "$T/status.json"; }
check "status shows dev-1 confirmed, from the broker (got '$(state dev-1)')" [ "$(state dev-1)" = confirmed/broker ]
check "status shows dev-2 confirmed, from the broker (got '$(state dev-2)')" [ "$(state dev-2)" = confirmed/broker ]
fota_summary
