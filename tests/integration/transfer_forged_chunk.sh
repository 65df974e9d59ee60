#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Forged chunks (well-formed frames, right image id, wrong bytes) published by a rogue
# identity are dropped before they touch storage, re-requested, and the image ends correct.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/transfer_lib.sh"

fota_transfer_env

fota_random_image "$T/image.bin" 1
id=$(fota_image_add "$T/image.bin" 2.0.0 10) || fail "image add failed"
count=16 # 1 MiB in 64 KiB chunks

fota_client_conf dev-1 "$T" forgetest
fota_client_start dev-1 "$T"
fota_wait_for 10 fota__state_is dev-1 idle || fail "dev-1 did not come online"
# Directive and table only: the device must fetch every chunk by repair, so that a forged
# chunk that arrives first really has to be re-requested.
fota_orch publish "$id" --group forgetest --no-broadcast \
	--orch-key "$FOTA_PKI/signing/orchestrator/orch-1.pem" >"$T/publish.log" 2>&1 ||
	{ cat "$T/publish.log" >&2; fail "publish failed"; }
fota_wait_line "$T/dev-1/client.log" "downloading" 10 || fail "dev-1 did not start"
for ((i = 0; i < count; i++)); do
	head -c 65536 /dev/urandom >"$T/junk"
	fota_forge_frame "$id" "$i" "$count" "$T/junk" >"$T/forged.$i"
	fota_pub forger -t "fota/v1/groups/forgetest/images/$id/chunks" -q 1 -f "$T/forged.$i" ||
		fail "forger could not publish (ACL for the test identity?)"
done
pass "forger published $count forged chunks"
fota_wait_for 10 grep -q "dropped" "$T/dev-1/client.log" || fail "no forged chunk was dropped"
dropped=$(grep -c "dropped: " "$T/dev-1/client.log" || true)
[ "$dropped" -ge "$count" ] && pass "all $count forged chunks dropped ($dropped drops logged)" ||
	fail_soft "only $dropped of $count forged chunks dropped"
[ -e "$T/dev-1/target/firmware.bin" ] && fail_soft "something was installed before repair" ||
	pass "nothing installed from forged data"

fota_orch_bg "$T/serve.log" serve
fota_wait_state dev-1 confirmed 60 && pass "dev-1 confirmed after repair" ||
	{ tail -n 30 "$T/dev-1/client.log" >&2; fail "dev-1 did not finish"; }
fota_same "$T/dev-1/target/firmware.bin" "$T/image.bin" "dev-1's installed image"
fota_summary
