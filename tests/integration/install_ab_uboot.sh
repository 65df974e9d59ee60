#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Full A/B cycle on a U-Boot environment (real fw_setenv/fw_printenv, file-backed).
AB_ADAPTER=uboot exec bash "$(dirname "$0")/install_ab_cycle.sh"
