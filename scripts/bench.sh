#!/usr/bin/env bash
# `make bench`: measures SagaPay on this machine and writes docs/benchmarks.md.
#  (1) the seed's scenario: 1,000 POSTs at concurrency 100
#  (2) 60 s sustained at concurrency 100, --mix settle --e2e
#  (2b) 30 s open loop at BENCH_RATE payments/s (default 150), --mix settle --e2e
#  (3) 100 single payments on an idle system, end to end
#  (4) pgbench -N for 10 s against the same PostgreSQL (this machine's reference)
#  plus `sagapay reconcile` after the runs (must exit 0), peak memory per service and the
#  google-benchmark suite of the hot pure code.
# Stop `make up` first: the benchmark starts its own services on ports 8000-8006.
#
# BENCH_BUS=kafka and/or BENCH_REPLICAS=N (`make bench BUS=kafka`, `make bench REPLICAS=2`): the
# comparison instead: the same two scenarios (sustained closed loop, open loop) on Redis with one
# instance of each service and on each asked-for configuration, one after the other in this run,
# with settled/s, POST and end-to-end percentiles and the machine's CPU per settled payment; the
# rows replace the section "Buses and instances" of docs/benchmarks.md (the rest is kept).
# BENCH_TRACING=1 (`make bench TRACING=1`): the same two scenarios without and with OTLP export,
# in the section "Tracing overhead".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
DURATION="${BENCH_DURATION:-60}"
OUT="${BENCH_OUT:-docs/benchmarks.md}"
BIN=build/release/app/sagapay
LOGS=var/bench
mkdir -p "$LOGS"
BENCH_BUS=${BENCH_BUS:-redis}
BENCH_REPLICAS=${BENCH_REPLICAS:-}
if [[ "$BENCH_BUS" != redis || -n "$BENCH_REPLICAS" || -n "${BENCH_TRACING:-}" ]]; then
  exec "$ROOT/scripts/bench_compare.sh"
fi

cmake --preset release >/dev/null
cmake --build --preset release --target sagapay micro_bench -j "$(nproc)"
scripts/stack.sh start >/dev/null
eval "$(scripts/stack.sh env)"
export API_KEY="${API_KEY:-dev-secret}"

