# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# What the benches that run a broker share: its access mode, then the integration helpers
# (tests/integration/lib.sh, transfer_lib.sh), sourced here after it because lib.sh sets its
# own default. Source it once FOTA_SRC is set: . "$here/bench_lib.sh"

# The ACL file, unless asked: the baseline pairs share the broker, and their clients connect
# with device certificates that the plugin would tie to (and take over) device sessions.
export FOTA_BROKER_ACCESS=${FOTA_BROKER_ACCESS:-acl_file}
. "$FOTA_SRC/tests/integration/lib.sh"
. "$FOTA_SRC/tests/integration/transfer_lib.sh"
# Process IDs must not wrap during a bench: a fan-out starts a thousand processes per run.
bash "$FOTA_SRC/tests/pid-space.sh"
