#!/usr/bin/env bash
# `make profile`: where the time of a settled payment goes. Runs the release build on the bus of
# PROFILE_BUS (redis) in new databases of its own (profile_<service>, Redis database 2), warms it
# up, then a closed loop of PROFILE_DURATION (30) s at concurrency 100 (`--mix settle --e2e`),
# or with PROFILE_RATE=<n> an open loop offering n payments a second, and reports, for that loop
# only:
#  - CPU ms per settled payment of each SagaPay process, PostgreSQL (all backends) and Redis
#    (from /proc/<pid>/stat), and of the whole set, beside the CPU each uses a second with no
#    load at all (PROFILE_IDLE, 10 s, measured after the warm-up): what a payment costs at a low
#    rate is mostly that;
#  - PostgreSQL's statements by total time (pg_stat_statements, reset after the warm-up), with
#    the database each ran in;
#  - the tables read by sequential scans (pg_stat_user_tables), which name a plan gone wrong.
# The report goes to stdout and var/profile/report.md.
#
# PROFILE_WARMUP=full (the default) warms up as `make bench` does before its sustained run: 100
# single payments and the seed's 1,000 POSTs, then ANALYZE. PROFILE_WARMUP=short: the 100
# single payments only, then ANALYZE: the plans PostgreSQL makes then are made on tables of a
# few pages (docs/performance.md, "New databases"). PROFILE_PG_OPTIONS: server settings for every
# service's sessions, e.g. "-c plan_cache_mode=force_custom_plan" (added to the DSNs' `options`).
# Stop `make up` first: this starts its own services on ports 8000-8006.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
DURATION="${PROFILE_DURATION:-30}"
WARMUP="${PROFILE_WARMUP:-full}"
BUS="${PROFILE_BUS:-redis}"
TOP="${PROFILE_TOP:-15}"
RATE="${PROFILE_RATE:-}"
IDLE="${PROFILE_IDLE:-10}"
BIN=build/release/app/sagapay
OUT=var/profile
if [[ -n "$RATE" && ! "$RATE" =~ ^[1-9][0-9]*$ ]]; then
  echo "profile: PROFILE_RATE is a whole number of payments a second, not '$RATE'" >&2
  exit 2
fi
if [[ ! "$IDLE" =~ ^[1-9][0-9]*$ ]]; then
  echo "profile: PROFILE_IDLE is a whole number of seconds, not '$IDLE'" >&2
  exit 2
fi
case "$WARMUP" in full | short) ;; *)
  echo "profile: PROFILE_WARMUP is full or short, not '$WARMUP'" >&2
  exit 2
  ;;
esac

cmake --preset release >/dev/null
cmake --build --preset release --target sagapay -j "$(nproc)"
SAGAPAY_BUS=$BUS scripts/stack.sh start >/dev/null
eval "$(SAGAPAY_BUS=$BUS scripts/stack.sh env)"
export API_KEY="${API_KEY:-dev-secret}"
rm -rf "$OUT"
mkdir -p "$OUT"

# shellcheck source=scripts/measure_lib.sh
source scripts/measure_lib.sh
trap measure_stop_up EXIT
measure_fresh_redis 2
options=""
if [[ -n "${PROFILE_PG_OPTIONS:-}" ]]; then
  options="?options=$(sed 's/ /%20/g; s/=/%3D/g' <<<"$PROFILE_PG_OPTIONS")"
fi
measure_fresh_databases profile "$options"
measure_up "$BUS" "$OUT" profile

load() { "$BIN" load "$@" || true; }
echo "== warm-up ($WARMUP)"
load --total 100 --concurrency 1 --rate 10 --mix settle --e2e >"$OUT/warmup-idle.txt"
if [[ "$WARMUP" == full ]]; then
  load --total 1000 --concurrency 100 >"$OUT/warmup-seed.txt"
fi
measure_analyze profile "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
  "SELECT pg_stat_reset()"
scripts/stack.sh psql -d profile_orchestrator -qc "SELECT pg_stat_statements_reset()" >/dev/null

