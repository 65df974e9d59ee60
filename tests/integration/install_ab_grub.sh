#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Full A/B cycle on a GRUB environment block (real grub-editenv on a file).
AB_ADAPTER=grub exec bash "$(dirname "$0")/install_ab_cycle.sh"
