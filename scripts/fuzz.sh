#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang-14, ASan+UBSan, SAGAPAY_FUZZ=ON; only
# the targets and what they link) and runs each one after the other for a bounded time:
#
#   scripts/fuzz.sh [SECONDS]        # per target; default $FUZZ_SECONDS, else 300
#   FUZZ_TARGETS="dsn_fuzz redact_fuzz" scripts/fuzz.sh 30
#
# Each target starts from its committed seeds (fuzz/corpus/<target>/, never written) and the
# corpus earlier runs grew (build/fuzz/corpus/<target>/), with its dictionary (fuzz/dict/).
# Prints per target: executions, corpus size, crashes; writes the same as a Markdown table to
# build/fuzz/summary.md. Exits 1 when any target crashed or broke a property; the input is left in
# build/fuzz/artifacts/<target>/ (replay: build/fuzz/fuzz/<target> <file>) and the log in
# build/fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-300}}
[[ "$seconds" =~ ^[0-9]+$ ]] && ((seconds > 0)) || { echo "fuzz: SECONDS must be a positive number" >&2; exit 2; }
jobs=${JOBS:-$(nproc)}

# target → dictionary (fuzz/dict/<name>.dict)
declare -A DICT=(
  [payment_request_fuzz]=json
  [envelope_fuzz]=json
  [http_request_fuzz]=http
  [percent_decode_fuzz]=url
  [redact_fuzz]=url
  [dsn_fuzz]=url
  [redis_url_fuzz]=url
  [config_fuzz]=config
  [traceparent_fuzz]=traceparent
)
read -r -a targets <<<"${FUZZ_TARGETS:-payment_request_fuzz envelope_fuzz http_request_fuzz percent_decode_fuzz redact_fuzz dsn_fuzz redis_url_fuzz config_fuzz traceparent_fuzz}"

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake --preset fuzz "${launcher[@]}" >/dev/null
cmake --build --preset fuzz -j "$jobs"

out=build/fuzz
mkdir -p "$out/logs"
summary="$out/summary.md"
{
  echo "| target | seconds | executions | exec/s | corpus (files) | coverage (edges) | crashes |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$summary"
printf '%-22s %8s %12s %8s %8s %6s %8s\n' target seconds executions exec/s corpus cov crashes
failed=()
for target in "${targets[@]}"; do
  [[ -n "${DICT[$target]:-}" ]] || { echo "fuzz: unknown target $target" >&2; exit 2; }
  binary="$out/fuzz/$target"
  corpus="$out/corpus/$target"
  artifacts="$out/artifacts/$target"
  log="$out/logs/$target.log"
  mkdir -p "$corpus" "$artifacts"
  marker=$(mktemp)
  rc=0
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
    "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="fuzz/dict/${DICT[$target]}.dict" -artifact_prefix="$artifacts/" \
    "$corpus" "fuzz/corpus/$target" >"$log" 2>&1 || rc=$?
  crashes=$(find "$artifacts" -type f -newer "$marker" | wc -l)
  rm -f "$marker"
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  files=$(find "$corpus" -type f | wc -l)
  if ((rc != 0 && crashes == 0)); then
    crashes=1  # died without an artifact (e.g. could not start): still a failure
  fi
  printf '%-22s %8s %12s %8s %8s %6s %8s\n' "$target" "$seconds" "${executions:-?}" "${rate:-?}" \
    "$files" "${coverage:-?}" "$crashes"
  echo "| $target | $seconds | ${executions:-?} | ${rate:-?} | $files | ${coverage:-?} | $crashes |" >>"$summary"
  if ((crashes > 0)); then
    failed+=("$target")
    grep -E 'fuzz property violated|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log" | head -3 >&2 || true
    echo "  input left in $artifacts/, log in $log" >&2
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no crash in ${#targets[@]} targets ($seconds s each); table in $summary"
