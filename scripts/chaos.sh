#!/usr/bin/env bash
# Chaos under load on the real stack (`make chaos`): a private PostgreSQL + Redis (never the dev
# stack of `make up` or `make test`), the services on their own ports, and `sagapay chaos`, which
# starts the services, sends load, kills and stops them, crashes PostgreSQL and Redis through the
# commands below, waits for quiescence and checks the invariants (docs/chaos.md).
#
#   scripts/chaos.sh [run]       DURATION (s, default 120), SEED (default random), RATE (15/s)
#   scripts/chaos.sh pg-crash    pg_ctl -m immediate stop of the chaos stack's PostgreSQL
#   scripts/chaos.sh pg-start    starts that PostgreSQL again; returns once it accepts connections
#                                (after crash recovery); leaves Redis alone
#   scripts/chaos.sh redis-kill  SIGKILL of the chaos stack's redis-server
#   scripts/chaos.sh redis-start starts that redis-server again (as scripts/stack.sh does); leaves
#                                PostgreSQL alone, which may be down or recovering at the time
#   scripts/chaos.sh restart     scripts/stack.sh start of the chaos stack (starts what is down)
#
# On Kafka (CHAOS_BUS=kafka): the stack gets a private 3-broker Kafka cluster (scripts/kafka.sh,
# replication factor 3, min.insync.replicas=2), the services run with EVENT_BUS=kafka, and brokers
# are SIGKILLed and restarted too (CHAOS_BROKER_KILLS, default 2); CHAOS_FAULTS=brokers kills only
# brokers (the short broker-kill run of `make test`).
#
# Env: CHAOS_VAR_DIR (default <checkout>/var/chaos: the stack, wiped at every run),
#      CHAOS_LOG_DIR (default <checkout>/var/chaos-log: service logs, accepted.jsonl, summary),
#      SAGAPAY_BIN (default build/${CHAOS_PRESET:-ci}/app/sagapay), CHAOS_ARGS (extra flags).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname -- "$SCRIPT_DIR")
export SAGAPAY_VAR_DIR=${CHAOS_VAR_DIR:-$ROOT/var/chaos}
LOG_DIR=${CHAOS_LOG_DIR:-$ROOT/var/chaos-log}
STACK="$ROOT/scripts/stack.sh"
readonly PGBIN=/usr/lib/postgresql/15/bin

as_pg() {
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

case "${1:-run}" in
  pg-crash)
    pgdata="$(cd -- "$SAGAPAY_VAR_DIR/pg" && pwd -P)/data"  # the /var/tmp folder when a link
    as_pg "$PGBIN/pg_ctl" -D "$pgdata" -m immediate -w -t 30 stop
    exit 0 ;;
  pg-start)
    # Not `stack.sh start`: that also restarts Redis, which an overlapping fault may hold down.
    pgdir="$(cd -- "$SAGAPAY_VAR_DIR/pg" && pwd -P)"
    as_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 120 start 9>&-
    exit 0 ;;
  redis-kill)
    pid=$(<"$SAGAPAY_VAR_DIR/redis/redis.pid")
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] || { echo "chaos: no redis at pid $pid" >&2; exit 1; }
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    exit 0 ;;
  redis-start)
    # The options of scripts/stack.sh redis_start (the password through stdin).
    rdir="$SAGAPAY_VAR_DIR/redis"
    [[ -n "${SAGAPAY_REDIS_PORT:-}" ]] || { echo "chaos: SAGAPAY_REDIS_PORT not set" >&2; exit 2; }
    rm -f -- "$rdir/redis.pid"
    printf 'requirepass %s\n' "$(<"$SAGAPAY_VAR_DIR/redis.password")" |
      redis-server - --port "$SAGAPAY_REDIS_PORT" --bind 127.0.0.1 --dir "$rdir" \
        --appendonly yes --appendfsync "${SAGAPAY_REDIS_FSYNC:-everysec}" --save "" \
        --maxmemory "${SAGAPAY_REDIS_MAXMEMORY:-256mb}" --maxmemory-policy noeviction \
        --daemonize yes --pidfile "$rdir/redis.pid" --logfile "$rdir/redis.log" \
        --protected-mode yes >/dev/null 9>&-
    for ((i = 0; i < 600; i++)); do
      [[ "$(REDISCLI_AUTH="$(<"$SAGAPAY_VAR_DIR/redis.password")" timeout 3 redis-cli \
        --no-auth-warning -h 127.0.0.1 -p "$SAGAPAY_REDIS_PORT" ping 2>/dev/null)" == PONG ]] && exit 0
      sleep 0.1
    done
    echo "chaos: redis did not answer after its restart" >&2
    exit 1 ;;
  restart)
    exec "$STACK" start ;;
  run) ;;
  *) echo "usage: scripts/chaos.sh [run|pg-crash|pg-start|redis-kill|redis-start|restart]" >&2; exit 2 ;;
