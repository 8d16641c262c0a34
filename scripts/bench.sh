#!/usr/bin/env bash
# `make bench`: measures SagaPay on this machine and writes docs/benchmarks.md (the section
# "Round two" and everything above it; later sections are kept) and the load-sweep charts
# docs/img/bench-throughput.svg and docs/img/bench-latency.svg. On each bus of BENCH_BUSES
# (default "redis kafka"), with `sagapay up` on that bus:
#  idle       100 single payments, 10 a second, end to end
#  seed       the seed's scenario: 1,000 POSTs at concurrency 100
#  sustained  BENCH_DURATION (60) s closed loop at concurrency 100, --mix settle --e2e: past
#             saturation (admission control answers with back-pressure); CPU per settled
#             payment of every SagaPay process, PostgreSQL, Redis and Kafka's JVM (not the load
#             generator); peak resident memory per service
#  open loop  30 s at BENCH_RATE (800) payments/s
#  sweep      15 s open loop at each rate of BENCH_SWEEP (100 200 400 600 1000), with the two
#             above, for the charts (scripts/bench_charts.py)
#  plus `sagapay reconcile` after each bus (must exit 0), pgbench -N for 10 s against the same
#  PostgreSQL (this machine's reference) and the google-benchmark suite of the hot pure code.
# Stop `make up` first: the benchmark starts its own services on ports 8000-8006.
#
# BENCH_BUS=kafka and/or BENCH_REPLICAS=N (`make bench BUS=kafka`, `make bench REPLICAS=2`): the
# comparison instead: two scenarios (sustained closed loop, open loop) on Redis with one
# instance of each service and on each asked-for configuration, in the section "Buses and
# instances" (scripts/bench_compare.sh). BENCH_TRACING=1 (`make bench TRACING=1`): the same
# without and with OTLP export, in the section "Tracing overhead".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
DURATION="${BENCH_DURATION:-60}"
RATE="${BENCH_RATE:-800}"
SWEEP="${BENCH_SWEEP:-100 200 400 600 1000}"
BUSES="${BENCH_BUSES:-redis kafka}"
OUT="${BENCH_OUT:-docs/benchmarks.md}"
CHARTS="${BENCH_CHARTS:-docs/img}"
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
STACK_BUS=redis
[[ " $BUSES " == *" kafka "* ]] && STACK_BUS=kafka
SAGAPAY_BUS=$STACK_BUS scripts/stack.sh start >/dev/null
eval "$(SAGAPAY_BUS=$STACK_BUS scripts/stack.sh env)"
export API_KEY="${API_KEY:-dev-secret}"

