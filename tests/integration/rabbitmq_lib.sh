# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# A RabbitMQ 3.10 node with the MQTT plugin as the test broker, in place of Mosquitto: mutual TLS
# with the test PKI, users by certificate common name (ssl_cert_login), topic permissions
# shaped like the shipped Mosquitto ACL. Source after lib.sh and fota_pki. The node runs as the
# current user with every directory, its node name, its distribution port and its own epmd
# port under DIR, so it never touches a system RabbitMQ.

FOTA_RABBIT_BIN=${FOTA_RABBIT_BIN:-/usr/lib/rabbitmq/bin/rabbitmq-server}

# fota_rabbit_config DIR: rabbitmq.conf, definitions.json and enabled_plugins in DIR.
fota_rabbit_config() {
	local dir=$1 u users="orchestrator forger" first=1
	users+=" $(cd "$FOTA_PKI/devices" && find . -name '*.crt' -printf '%f\n' | sed 's/\.crt$//' | sort | xargs)"
	cat >"$dir/rabbitmq.conf" <<-EOF
		listeners.tcp = none
		mqtt.listeners.tcp = none
		mqtt.listeners.ssl.default = $FOTA_BROKER_BIND:$FOTA_BROKER_PORT
		ssl_options.cacertfile = $FOTA_PKI/client-cas.crt
		ssl_options.certfile = $FOTA_PKI/broker.crt
		ssl_options.keyfile = $FOTA_PKI/broker.key
		ssl_options.verify = verify_peer
		ssl_options.fail_if_no_peer_cert = true
		mqtt.ssl_cert_login = true
		ssl_cert_login_from = common_name
		mqtt.allow_anonymous = false
		loopback_users = none
		load_definitions = $dir/definitions.json
	EOF
	echo '[rabbitmq_mqtt].' >"$dir/enabled_plugins"
	# Topic permissions match AMQP routing keys: MQTT "/" is ".", "+" is "*". Devices as in
	# docker/mosquitto/acl; the orchestrator everything under fota/v1, and nothing else (so a
	# "$share/..." filter is refused: RabbitMQ answers by closing the connection).
	{
		printf '{"vhosts":[{"name":"/"}],"users":['
		for u in $users; do
			[ $first = 1 ] || printf ','
			first=0
			printf '{"name":"%s","password_hash":"","hashing_algorithm":"rabbit_password_hashing_sha256","tags":[]}' "$u"
		done
		printf '],"permissions":['
		first=1
		for u in $users; do
			[ $first = 1 ] || printf ','
			first=0
			printf '{"user":"%s","vhost":"/","configure":".*","write":".*","read":".*"}' "$u"
		done
		printf '],"topic_permissions":['
		printf '{"user":"orchestrator","vhost":"/","exchange":"amq.topic","write":"^fota\\\\.v1\\\\.","read":"^fota\\\\.v1\\\\."}'
		printf ',{"user":"forger","vhost":"/","exchange":"amq.topic","write":"^fota\\\\.v1\\\\.groups\\\\.forgetest\\\\.","read":"^$"}'
		for u in $users; do
			case $u in orchestrator | forger) continue ;; esac
			printf ',{"user":"%s","vhost":"/","exchange":"amq.topic",' "$u"
			# FOTA_RABBIT_NO_STATUS: devices refused their own status topic, to see how
			# the agent meets a broker that refuses a publish by closing the connection.
			case " ${FOTA_RABBIT_NO_STATUS:-} " in
			*" $u "*) printf '"write":"^fota\\\\.v1\\\\.devices\\\\.{username}\\\\.request$",' ;;
			*) printf '"write":"^fota\\\\.v1\\\\.devices\\\\.{username}\\\\.(status|request)$",' ;;
			esac
			printf '"read":"^fota\\\\.v1\\\\.(groups\\\\.[^.]+\\\\.(directive|images\\\\.[^.]+\\\\.(table|chunks))|devices\\\\.{username}\\\\.(chunks|assignment|key))$"}'
		done
		printf ']}\n'
	} >"$dir/definitions.json"
}

# The node's environment: its own directories, names and ports.
fota__rabbit_env() {
	local dir=$FOTA_BROKER_DIR
	FOTA__RABBIT_ENV=(HOME="$dir/home" RABBITMQ_NODENAME="$FOTA_RABBIT_NODE"
		RABBITMQ_DIST_PORT="$FOTA_RABBIT_DIST_PORT" ERL_EPMD_PORT="$FOTA_RABBIT_EPMD_PORT"
		RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
		RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
		RABBITMQ_PID_FILE="$dir/node.pid")
}

