#!/usr/bin/env bash
# `make bench BUS=kafka` / `make bench REPLICAS=2` (scripts/bench.sh hands over to this): the
# same scenarios on Redis with one instance of each service (the reference row) and on each
# asked-for configuration, one after the other in one run on this machine:
#   sustained: `sagapay load --duration D --concurrency 100 --mix settle --e2e` (closed loop)
#   open loop: `sagapay load --duration 30 --rate R --concurrency 100 --mix settle --e2e`
# CPU per settled payment: the CPU time (user + system, /proc/<pid>/stat) the system spent in
# the scenario — every process of `sagapay up`, the PostgreSQL and Redis servers and Kafka's
# JVM; not the load generator — divided by the payments settled in it. Rows go to the section "## Buses and instances" of docs/benchmarks.md.
#
# Env: BENCH_BUS (redis|kafka), BENCH_REPLICAS (N: N instances of every service, or
# service=N,... as for `sagapay up --replicas`), BENCH_COMPARE_DURATION (30 s), BENCH_RATE (150),
# BENCH_TRACING=1 (`make bench TRACING=1`: Redis again with every span exported over OTLP/HTTP to
# scripts/otlp_sink.py, whose CPU is not counted: what tracing costs the saga, docs/tracing.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN=build/release/app/sagapay
LOGS=var/bench/compare
OUT="${BENCH_OUT:-docs/benchmarks.md}"
DURATION=${BENCH_COMPARE_DURATION:-30}
RATE=${BENCH_RATE:-150}
BUS=${BENCH_BUS:-redis}
REPLICAS=${BENCH_REPLICAS:-}
TRACING=${BENCH_TRACING:-}
[[ "$BUS" == redis || "$BUS" == kafka ]] || { echo "bench: BUS must be redis or kafka" >&2; exit 2; }
LABEL=$REPLICAS
if [[ "$REPLICAS" =~ ^[0-9]+$ ]]; then
  n=$REPLICAS
  LABEL="×$n every service"
  REPLICAS="gateway=$n,orchestrator=$n,risk=$n,provider=$n,ledger=$n,notification=$n"
fi
mkdir -p "$LOGS"

cmake --preset release >/dev/null
cmake --build --preset release --target sagapay -j "$(nproc)"
SAGAPAY_BUS=kafka scripts/stack.sh start >/dev/null
eval "$(SAGAPAY_BUS=kafka scripts/stack.sh env)"
export API_KEY="${API_KEY:-dev-secret}"

