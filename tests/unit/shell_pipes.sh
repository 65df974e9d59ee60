#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# No shell script of the tree pipes into a reader that stops early: `| grep -q`, `| grep -m`,
# `| head`. Such a reader exits at its first match or line; a writer that writes again after
# that dies of SIGPIPE, and under `set -o pipefail`, which our scripts use, the whole pipeline
# then fails although the reader found what it looked for. Whether the writer wrote again in
# time is a race: a CI run lost it on `ldd PROGRAM | grep -q libasan`, 1 run in some hundreds
# on an idle machine. Read the writer's whole output first: `grep -q X <<<"$(writer)"`, or
# `sed -n 1p` for `head -n 1`. Fails naming each line.
#
# Usage: tests/unit/shell_pipes.sh SOURCE_DIR
set -euo pipefail
src=$1
found=0
# A pipe (not ||) into grep with -q or -m among its options, or into head; comment lines aside.
pattern='(^|[^|])\|[[:space:]]*(grep([[:space:]]+-[a-zA-Z]+)*[[:space:]]+-[a-zA-Z]*[qm]|head([[:space:]]|$))'
while IFS= read -r -d '' f; do
	while IFS= read -r hit; do
		echo "$f:$hit: pipes into a reader that stops early; read the writer's whole output first"
		found=$((found + 1))
	done < <(grep -nE -- "$pattern" "$f" | grep -vE '^[0-9]+:[[:space:]]*#' || true)
done < <(find "$src" \( -name build -o -name .git \) -prune -o \( -name '*.sh' -o -path "$src/.ci/run" \) -type f -print0)
if [ "$found" -gt 0 ]; then
	echo "FAIL: $found pipe(s) into an early-exiting reader"
	exit 1
fi
echo "PASS: no pipe into grep -q, grep -m or head"
