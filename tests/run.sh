#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite: installs what is missing, builds with -Werror, runs every tier
# (unit, integration), runs the suite again under ASan+UBSan, and runs each fuzzer for a
# bounded time. Usage: tests/run.sh [--quick]  (--quick: no sanitizer pass, no fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)

bash tests/install-deps.sh
bash tests/pid-space.sh

step() { printf '\n=== %s ===\n' "$*"; }

step "style (clang-format, .clang-format)"
if command -v clang-format >/dev/null 2>&1 && [ -d .git ]; then
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror
	echo "clang-format: clean"
else
	echo "clang-format or git metadata missing: style check not run"
fi

step "build (warnings are errors)"
cmake -S "$src" -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOTA_WERROR=ON >/dev/null
cmake --build build/release -j"$jobs"

step "unit and integration tests"
ctest --test-dir build/release --output-on-failure -j"$jobs" -LE fuzz

if [ "$quick" -eq 0 ]; then
	step "the same suite under ASan+UBSan"
	cmake -S "$src" -B build/asan -DCMAKE_BUILD_TYPE=Debug -DFOTA_SANITIZE=ON \
		-DFOTA_WERROR=ON >/dev/null
	cmake --build build/asan -j"$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir build/asan --output-on-failure -j"$jobs" -LE "fuzz|slow"

	step "fuzzers (libFuzzer, ${FOTA_FUZZ_SECONDS:-20} s each)"
	cmake -S "$src" -B build/fuzz -DCMAKE_C_COMPILER=clang -DFOTA_FUZZ=ON \
		-DFOTA_FUZZ_SECONDS="${FOTA_FUZZ_SECONDS:-20}" >/dev/null
	cmake --build build/fuzz -j"$jobs"
	ctest --test-dir build/fuzz --output-on-failure -j"$jobs" -L fuzz
fi