# shellcheck source=scripts/measure_lib.sh
source scripts/measure_lib.sh
HZ=$(getconf CLK_TCK)
trap measure_stop_up EXIT
# The CPU ticks of `sagapay up` and its children and of the servers (postgres, redis-server, java).
busy_ticks() {
  local pids total=0 p t
  pids=$( { echo "$UP"; pgrep -P "$UP"; pgrep -x postgres; pgrep -x redis-server; pgrep -x java; } | sort -u)
  for p in $pids; do
    t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
load() { "$BIN" load "$@" || true; }
# ANALYZE after the warm-up: in new databases the first statistics are taken when the tables
# hold a hundred rows, and plans made from them (the timeline's foreign-key check on payments
# among them: a sequential scan, 2.7 ms a row once the table has grown) stay until autovacuum's
# next pass (autovacuum_naptime, 1 min). A deployment that has run for a while has no such phase.

SWEEP_TSV="$LOGS/sweep.tsv"
printf 'series\toffered_rate\tsettled_per_sec\tpost_p50_ms\tpost_p99_ms\te2e_p50_ms\te2e_p95_ms\te2e_p99_ms\terrors\tunfinished\n' >"$SWEEP_TSV"
sweep_row() {  # sweep_row BUS OFFERED FILE
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(value settled_per_sec "$3")" \
    "$(value p50_ms "$3")" "$(value p99_ms "$3")" "$(value e2e_p50_ms "$3")" \
    "$(value e2e_p95_ms "$3")" "$(value e2e_p99_ms "$3")" "$(value errors "$3")" \
    "$(value e2e_unfinished "$3")" >>"$SWEEP_TSV"
}

RECONCILE_FAILED=""
for bus in $BUSES; do
  dir="$LOGS/$bus"
  rm -rf "$dir"
  mkdir -p "$dir"
  measure_fresh_databases bench
  measure_fresh_redis 1
  measure_up "$bus" "$dir" "bench-$bus"
  # The idle scenario first, on a quiet system (after heavy load, autovacuum and checkpoints run).
  echo "== $bus: idle, 100 single payments"
  load --total 100 --concurrency 1 --rate 10 --mix settle --e2e | tee "$dir/idle.txt"
  echo "== $bus: seed scenario"
  load --total 1000 --concurrency 100 | tee "$dir/seed.txt"
  measure_analyze bench
  echo "== $bus: sustained ${DURATION} s closed loop, settle mix, end to end"
  t0=$(busy_ticks)
  load --duration "$DURATION" --concurrency 100 --mix settle --e2e | tee "$dir/sustained.txt"
  t1=$(busy_ticks)
  settled=$(value e2e_settled "$dir/sustained.txt")
  awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="${settled:-0}" \
    'BEGIN { if (n > 0) printf "%.2f\n", 1000 * t / hz / n; else print "n/a" }' >"$dir/cpu_ms.txt"
  for p in $(pgrep -P "$UP"); do
    name=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | awk '{print $2}') || continue
    printf '%s %s\n' "$name" "$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)"
  done | sort >"$dir/rss.txt"
  sweep_row "$bus" closed "$dir/sustained.txt"
  echo "== $bus: open loop at $RATE/s for 30 s"
  load --duration 30 --rate "$RATE" --concurrency 400 --mix settle --e2e | tee "$dir/rate.txt"
  sweep_row "$bus" "$RATE" "$dir/rate.txt"
  for r in $SWEEP; do
    echo "== $bus: sweep, open loop at $r/s for 15 s"
    load --duration 15 --rate "$r" --concurrency 400 --mix settle --e2e | tee "$dir/sweep-$r.txt"
    sweep_row "$bus" "$r" "$dir/sweep-$r.txt"
  done
  echo "== $bus: reconciliation after the runs"
  rc=0
  "$BIN" reconcile >"$dir/reconcile.json" || rc=$?
  echo "$rc" >"$dir/reconcile.rc"
  [[ $rc -eq 0 ]] || RECONCILE_FAILED+=" $bus"
  measure_stop_up
done

echo "== pgbench -N 10 s"
scripts/stack.sh psql -qc "DROP DATABASE IF EXISTS pgbench" -c "CREATE DATABASE pgbench" >/dev/null
PGB="/usr/lib/postgresql/15/bin/pgbench -h 127.0.0.1 -p $SAGAPAY_PG_PORT -U postgres"
$PGB -i -s 10 -q pgbench >/dev/null 2>&1
$PGB -N -c 8 -j 2 -T 10 pgbench | tee "$LOGS/pgbench.txt"
TPS=$(grep -E '^tps' "$LOGS/pgbench.txt" | head -1 | sed -E 's/tps = ([0-9.]+).*/\1/')
echo "== micro benchmarks"
build/release/bench/micro_bench --benchmark_min_time=0.2 | tee "$LOGS/micro.txt"
python3 scripts/bench_charts.py "$SWEEP_TSV" --out-dir "$CHARTS" \
  --title-suffix "($(nproc) cores, $(date -u +%Y-%m-%d))"