"$BIN" up --no-stack --no-prometheus --log-dir "$LOGS" >"$LOGS/up.out" 2>&1 &
UP=$!
cleanup() { kill -INT "$UP" 2>/dev/null || true; wait "$UP" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  grep -q "SagaPay is up" "$LOGS/up.out" && break
  kill -0 "$UP" 2>/dev/null || { cat "$LOGS/up.out"; exit 1; }
  sleep 0.1
done

value() { grep -E "^$1=" "$2" | head -1 | cut -d= -f2; }

# The idle scenario first, on a quiet system (after heavy load, autovacuum and checkpoints run).
echo "== (3) idle: 100 single payments"
"$BIN" load --total 100 --concurrency 1 --rate 10 --mix settle --e2e | tee "$LOGS/idle.txt" || true
echo "== (1) seed scenario"
"$BIN" load --total 1000 --concurrency 100 | tee "$LOGS/seed.txt" || true
echo "== (2) sustained ${DURATION}s, settle mix, end to end"
"$BIN" load --duration "$DURATION" --concurrency 100 --mix settle --e2e | tee "$LOGS/sustained.txt" || true
echo "== (2b) open loop at ${BENCH_RATE:=150}/s for 30 s, settle mix, end to end"
"$BIN" load --duration 30 --rate "$BENCH_RATE" --concurrency 100 --mix settle --e2e | tee "$LOGS/rate.txt" || true
echo "== reconciliation after the runs"
RECONCILE_RC=0
"$BIN" reconcile >"$LOGS/reconcile.json" || RECONCILE_RC=$?
jq_value() { sed -nE "s/^  \"$1\": ([^,]*),?$/\1/p" "$LOGS/reconcile.json" | head -1; }
echo "reconcile exit $RECONCILE_RC: balanced $(jq_value balanced), imbalanced $(jq_value imbalanced_count), mismatches $(jq_value mismatch_count), transactions $(jq_value transactions_checked)"
RSS=$(for p in $(pgrep -f "$BIN (gateway|orchestrator|risk|provider|ledger|notification|psp-sandbox)$"); do
  printf '%s %s\n' "$(tr '\0' ' ' </proc/$p/cmdline | awk '{print $2}')" "$(awk '/VmHWM/ {print $2}' /proc/$p/status)"
done | sort)
echo "== (4) pgbench -N 10 s"
scripts/stack.sh psql -qc "DROP DATABASE IF EXISTS pgbench" -c "CREATE DATABASE pgbench" >/dev/null
PGB="/usr/lib/postgresql/15/bin/pgbench -h 127.0.0.1 -p $SAGAPAY_PG_PORT -U postgres"
$PGB -i -s 10 -q pgbench >/dev/null 2>&1
$PGB -N -c 8 -j 2 -T 10 pgbench | tee "$LOGS/pgbench.txt"
TPS=$(grep -E '^tps' "$LOGS/pgbench.txt" | head -1 | sed -E 's/tps = ([0-9.]+).*/\1/')
echo "== micro benchmarks"
build/release/bench/micro_bench --benchmark_min_time=0.2 | tee "$LOGS/micro.txt"

SETTLED_PS=$(value settled_per_sec "$LOGS/sustained.txt")
RATIO=$(awk -v a="$SETTLED_PS" -v b="$TPS" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
{
  echo "# Benchmarks"
  echo
  echo "Measured by \`make bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), everything on one machine:"
  echo "PostgreSQL, Redis, the seven SagaPay processes (release build) and the load generator."
  echo "Figures from a shared 2-core VM are noisy; compare the ratio to pgbench across machines."
  echo
  echo "| scenario | command | figures |"
  echo "|---|---|---|"
  echo "| (1) seed: 1,000 POSTs at concurrency 100 | \`sagapay load --total 1000 --concurrency 100\` | errors $(value errors "$LOGS/seed.txt"), p50 $(value p50_ms "$LOGS/seed.txt") ms, p95 $(value p95_ms "$LOGS/seed.txt") ms, p99 $(value p99_ms "$LOGS/seed.txt") ms, $(value throughput_rps "$LOGS/seed.txt") req/s |"
  echo "| (2) sustained ${DURATION} s, concurrency 100 | \`sagapay load --duration $DURATION --concurrency 100 --mix settle --e2e\` | $(value total "$LOGS/sustained.txt") requests, errors $(value errors "$LOGS/sustained.txt"), POST p99 $(value p99_ms "$LOGS/sustained.txt") ms; settled $(value e2e_settled "$LOGS/sustained.txt"), **$SETTLED_PS settled/s**, end-to-end p50 $(value e2e_p50_ms "$LOGS/sustained.txt") ms, p95 $(value e2e_p95_ms "$LOGS/sustained.txt") ms, p99 $(value e2e_p99_ms "$LOGS/sustained.txt") ms, unfinished $(value e2e_unfinished "$LOGS/sustained.txt") |"
  echo "| (2b) open loop, $BENCH_RATE payments/s for 30 s | \`sagapay load --duration 30 --rate $BENCH_RATE --concurrency 100 --mix settle --e2e\` | $(value total "$LOGS/rate.txt") requests, errors $(value errors "$LOGS/rate.txt"), POST p99 $(value p99_ms "$LOGS/rate.txt") ms; settled $(value e2e_settled "$LOGS/rate.txt"), $(value settled_per_sec "$LOGS/rate.txt") settled/s, end-to-end p50 $(value e2e_p50_ms "$LOGS/rate.txt") ms, p95 $(value e2e_p95_ms "$LOGS/rate.txt") ms, p99 $(value e2e_p99_ms "$LOGS/rate.txt") ms, unfinished $(value e2e_unfinished "$LOGS/rate.txt") |"
  echo "| (3) idle: 100 payments, 10 a second | \`sagapay load --total 100 --concurrency 1 --rate 10 --mix settle --e2e\` | end-to-end p50 $(value e2e_p50_ms "$LOGS/idle.txt") ms, p95 $(value e2e_p95_ms "$LOGS/idle.txt") ms, p99 $(value e2e_p99_ms "$LOGS/idle.txt") ms; POST p50 $(value p50_ms "$LOGS/idle.txt") ms |"
  echo "| (4) pgbench -N, 10 s, 8 clients | \`pgbench -N -c 8 -j 2 -T 10\` | $TPS tps |"
  echo
  echo "**Settled payments per second / pgbench -N tps = $RATIO** (comparable across machines)."
  echo
  echo "Reconciliation after all runs (\`sagapay reconcile\`): exit $RECONCILE_RC, balanced $(jq_value balanced),"
  echo "imbalanced transactions $(jq_value imbalanced_count), saga/ledger mismatches $(jq_value mismatch_count),"
  echo "$(jq_value transactions_checked) ledger transactions checked."
  echo
  echo "The targets, what limits throughput now and what comes next: [performance.md](performance.md)."
  echo
  echo "The seed's published figures for (1): p50 1,694 ms, p99 2,722 ms; its pipeline needed about"
  echo "1.5 s per payment when idle and managed about 3 authorizations a second."
  echo
  echo "Peak resident memory per process during (2), kB (VmHWM):"
  echo
  echo '```'
  echo "$RSS"
  echo '```'
  echo
  echo "google-benchmark, hot pure code (\`build/release/bench/micro_bench\`):"
  echo
  echo '```'
  grep -E '^BM_' "$LOGS/micro.txt"
  echo '```'
} >"$OUT"
echo "wrote $OUT"
[[ $RECONCILE_RC -eq 0 ]] || { echo "bench: reconciliation failed (exit $RECONCILE_RC), see $LOGS/reconcile.json" >&2; exit 1; }
