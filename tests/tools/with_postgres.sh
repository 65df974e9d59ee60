#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs a command against a throwaway PostgreSQL server: initdb in a temporary directory,
# pg_ctl start on a unix socket there (no TCP port), one database, then the command with
# FOTA_TEST_STORE=postgresql://... in its environment; the server and directory are removed
# after. PostgreSQL refuses to run as root: run as root, the server runs as the unprivileged
# user FOTA_PG_USER (default nobody).
#
# Usage: with_postgres.sh COMMAND [ARGS...]   (exit: the command's, 77 when no server can run)
set -euo pipefail

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

bindir=${FOTA_PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { bindir=$d; break; }
	done
fi
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ] ||
	skip "no PostgreSQL server binaries (initdb, pg_ctl): install postgresql-15"

as=()
if [ "$(id -u)" = 0 ]; then
	user=${FOTA_PG_USER:-nobody}
	id "$user" >/dev/null 2>&1 || skip "running as root and there is no user '$user' to run PostgreSQL as"
	command -v setpriv >/dev/null || skip "running as root without setpriv to drop to '$user'"
	as=(setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups env HOME=/)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/fota-pg.XXXXXX")
chmod 0755 "$dir"
[ ${#as[@]} -eq 0 ] || chown "$(id -u "$user"):$(id -g "$user")" "$dir"
pgdata=$dir/data
started=0
cleanup() {
	if [ "$started" = 1 ]; then
		"${as[@]}" "$bindir/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "${as[@]}" "$bindir/initdb" -D "$pgdata" -U fota -A trust -E UTF8 --locale=C --no-sync \
	>"$dir/initdb.log" 2>&1; then
	cat "$dir/initdb.log" >&2
	echo "with_postgres.sh: initdb failed (above)" >&2
	exit 1
fi
# Unix socket only, in the temporary directory; fsync off: the data is thrown away.
if ! "${as[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$dir/server.log" -w -t 60 \
	-o "-k $dir -c listen_addresses= -c fsync=off -c synchronous_commit=off" start >/dev/null; then
	cat "$dir/server.log" >&2
	echo "with_postgres.sh: the server did not start (above)" >&2
	exit 1
fi
started=1
"${as[@]}" "$bindir/createdb" -h "$dir" -U fota fota_test
export FOTA_TEST_STORE="postgresql:///fota_test?host=$dir&user=fota"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on $dir" >&2
set +e
"$@"
rc=$?
set -e
exit "$rc"