# ---------------------------------------------------------------------------- the report --
# met CONDITION: "met" or "**missed**".
met() { awk "BEGIN { exit !($1) }" && echo met || echo "**missed**"; }
num() { local v; v=$(value "$1" "$2"); echo "${v:-0}"; }
jq_value() { sed -nE "s/^  \"$1\": ([^,]*),?$/\1/p" "$2" | head -1; }
HEADER=$(printf '| figure | target | previous round (2026-11-27, Redis) |')
SEP='|---|---|---|'
for bus in $BUSES; do HEADER+=" $bus |"; SEP+='---|'; done
declare -A CELL
for bus in $BUSES; do
  d="$LOGS/$bus"
  seed_p99=$(num p99_ms "$d/seed.txt"); seed_err=$(num errors "$d/seed.txt")
  CELL[seed,$bus]="p99 $seed_p99 ms, p50 $(num p50_ms "$d/seed.txt") ms, errors $seed_err, $(num throughput_rps "$d/seed.txt") req/s, throttled $(num throttled "$d/seed.txt"): $(met "$seed_p99 <= 15 && $seed_err == 0")"
  sps=$(num settled_per_sec "$d/sustained.txt"); serr=$(num errors "$d/sustained.txt")
  rc=$(cat "$d/reconcile.rc")
  CELL[sustained,$bus]="**$sps settled/s**, errors $serr, reconcile exit $rc ($(jq_value transactions_checked "$d/reconcile.json") transactions, $(jq_value mismatch_count "$d/reconcile.json") mismatches), settled/s ÷ pgbench tps = $(awk -v a="$sps" -v b="${TPS:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'): $(met "$sps >= 1000 && $serr == 0 && $rc == 0")"
  rp99=$(num e2e_p99_ms "$d/rate.txt")
  CELL[rate,$bus]="e2e p99 $rp99 ms (p50 $(num e2e_p50_ms "$d/rate.txt")), $(num settled_per_sec "$d/rate.txt") settled/s, errors $(num errors "$d/rate.txt"), unfinished $(num e2e_unfinished "$d/rate.txt"): $(met "$rp99 <= 250 && $(num e2e_unfinished "$d/rate.txt") == 0")"
  cp99=$(num e2e_p99_ms "$d/sustained.txt")
  CELL[closed,$bus]="e2e p99 $cp99 ms (p50 $(num e2e_p50_ms "$d/sustained.txt")), POST p50 / p99 $(num p50_ms "$d/sustained.txt") / $(num p99_ms "$d/sustained.txt") ms, throttled $(num throttled "$d/sustained.txt"), unfinished $(num e2e_unfinished "$d/sustained.txt"): $(met "$cp99 <= 10000 && $(num e2e_unfinished "$d/sustained.txt") == 0")"
  ip50=$(num e2e_p50_ms "$d/idle.txt")
  CELL[idle,$bus]="e2e p50 $ip50 ms (p99 $(num e2e_p99_ms "$d/idle.txt")), POST p50 $(num p50_ms "$d/idle.txt") ms: $(met "$ip50 <= 5")"
  cpu=$(cat "$d/cpu_ms.txt")
  CELL[cpu,$bus]="$cpu ms: $(met "\"$cpu\" != \"n/a\" && $cpu <= 2")"
  rss_max=$(awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m / 1024 }' "$d/rss.txt")
  CELL[rss,$bus]="largest $rss_max MB ($(awk '{ printf "%s%s %.0f", (NR > 1 ? ", " : ""), $1, $2 / 1024 }' "$d/rss.txt")): $(met "$rss_max <= 64")"
done
row() {  # row KEY FIGURE TARGET PREVIOUS
  local line="| $2 | $3 | $4 |" bus
  for bus in $BUSES; do line+=" ${CELL[$1,$bus]} |"; done
  echo "$line"
}
KEPT=$(mktemp)
if [[ -f "$OUT" ]]; then
  awk '/^## / && $0 != "## Round two" && started == 0 && seen { started = 1 } /^## Round two$/ { seen = 1 }
       started { print }' "$OUT" >"$KEPT"
  # A file without the section: keep the comparison sections written by bench_compare.sh.
  [[ -s "$KEPT" ]] || awk '/^## (Buses and instances|Tracing overhead)$/ { on = 1 } on { print }' "$OUT" >"$KEPT"