# "name ticks" for each process of `sagapay up`, PostgreSQL's backends together, and Redis.
ticks() {
  local p name
  for p in $(pgrep -P "$UP"); do
    name=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | awk '{print $2}') || continue
    echo "$name $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)"
  done | awk '{t[$1] += $2} END {for (n in t) print n, t[n]}'
  for p in $(pgrep -x postgres); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done |
    awk '{s += $1} END {print "postgresql", s + 0}'
  for p in $(pgrep -x redis-server); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done |
    awk '{s += $1} END {print "redis", s + 0}'
}
echo "== no load, $IDLE s"
ticks | sort >"$OUT/idle0"
sleep "$IDLE"
ticks | sort >"$OUT/idle1"
if [[ -n "$RATE" ]]; then
  LOOP="open loop offering $RATE payments/s for $DURATION s"
  shape=(--rate "$RATE" --concurrency 400)
else
  LOOP="$DURATION s closed loop at concurrency 100"
  shape=(--concurrency 100)
fi
echo "== $LOOP"
ticks | sort >"$OUT/ticks0"
load --duration "$DURATION" "${shape[@]}" --mix settle --e2e | tee "$OUT/loop.txt"
ticks | sort >"$OUT/ticks1"
settled=$(value e2e_settled "$OUT/loop.txt")
HZ=$(getconf CLK_TCK)
md_rows() { awk -F'|' '{ o = "|"; for (i = 1; i <= NF; i++) o = o " " $i " |"; print o }'; }

{
  echo "# Profile: $LOOP, $BUS, warm-up $WARMUP${PROFILE_PG_OPTIONS:+, $PROFILE_PG_OPTIONS}"
  echo
  echo "$(date -u +%F) on $(nproc) cores, release build, \`scripts/profile.sh\` (\`make profile\`)."
  echo "Settled in the loop: ${settled:-0} ($(value settled_per_sec "$OUT/loop.txt") settled/s),"
  echo "errors $(value errors "$OUT/loop.txt"), e2e p50 / p99 $(value e2e_p50_ms "$OUT/loop.txt") /"
  echo "$(value e2e_p99_ms "$OUT/loop.txt") ms."
  echo
  echo "| process | CPU ms per settled payment | CPU ms a second with no load |"
  echo "|---|---|---|"
  join "$OUT/idle0" "$OUT/idle1" | join - "$OUT/ticks0" | join - "$OUT/ticks1" |
    awk -v hz="$HZ" -v n="${settled:-0}" -v idle="$IDLE" '
    { d = $5 - $4; i = $3 - $2; total += d; itotal += i; rows[$1] = d; irows[$1] = i }
    END {
      if (n == 0) { print "| (nothing settled) | n/a | n/a |"; exit }
      for (p in rows) printf "| %s | %.2f | %.1f |\n", p, 1000 * rows[p] / hz / n, 1000 * irows[p] / hz / idle
      printf "| **all of them** | **%.2f** | **%.1f** |\n", 1000 * total / hz / n, 1000 * itotal / hz / idle
    }' | sort -t'|' -k3 -rn
  echo
  echo "PostgreSQL's statements by total time during the loop (pg_stat_statements):"
  echo
  echo "| database | total ms | calls | ms a call | rows a call | statement |"
  echo "|---|---|---|---|---|---|"
  scripts/stack.sh psql -d profile_orchestrator -AtF'|' -c "
    SELECT d.datname, round(s.total_exec_time), s.calls,
           round((s.total_exec_time / s.calls)::numeric, 3),
           round(s.rows::numeric / s.calls, 1),
           replace(left(regexp_replace(s.query, '\s+', ' ', 'g'), 120), '|', '/')
      FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname LIKE 'profile\_%' AND s.calls > 0
     ORDER BY s.total_exec_time DESC LIMIT $TOP" | md_rows
  echo
  echo "Sequential scans during the loop (pg_stat_user_tables):"
  echo
  echo "| database | table | sequential scans | rows they read | index scans |"
  echo "|---|---|---|---|---|"
  for db in $MEASURED_DBS; do
    scripts/stack.sh psql -d "profile_$db" -AtF'|' -c "
      SELECT '$db', relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0)
        FROM pg_stat_user_tables WHERE seq_tup_read > 0 AND relname <> 'schema_migrations'"
  done | sort -t'|' -k4 -rn | md_rows
} | tee "$OUT/report.md"
