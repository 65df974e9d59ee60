#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CI smoke test of the benchmark harness: run.sh --quick must run and print every table.
# Asserts nothing about timing: numbers from a tiny image on a shared runner mean nothing.
set -euo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
bash "$1" --quick >"$out" || rc=$?
cat "$out"
[ "$rc" -eq 0 ] || { echo "FAIL: run.sh --quick exited with $rc"; exit 1; }
missing=0
for h in "### 1. One device" "### 1b. Chunk size" "### 1c. Fixed cost" "### 2. Fan-out" "### 3. Footprint" "### 4. Resume" \
	"### 5. Chunk size" "### 6. Orchestrator" "bench: done"; do
	grep -qF "$h" "$out" || { echo "FAIL: no '$h' in the output"; missing=1; }
done
# Every table has at least one data row: a header line followed by |---| and a row.
rows=$(grep -c '^| [0-9a-z(]' "$out" || true)
[ "$rows" -ge 12 ] || { echo "FAIL: only $rows table rows"; missing=1; }
[ "$missing" -eq 0 ] && echo "PASS: harness ran and printed all tables"
exit "$missing"