fi
{
  echo "# Benchmarks"
  echo
  echo "Measured by \`make bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), everything on one machine:"
  echo "PostgreSQL, Redis, Kafka (one broker, replication factor 1), the seven SagaPay processes"
  echo "(release build) and the load generator. Figures from a shared 2-core VM are noisy (15 % and"
  echo "more between identical runs); compare the ratio to pgbench across machines. What limits each"
  echo "figure and what was changed to get it: [performance.md](performance.md)."
  echo
  echo "## Round two"
  echo
  echo "Targets of issue 16; the previous round's figures are those of \`make bench\` on 2026-11-27"
  echo "(Redis, before admission control), same machine kind. pgbench -N of this run: **$TPS tps**."
  echo
  echo "$HEADER"
  echo "$SEP"
  row seed "seed scenario: \`load --total 1000 --concurrency 100\`" "p99 ≤ 15 ms, 0 errors" "p99 1,174.80 ms, p50 61.25 ms, errors 0, 833.5 req/s"
  row sustained "sustained: \`load --duration $DURATION --concurrency 100 --mix settle --e2e\`" "≥ 1,000 settled/s, 0 errors, reconciliation clean" "398.6 settled/s, errors 0, reconcile exit 0, ratio 0.062"
  row rate "open loop: \`load --duration 30 --rate $RATE --concurrency 400 --mix settle --e2e\`" "e2e p99 ≤ 250 ms" "not measured at 800/s (at 150/s: e2e p99 222 ms)"
  row closed "closed loop past saturation (the sustained run)" "no unbounded backlog; back-pressure at the POST; e2e p99 bounded (≤ 10 s here) and reported" "e2e p99 38,397 ms and growing with the run: unbounded"
  row idle "idle: \`load --total 100 --concurrency 1 --rate 10 --mix settle --e2e\`" "e2e p50 ≤ 5 ms" "e2e p50 13.83 ms"
  row cpu "CPU per settled payment, all processes incl. PostgreSQL, Redis, Kafka (sustained run)" "≤ 2 ms" "about 5 ms (performance.md)"
  row rss "resident memory per service under load (VmHWM after the sustained run)" "≤ 64 MB" "largest 42 MB (psp-sandbox)"
  echo
  echo "\"Throttled\": answers 503 \`overloaded\` (admission control, docs/performance.md) or 429 that"
  echo "the load generator retried after their \`retry-after\` with the same idempotency key; a"
  echo "payment's POST latency runs from its first send. End-to-end latency: from the payment's"
  echo "creation to its last timeline entry (settled)."
  echo
  echo "### Load sweep"
  echo
  echo "Open loop at each offered rate (15 s; $RATE/s: 30 s) and the closed loop, per bus"
  echo "(\`$SWEEP_TSV\`, drawn by scripts/bench_charts.py):"
  echo
  echo "![settled against offered](img/bench-throughput.svg)"
  echo
  echo "![latency against throughput](img/bench-latency.svg)"
  echo
  echo "| bus | offered/s | settled/s | POST p50 / p99 ms | e2e p50 / p95 / p99 ms | errors | unfinished |"
  echo "|---|---|---|---|---|---|---|"
  tail -n +2 "$SWEEP_TSV" | sort -t$'\t' -k1,1 -k2,2n | awk -F'\t' '{ printf "| %s | %s | %s | %s / %s | %s / %s / %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
  echo
  echo "### Micro benchmarks"
  echo
  echo "google-benchmark, hot pure code (\`build/release/bench/micro_bench\`):"
  echo
  echo '```'
  grep -E '^BM_' "$LOGS/micro.txt"
  echo '```'
  if [[ -s "$KEPT" ]]; then
    echo
    cat "$KEPT"
  fi
} >"$OUT.new"
mv "$OUT.new" "$OUT"
rm -f "$KEPT"
echo "wrote $OUT and $CHARTS/bench-*.svg"
[[ -z "$RECONCILE_FAILED" ]] || { echo "bench: reconciliation failed on:$RECONCILE_FAILED (see $LOGS/<bus>/reconcile.json)" >&2; exit 1; }