esac

BIN=${SAGAPAY_BIN:-$ROOT/build/${CHAOS_PRESET:-ci}/app/sagapay}
[[ -x "$BIN" ]] || { echo "chaos: $BIN not built (make chaos builds it)" >&2; exit 2; }
DURATION=${DURATION:-120}
RATE=${RATE:-15}

# The chaos stack picks (and saves) its own ports: never those of a stack whose env is exported
# here (a run from inside `make test`).
unset SAGAPAY_PG_PORT SAGAPAY_REDIS_PORT SAGAPAY_KAFKA_BASE_PORT KAFKA_BOOTSTRAP_SERVERS
bus_args=()
if [[ "${CHAOS_BUS:-redis}" == kafka ]]; then
  export SAGAPAY_BUS=kafka SAGAPAY_KAFKA_BROKERS=3 EVENT_BUS=kafka
  export KAFKA_REPLICATION_FACTOR=3 KAFKA_TOPIC_PARTITIONS=${KAFKA_TOPIC_PARTITIONS:-6}
  bus_args=(--brokers 3 --broker-kills "${CHAOS_BROKER_KILLS:-2}"
    --broker-kill-cmd "'$SCRIPT_DIR/kafka.sh' kill-broker {broker}"
    --broker-start-cmd "'$SCRIPT_DIR/kafka.sh' start-broker {broker}")
  [[ "${CHAOS_FAULTS:-all}" == brokers ]] && bus_args+=(--broker-faults-only)
fi

# A fresh private stack for every run: verify then speaks of this run only.
"$STACK" destroy >/dev/null 2>&1 || true
"$STACK" start >/dev/null
trap '"$STACK" stop >/dev/null 2>&1 || true' EXIT
eval "$("$STACK" env)"

# Free ports for the seven processes, above the stack's (never 8000-8006 of `make up`).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=$((SAGAPAY_REDIS_PORT + 100))
for name in GATEWAY ORCHESTRATOR RISK PROVIDER LEDGER NOTIFICATION PSP; do
  while ! port_free "$port"; do port=$((port + 1)); done
  export "${name}_PORT=$port"
  port=$((port + 1))
done
export API_KEY=chaos-secret OPS_API_KEY=chaos-ops-secret LOG_LEVEL=${LOG_LEVEL:-INFO}
unset EVENT_STREAM_PREFIX INTERNAL_API_TOKEN ORCHESTRATOR_URL PSP_URL POSTGRES_DSN || true
# The sanitizer build reports leaks of the services it SIGTERMs at the end: not what runs here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

rm -rf -- "$LOG_DIR"
mkdir -p -- "$LOG_DIR"
seed_args=()
[[ -n "${SEED:-}" ]] && seed_args=(--seed "$SEED")
set +e
# shellcheck disable=SC2086
"$BIN" chaos --duration "$DURATION" --rate "$RATE" "${seed_args[@]}" --log-dir "$LOG_DIR" \
  --pg-crash-cmd "'$SCRIPT_DIR/chaos.sh' pg-crash" --pg-start-cmd "'$SCRIPT_DIR/chaos.sh' pg-start" \
  --redis-kill-cmd "'$SCRIPT_DIR/chaos.sh' redis-kill" \
  --redis-start-cmd "'$SCRIPT_DIR/chaos.sh' redis-start" "${bus_args[@]}" ${CHAOS_ARGS:-} | tee "$LOG_DIR/summary.txt"
status=${PIPESTATUS[0]}
set -e
exit "$status"
