#!/usr/bin/env bash
# clang-tidy (.clang-tidy at the root) over every translation unit of the project, tests included.
# Uses the compile_commands.json of the `tidy` preset (configure only: nothing is compiled, which
# on 2 cores is several times faster than CMAKE_CXX_CLANG_TIDY with a full build).
# Exit status non-zero on any finding (WarningsAsErrors: '*').
#
#   scripts/tidy.sh [regex]   only the files whose path matches regex (default: all of ours)
#   JOBS=n                    parallel clang-tidy processes (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
BUILD=build/tidy
command -v run-clang-tidy >/dev/null || { echo "tidy: run-clang-tidy not found (scripts/deps.sh installs clang-tidy)" >&2; exit 1; }

cmake --preset tidy >/dev/null
# Our sources only: not the migration sources CMake generates under build/.
root_re=$(sed 's/[][\\.^$*+?(){}|]/\\&/g' <<<"$ROOT")
filter=${1:-"^$root_re/(?!build/)"}
log=$BUILD/tidy.log
start=$SECONDS
status=0
# run-clang-tidy 14 always asks for colour: strip it for the log.
run-clang-tidy -quiet -j "$JOBS" -p "$BUILD" "$filter" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$log" \
  || status=$?
# One line per distinct finding (a header's findings repeat for every file that includes it).
findings=$(grep -E '^/.*:[0-9]+:[0-9]+: (warning|error|fatal error): ' "$log" | sort -u || true)
if [[ -n "$findings" ]]; then
  echo "$findings"
  echo
  echo "tidy: findings per check:"
  # A finding of two aliased checks names both: [a,b,-warnings-as-errors].
  grep -oE '\[[a-z0-9.,-]+\]$' <<<"$findings" | sed 's/,-warnings-as-errors//' | sort | uniq -c \
    | sort -rn
fi
echo "tidy: $(grep -c . <<<"$findings" || true) finding(s), $((SECONDS - start)) s, full log: $log"
if ((status != 0)) && [[ -z "$findings" ]]; then
  tail -n 30 "$log" >&2
fi
exit "$status"