value() { grep -E "^$1=" "$2" | head -1 | cut -d= -f2; }
# The CPU ticks of `sagapay up` and its children and of the servers (postgres, redis-server, java).
busy_ticks() {
  local pids
  pids=$( { echo "$UP"; pgrep -P "$UP"; pgrep -x postgres; pgrep -x redis-server; pgrep -x java; } | sort -u)
  local total=0 p t
  for p in $pids; do
    t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

UP=""
SINK=""
stop_up() {
  if [[ -n "$UP" ]]; then kill -INT "$UP" 2>/dev/null || true; wait "$UP" 2>/dev/null || true; UP=""; fi
  if [[ -n "$SINK" ]]; then kill -TERM "$SINK" 2>/dev/null || true; wait "$SINK" 2>/dev/null || true; SINK=""; fi
}
trap stop_up EXIT

# run_config NAME BUS REPLICAS [VAR=VALUE...]: starts `sagapay up` so (with those variables),
# runs both scenarios, prints one row each.
ROWS=()
run_config() {
  local name=$1 bus=$2 replicas=$3 log="$LOGS/${1//[^A-Za-z0-9]/_}"
  shift 3
  mkdir -p "$log"
  local args=(up --no-stack --no-prometheus --log-dir "$log")
  [[ -n "$replicas" ]] && args+=(--replicas "$replicas")
  env "$@" EVENT_BUS=$bus KAFKA_REPLICATION_FACTOR=1 EVENT_STREAM_PREFIX="bench-${name//[^A-Za-z0-9]/_}-$(date +%s)-" \
    "$BIN" "${args[@]}" >"$log/up.out" 2>&1 &
  UP=$!
  for _ in $(seq 1 900); do
    grep -q "SagaPay is up" "$log/up.out" && break
    kill -0 "$UP" 2>/dev/null || { cat "$log/up.out"; exit 1; }
    sleep 0.1
  done
  grep -q "SagaPay is up" "$log/up.out" || { echo "bench: $name did not come up" >&2; cat "$log/up.out"; exit 1; }
  local scenario file t0 t1
  for scenario in sustained rate; do
    file="$log/$scenario.txt"
    echo "== $name: $scenario"
    t0=$(busy_ticks)
    if [[ $scenario == sustained ]]; then
      "$BIN" load --duration "$DURATION" --concurrency 100 --mix settle --e2e | tee "$file" || true
    else
      "$BIN" load --duration 30 --rate "$RATE" --concurrency 100 --mix settle --e2e | tee "$file" || true
    fi
    t1=$(busy_ticks)
    local settled cpu
    settled=$(value e2e_settled "$file")
    cpu=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$settled" 'BEGIN { if (n > 0) printf "%.2f", 1000 * t / hz / n; else print "n/a" }')
    local what="closed loop ${DURATION} s, concurrency 100"
    [[ $scenario == rate ]] && what="open loop $RATE/s for 30 s"
    ROWS+=("| $name | $what | $(value settled_per_sec "$file") | $(value errors "$file") | $(value p50_ms "$file") / $(value p99_ms "$file") | $(value e2e_p50_ms "$file") / $(value e2e_p99_ms "$file") | $(value e2e_unfinished "$file") | $cpu |")
  done
  stop_up
}

run_config "redis" redis ""
if [[ -n "$TRACING" ]]; then
  SINK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 scripts/otlp_sink.py --port "$SINK_PORT" --stats "$LOGS/otlp_sink.txt" &
  SINK=$!
  run_config "redis, traces exported" redis "" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT"
  echo "otlp sink: $(tr '\n' ' ' < "$LOGS/otlp_sink.txt")"
  SPANS_LINE="Spans received by the sink in the traced run: $(grep spans= "$LOGS/otlp_sink.txt" | cut -d= -f2) in $(grep requests= "$LOGS/otlp_sink.txt" | cut -d= -f2) requests."
fi
[[ "$BUS" == kafka ]] && run_config "kafka" kafka ""
if [[ -n "$REPLICAS" ]]; then
  run_config "redis, $LABEL" redis "$REPLICAS"
  [[ "$BUS" == kafka ]] && run_config "kafka, $LABEL" kafka "$REPLICAS"
fi

# TRACING=1 alone writes its own section; otherwise the rows are the buses-and-instances table.
TITLE="## Buses and instances"
[[ -n "$TRACING" && "$BUS" == redis && -z "$REPLICAS" ]] && TITLE="## Tracing overhead"
SECTION=$(mktemp)
{
  echo "$TITLE"
  echo
  echo "Measured by \`make bench${BENCH_BUS:+ BUS=$BUS}${BENCH_REPLICAS:+ REPLICAS=$BENCH_REPLICAS}${TRACING:+ TRACING=1}\` (scripts/bench_compare.sh) on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "the configurations one after the other in one run, release build, everything on this machine"
  echo "(Kafka: one broker of scripts/kafka.sh, replication factor 1). The load goes to the first"
  echo "gateway. CPU per settled payment: the CPU time of every SagaPay process, PostgreSQL, Redis"
  echo "and Kafka's JVM during the scenario (not the load generator) divided by the payments settled."
  echo
  [[ -n "${SPANS_LINE:-}" ]] && { echo "$SPANS_LINE"; echo; }
  echo "| configuration | scenario | settled/s | errors | POST p50 / p99 ms | end-to-end p50 / p99 ms | unfinished | CPU ms per settled payment |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} >"$SECTION"
if [[ -f "$OUT" ]] && grep -qx "$TITLE" "$OUT"; then
  # Replace the old section (up to the next "## " heading or the end).
  awk -v file="$SECTION" '
    $0 == title { while ((getline line < file) > 0) print line; skip = 1; next }
    skip && /^## / { skip = 0; print ""; }
    !skip { print }' title="$TITLE" "$OUT" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
else
  { echo; cat "$SECTION"; } >>"$OUT"
fi
rm -f "$SECTION"
echo "wrote the section '${TITLE#\#\# }' of $OUT"
