#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The orchestrator without libpq (docs/dependencies.md, "libpq and PostgreSQL"): a PostgreSQL
# store URI fails with an error that names the package libpq5 and says why, and creates
# nothing; a SQLite store works as before, because libpq is loaded only when a PostgreSQL
# store is opened. libpq stays installed: each command runs in its own mount namespace in
# which every libpq.so.5 the dynamic linker knows is covered by an empty file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

orch_bin=${FOTA_ORCHESTRATOR:-$FOTA_BUILD/orchestrator/fota-orchestrator}
fota_tmpdir T
: >"$T/empty"

# The files behind libpq.so.5 as the dynamic linker's cache lists them, each once.
mapfile -t libs < <(ldconfig -p | awk '$1 == "libpq.so.5" { print $NF }' |
	xargs -r readlink -f | sort -u)
if [ ${#libs[@]} -gt 0 ]; then
	command -v unshare >/dev/null || {
		echo "skipped: no unshare(1) to hide libpq in a mount namespace"
		exit 77
	}
	unshare -m mount --bind "$T/empty" "${libs[0]}" 2>"$T/unshare.err" || {
		echo "skipped: cannot bind-mount in a new mount namespace: $(cat "$T/unshare.err")"
		exit 77
	}
fi

# without_libpq CMD...: runs CMD in a new mount namespace where every libpq.so.5 is empty;
# says "libpq not hidden" and exits 125 without running CMD if one of them still has content.
without_libpq() {
	[ ${#libs[@]} -gt 0 ] || {
		"$@"
		return
	}
	unshare -m bash -c '
		empty=$1 n=$2
		shift 2
		for lib in "${@:1:n}"; do
			mount --bind "$empty" "$lib" && [ ! -s "$lib" ] || {
				echo "libpq not hidden: $lib" >&2
				exit 125
			}
		done
		shift "$n"
		exec "$@"' masked "$T/empty" ${#libs[@]} "${libs[@]}" "$@"
}

# A PostgreSQL URI, from an empty working directory with a state directory that does not
# exist yet: no server listens on port 1, but libpq must be missed before any connection.
mkdir "$T/cwd"
rc=0
(cd "$T/cwd" && without_libpq "$orch_bin" --state-dir "$T/pg-state" \
	--store "postgresql://fota@127.0.0.1:1/fota" device list) >"$T/pg.out" 2>"$T/pg.err" || rc=$?
! grep -q "libpq not hidden" "$T/pg.err" || fail "$(cat "$T/pg.err")"
check "the PostgreSQL store fails without libpq (exit $rc)" eval '[ "$rc" -gt 0 ] && [ "$rc" -lt 125 ]'
# The reason after the package is dlopen's, which names the library it could not load.
check "the error names libpq5 and says why: $(cat "$T/pg.err")" \
	grep -q 'a PostgreSQL store needs libpq (package libpq5): .*libpq\.so\.5.' "$T/pg.err"
check "the error is one line" [ "$(wc -l <"$T/pg.err")" -eq 1 ]
check "nothing was printed on stdout" [ ! -s "$T/pg.out" ]
check "no state directory was made" [ ! -e "$T/pg-state" ]
check "nothing was created in the working directory" [ -z "$(ls -A "$T/cwd")" ]

# A SQLite store in the same conditions: a device written and read back.
without_libpq "$orch_bin" --state-dir "$T/sqlite-state" device add dev-1 --groups lab \
	--model gw-100 --hw B >"$T/add.out" 2>"$T/add.err" ||
	fail "device add on a SQLite store without libpq failed: $(cat "$T/add.err")"
without_libpq "$orch_bin" --state-dir "$T/sqlite-state" device list --json >"$T/list.json" \
	2>"$T/list.err" || fail "device list on a SQLite store without libpq failed: $(cat "$T/list.err")"
check "the SQLite store works without libpq" \
	[ "$(jq -r '.[0].device + " " + .[0].groups' "$T/list.json")" = "dev-1 lab" ]
fota_summary