# fota__rabbit_launch: starts the node and waits (up to 120 s) until its MQTT listener accepts
# the orchestrator. 0 when it answers, 1 when it exited, 2 on timeout.
fota__rabbit_launch() {
	local deadline=$((SECONDS + 120))
	fota__rabbit_env
	(cd "$FOTA_BROKER_DIR" && exec env "${FOTA__RABBIT_ENV[@]}" "$FOTA_RABBIT_BIN") \
		>>"$FOTA_BROKER_LOG" 2>&1 </dev/null &
	FOTA_BROKER_PID=$!
	export FOTA_BROKER_PID
	while :; do
		kill -0 "$FOTA_BROKER_PID" 2>/dev/null || return 1
		fota__broker_answers && return 0
		[ "$SECONDS" -lt "$deadline" ] || return 2
		sleep 0.5
	done
}

# fota_rabbit_start DIR: the node on free loopback ports. Exports what fota_broker_start does
# (FOTA_BROKER_PORT, _URI, _PID, _DIR, _LOG), so the other helpers work unchanged.
fota_rabbit_start() {
	local dir=$1 rc=0
	fota_require mosquitto_sub mosquitto_pub timeout epmd
	[ -x "$FOTA_RABBIT_BIN" ] || fota_require rabbitmq-server
	[ -n "${FOTA_PKI:-}" ] || fail "fota_rabbit_start needs fota_pki first"
	# Mosquitto's dynamic-security plugin does not exist here: RabbitMQ has its own
	# permissions, which the orchestrator does not drive ([broker] access = acl_file), so
	# fota_register has nothing to do.
	export FOTA_BROKER_ACCESS=acl_file
	mkdir -p "$dir/home" "$dir/log" "$dir/mnesia"
	FOTA_BROKER_DIR=$(cd "$dir" && pwd)
	FOTA_BROKER_LOG=$FOTA_BROKER_DIR/rabbitmq.out
	FOTA_BROKER_PORT=$(fota__free_port) || fail "no free loopback port"
	FOTA_RABBIT_DIST_PORT=$(fota__free_port) || fail "no free loopback port"
	FOTA_RABBIT_EPMD_PORT=$(fota__free_port) || fail "no free loopback port"
	FOTA_RABBIT_NODE=fota$FOTA_BROKER_PORT@localhost
	export FOTA_BROKER_DIR FOTA_BROKER_LOG FOTA_BROKER_PORT FOTA_RABBIT_DIST_PORT \
		FOTA_RABBIT_EPMD_PORT FOTA_RABBIT_NODE
	export FOTA_BROKER_URI="ssl://$FOTA_BROKER_BIND:$FOTA_BROKER_PORT"
	fota_rabbit_config "$FOTA_BROKER_DIR"
	fota_cleanup_add "fota_rabbit_stop"
	fota__rabbit_launch || rc=$?
	case $rc in
	0) ;;
	1) tail -n 20 "$FOTA_BROKER_LOG" "$FOTA_BROKER_DIR"/log/*.log >&2 2>/dev/null
	   fail "rabbitmq-server exited at start (log above)" ;;
	*) tail -n 20 "$FOTA_BROKER_DIR"/log/*.log >&2 2>/dev/null
	   fail "RabbitMQ did not accept MQTT connections on port $FOTA_BROKER_PORT within 120 s" ;;
	esac
}

# fota_rabbit_stop: stops the node (the script's TERM handler stops the VM cleanly, which
# writes its retained-message store) and waits up to 60 s for the VM before killing it; then
# stops the node's own epmd.
fota_rabbit_stop() {
	local vm="" i
	[ -n "${FOTA_BROKER_DIR:-}" ] || return 0
	[ -s "$FOTA_BROKER_DIR/node.pid" ] && vm=$(cat "$FOTA_BROKER_DIR/node.pid")
	if [ -n "${FOTA_BROKER_PID:-}" ]; then
		kill -TERM "$FOTA_BROKER_PID" 2>/dev/null || true
		for ((i = 0; i < 600; i++)); do
			kill -0 "$FOTA_BROKER_PID" 2>/dev/null || break
			[ -n "$vm" ] && ! kill -0 "$vm" 2>/dev/null && break
			sleep 0.1
		done
		kill -KILL "$FOTA_BROKER_PID" 2>/dev/null || true
		wait "$FOTA_BROKER_PID" 2>/dev/null || true
		FOTA_BROKER_PID=""
	fi
	if [ -n "$vm" ]; then kill -KILL "$vm" 2>/dev/null || true; fi
	rm -f "$FOTA_BROKER_DIR/node.pid"
	ERL_EPMD_PORT=$FOTA_RABBIT_EPMD_PORT epmd -kill >/dev/null 2>&1 || true
}

# fota_rabbit_restart: the same node stopped and started again on the same ports and data.
fota_rabbit_restart() {
	fota_rabbit_stop
	fota__rabbit_launch || fail "RabbitMQ did not come back after the restart"
}
