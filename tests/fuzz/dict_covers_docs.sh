#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every member (and state or result name) that docs/manifest.md lists for the manifest, the
# directive, the group assignment, the status and the repair request is spelled in that document's fuzz dictionary,
# so a new member cannot be added without the fuzzers learning it.
# Usage: dict_covers_docs.sh DOCS/manifest.md DICT_DIR
set -euo pipefail
doc=$1 dir=$2
missing=0
while read -r kind name; do
	if ! grep -qxF "\"$name\"" "$dir/$kind.dict"; then
		echo "FAIL: $kind member '$name' (docs/manifest.md) is not in dict/$kind.dict"
		missing=$((missing + 1))
	fi
done < <(awk '
	/^## Image manifest/ { s = "manifest" }
	/^## Campaign directive/ { s = "directive" }
	/^## Group assignment/ { s = "assignment" }
	/^### Status/ { s = "status" }
	/^### Repair request/ { s = "request" }
	/^## Topics/ { s = "" }
	s == "" { next }
	# first column of a member table: | `image.chunk_size` | or | `ranges[i]` first |
	/^\| `[a-z0-9_.]+(\[i\])?`/ {
		match($0, /`[a-z0-9_.\[\]]+`/)
		n = substr($0, RSTART + 1, RLENGTH - 2)
		sub(/\[i\]$/, "", n); sub(/.*\./, "", n)
		print s, n
	}
	# members named in bullet lists and inline objects: - `devices`: ... {"all": true}
	/^ *- `[a-z0-9_]+`/ { match($0, /`[a-z0-9_]+`/); print s, substr($0, RSTART + 1, RLENGTH - 2) }
	/^- `\{"[a-z0-9_]+":/ { match($0, /"[a-z0-9_]+"/); print s, substr($0, RSTART + 1, RLENGTH - 2) }
' "$doc" | sort -u)
n=$(grep -c . "$dir"/*.dict | awk -F: '{ t += $2 } END { print t }')
[ "$missing" -eq 0 ] || exit 1
echo "ok - every documented member is in the dictionaries ($n lines)"
