#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The orchestrator CLI refuses to run as a user other than the state directory's owner (files
# it left there, owned by root, used to lock the daemon out), and names the command to use.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_tmpdir T
if [ "$(id -u)" -ne 0 ]; then
	# Without root no directory of another user can be made: use one root owns.
	RC=0
	"$FOTA_ORCH_BIN" --state-dir / image list >"$T/out" 2>&1 || RC=$?
	check "image list on a root-owned state directory exits 2 (got $RC)" [ "$RC" -eq 2 ]
	check "and names the owner: $(cat "$T/out")" grep -q "belongs to user root" "$T/out"
	fota_summary
	exit
fi
fota_require setpriv
owner=$(getent passwd 65534 | cut -d: -f1)
[ -n "$owner" ] || fail "no user with uid 65534"
mkdir -p "$T/orch"
chown 65534:65534 "$T/orch"
chmod 755 "$T" # the owner must reach its directory

for cmd in "image list" "device list" "campaign list" "status --wait 0"; do
	RC=0
	# shellcheck disable=SC2086
	"$FOTA_ORCH_BIN" --state-dir "$T/orch" $cmd >"$T/out" 2>&1 || RC=$?
	check "'$cmd' as root on $owner's state directory exits 2 (got $RC)" [ "$RC" -eq 2 ]
	check "'$cmd' says whose directory it is: $(head -n 1 "$T/out")" \
		grep -q "state directory $T/orch belongs to user $owner (uid 65534), not to root" "$T/out"
	check "'$cmd' names the command to run instead: $(tail -n 1 "$T/out")" \
		grep -qF "sudo -u $owner $FOTA_ORCH_BIN --state-dir $T/orch $cmd" "$T/out"
done
check "nothing was created in the state directory: $(ls -A "$T/orch" | xargs)" \
	[ -z "$(ls -A "$T/orch")" ]

# `image sign` writes no state, so it runs as anyone, wherever the state directory is.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/release-1.pem" 2>/dev/null
head -c 4096 /dev/urandom >"$T/fw.bin"
RC=0
"$FOTA_ORCH_BIN" --state-dir "$T/orch" image sign "$T/fw.bin" --out "$T/fw.jws" \
	--release-key "$T/release-1.pem" --name firmware --version 1.0.0 --vendor acme \
	--model gw-100 --sequence 1 >"$T/out" 2>&1 || RC=$?
check "image sign as root beside $owner's state directory runs (exit $RC: $(head -n 1 "$T/out"))" \
	[ "$RC" -eq 0 ]

# As the owner the same command runs, and what it creates belongs to the owner.
RC=0
setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$FOTA_ORCH_BIN" --state-dir "$T/orch" image list --json >"$T/out" 2>&1 || RC=$?
check "image list as $owner runs (exit $RC: $(head -n 1 "$T/out"))" [ "$RC" -eq 0 ]
check "files it created belong to $owner" \
	[ -z "$(find "$T/orch" ! -uid 65534)" ]

# A state directory that does not exist yet is created by whoever runs first.
RC=0
"$FOTA_ORCH_BIN" --state-dir "$T/fresh" image list >"$T/out" 2>&1 || RC=$?
check "a command on a missing state directory runs (exit $RC)" [ "$RC" -eq 0 ]
fota_summary
