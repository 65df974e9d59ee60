#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The manual pages and the programs' --help say the same thing: every long option and every
# command named in fota-orchestrator(8) exists in some --help text of fota-orchestrator, and
# every one its --help texts name is in the manual page; the same for fota-client(8) and
# fota-client --help. Fails listing each difference and where it is missing.
#
# Usage: tests/unit/man_help.sh FOTA_ORCHESTRATOR FOTA_CLIENT MAN_DIR
set -euo pipefail
orch=$1 client=$2 man=$3
failures=0

# Long options in a text: --name tokens (roff writes the dashes as \-).
options() { sed 's/\\-/-/g' | grep -oE -- '--[a-z][a-z0-9]*(-[a-z0-9]+)*' | sort -u; }
# roff markup removed: font escapes, requests, quotes.
plain() { sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/^\.[A-Z]\{1,2\} *//' -e 's/"//g'; }

# same WHAT HELP_LIST MAN_LIST: both lists (one item a line) are equal, else each difference.
same() {
	local what=$1 help=$2 manual=$3 d
	d=$(comm -23 <(echo "$help") <(echo "$manual"))
	[ -z "$d" ] || { failures=$((failures + 1)); echo "FAIL: $what in --help but not in the manual page:" $d; }
	d=$(comm -13 <(echo "$help") <(echo "$manual"))
	[ -z "$d" ] || { failures=$((failures + 1)); echo "FAIL: $what in the manual page but not in --help:" $d; }
	[ -n "$help" ] || { failures=$((failures + 1)); echo "FAIL: no $what found in --help"; }
	echo "checked $(echo "$help" | wc -l) $what"
}

# --- fota-orchestrator -----------------------------------------------------------------------
top=$("$orch" --help)
# Commands: the "Commands:" block of the top-level help, "  image add FILE ..." -> "image add".
# A second word is part of the command only when one space separates it (the description
# stands after several).
commands=$(sed -n '/^Commands:/,/^$/p' <<<"$top" | grep -E '^  [a-z]' |
	sed -E 's/^  ([a-z]+( [a-z]+)?).*/\1/' | sort -u)
help_text=$top
while read -r c; do
	# shellcheck disable=SC2086
	help_text+=$'\n'$("$orch" $c --help 2>&1)
done <<<"$commands"
# Subcommands of campaign and device: in their help's usage lines, the first word of each
# "|"-separated part ("  start ID | pause ID | ..." -> start, pause, ...).
subs=$(for p in campaign device; do
	"$orch" "$p" --help | sed -n '/^Usage/,/^Shared options/p' | grep -E '^  [a-z]' |
		tr '|' '\n' | awk -v p="$p" '$1 ~ /^[a-z]+$/ {print p " " $1}'
done | sort -u)
commands_section=$(sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$man/fota-orchestrator.8" | plain)
missing=""
while read -r c; do
	[ -n "$c" ] || continue
	grep -qE "(^|[ ,|])${c}( |$|,)" <<<"$commands_section" ||
		grep -qE "^${c%% *}( |$).*(^|[ ,|])${c#* }( |$|,)" <<<"$commands_section" || missing+=" '$c'"
done <<<"$(printf '%s\n%s\n' "$commands" "$subs")"
if [ -n "$missing" ]; then
	failures=$((failures + 1))
	echo "FAIL: commands in --help but not in the COMMANDS section of fota-orchestrator(8):$missing"
fi
echo "checked $(printf '%s\n%s\n' "$commands" "$subs" | grep -c .) commands and subcommands"
# Every command entry of the manual page (its .TP headings) is a command of the program.
man_commands=$(sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$man/fota-orchestrator.8" |
	awk 'prev == ".TP" {print} {prev = $0}' | plain | awk '{print $1}' | sort -u)
d=$(comm -23 <(echo "$man_commands") <(awk '{print $1}' <<<"$commands" | sort -u))
[ -z "$d" ] || { failures=$((failures + 1)); echo "FAIL: commands in fota-orchestrator(8) that --help does not know:" $d; }
same "fota-orchestrator options" "$(options <<<"$help_text")" "$(options <"$man/fota-orchestrator.8")"

# --- fota-client -----------------------------------------------------------------------------
same "fota-client options" "$("$client" --help | options)" "$(options <"$man/fota-client.8")"

[ "$failures" -eq 0 ] && echo "manual pages and --help agree" || exit 1
