# Sourced by scripts/bench.sh and scripts/profile.sh: the release services on new databases of
# their own, for a measurement. Expects the environment of `scripts/stack.sh env` and BIN (the
# sagapay binary); `sagapay up`'s pid is in UP.

MEASURED_DBS="orchestrator risk provider ledger notification"
UP=""

# measure_fresh_databases PREFIX [QUERY]: new, empty databases PREFIX_<service>, and each
# service's DSN pointed at its own (QUERY, e.g. "?options=…", appended). The figures do not
# depend on what earlier runs left (a larger payments table, outbox rows an earlier run's streams
# never consumed, which the relay would re-publish at start).
measure_fresh_databases() {
  local prefix=$1 query=${2:-} db var
  for db in $MEASURED_DBS; do
    scripts/stack.sh psql -qc "DROP DATABASE IF EXISTS ${prefix}_$db WITH (FORCE)" \
      -c "CREATE DATABASE ${prefix}_$db" >/dev/null
    var=${db^^}_POSTGRES_DSN
    export "$var=${!var%/*}/${prefix}_$db$query"
  done
}

# measure_fresh_redis N: Redis database N (`make up` uses 0), emptied first: nothing of earlier
# runs (a run stopped half-way leaves its streams full; the risk velocity windows of its
# customers last an hour).
measure_fresh_redis() {
  export REDIS_URL="${REDIS_URL%/*}/$1"
  REDISCLI_AUTH="$(cat var/redis.password 2>/dev/null)" redis-cli --no-auth-warning \
    -p "$SAGAPAY_REDIS_PORT" -n "$1" flushdb >/dev/null
}

# measure_analyze PREFIX [SQL...]: ANALYZE each PREFIX_<service> database (and run SQL there).
# In new databases the first statistics are taken when the tables hold a hundred rows, and the
# plans made from them stay while the tables grow (docs/performance.md, "New databases").
measure_analyze() {
  local prefix=$1 db sql
  shift
  for db in $MEASURED_DBS; do
    local args=(-qc "ANALYZE")
    for sql in "$@"; do args+=(-c "$sql"); done
    scripts/stack.sh psql -d "${prefix}_$db" "${args[@]}" >/dev/null
  done
}

# measure_up BUS DIR STREAM_PREFIX: `sagapay up` on BUS with its logs in DIR; returns when it
# says it is up, exits the script if it does not come up.
measure_up() {
  local bus=$1 dir=$2 prefix=$3
  EVENT_BUS=$bus KAFKA_REPLICATION_FACTOR=1 EVENT_STREAM_PREFIX="$prefix-$(date +%s)-" \
    "$BIN" up --no-stack --no-prometheus --log-dir "$dir" >"$dir/up.out" 2>&1 &
  UP=$!
  for _ in $(seq 1 900); do
    grep -q "SagaPay is up" "$dir/up.out" && return 0
    kill -0 "$UP" 2>/dev/null || { cat "$dir/up.out"; exit 1; }
    sleep 0.1
  done
  echo "$prefix: the services on $bus did not come up" >&2
  exit 1
}

measure_stop_up() {
  if [[ -n "$UP" ]]; then kill -INT "$UP" 2>/dev/null || true; wait "$UP" 2>/dev/null || true; UP=""; fi
}

# value KEY FILE: the value of `KEY=…` in a load generator's output.
value() { grep -E "^$1=" "$2" | head -1 | cut -d= -f2; }
