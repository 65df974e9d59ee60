#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# PostgreSQL entrypoint: on the first start, initdb in the volume with one password-protected
# role and database for the orchestrator; then runs the server as user postgres, listening on
# the compose network. Starts as root only to hand the volume to postgres.
set -eu
bin=/usr/lib/postgresql/15/bin
data=/var/lib/fota-postgresql/data
user=${FOTA_PG_USER:-fota}
db=${FOTA_PG_DB:-fota}
password=${FOTA_PG_PASSWORD:?set FOTA_PG_PASSWORD: the password of the orchestrator role}

mkdir -p /var/lib/fota-postgresql /run/postgresql
chown postgres:postgres /var/lib/fota-postgresql /run/postgresql
if [ ! -s "$data/PG_VERSION" ]; then
	pwfile=/var/lib/fota-postgresql/.pw
	(umask 077 && printf '%s\n' "$password" >"$pwfile")
	chown postgres:postgres "$pwfile"
	runuser -u postgres -- "$bin/initdb" -D "$data" -U "$user" --pwfile="$pwfile" \
		-A scram-sha-256 -E UTF8 --locale=C >/dev/null
	rm -f "$pwfile"
	# Password logins from the compose network; nothing is published on the host.
	printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' \
		>>"$data/pg_hba.conf"
	echo "CREATE DATABASE \"$db\" OWNER \"$user\"" |
		runuser -u postgres -- "$bin/postgres" --single -D "$data" postgres >/dev/null
	echo "fota-postgresql: database $db for role $user created"
fi
exec runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*'
