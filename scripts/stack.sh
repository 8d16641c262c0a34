#!/usr/bin/env bash
# Private PostgreSQL 15 + Redis 7 for this checkout (local dev/test only).
#
#   scripts/stack.sh start|stop|status|env|destroy|psql [args]
#
# State lives in VAR=${SAGAPAY_VAR_DIR:-<checkout>/var}:
#   stack.env      saved port choice (SAGAPAY_PG_PORT / SAGAPAY_REDIS_PORT)
#   pg/            PostgreSQL folder: data/, sock/, postgres.log
#                  (a symlink to /var/tmp/sagapay-pg-<hash> when the postgres
#                  user cannot traverse VAR, e.g. a checkout under /root)
#   redis/         Redis dir: appendonlydir/, redis.pid, redis.log
#   redis.password generated on first start (mode 600); Redis runs with
#                  requirepass and protected mode on, and `env` puts the
#                  password into REDIS_URL (redis://:<password>@127.0.0.1:<port>/0)
#
# Ports: SAGAPAY_PG_PORT / SAGAPAY_REDIS_PORT if set (and then saved), else
# the saved choice, else free ports probed upward from a base derived from a
# hash of the VAR path (so two checkouts / VAR dirs get different ports and
# never touch 5432/6379).
#
# Kafka: with SAGAPAY_BUS=kafka (`make up BUS=kafka` sets it) `start` also starts the
# one-broker Kafka of scripts/kafka.sh (three with SAGAPAY_KAFKA_BROKERS=3) and `env` also prints its KAFKA_BOOTSTRAP_SERVERS;
# `stop` and `destroy` stop (destroy: delete) a Kafka of this VAR whatever SAGAPAY_BUS says,
# and `status` and `env` report one that runs (docs/kafka.md).
# Prometheus: `sagapay up` starts scripts/prometheus.sh; `stop` and `destroy` here stop (delete)
# it too (docs/observability.md).
#
# Typical use:  scripts/stack.sh start && eval "$(scripts/stack.sh env)"
set -euo pipefail

readonly PGBIN=/usr/lib/postgresql/15/bin
readonly DB_NAMES=(finpay_orchestrator finpay_risk finpay_provider finpay_ledger finpay_notification)
# everysec is safe: the outbox keeps SENT rows until every consumer group acked them and the
# relay re-publishes what Redis lost (docs/operations.md, "Redis data loss and appendfsync").
readonly REDIS_FSYNC=${SAGAPAY_REDIS_FSYNC:-everysec}
# Redis refuses writes (OOM error, retried by the callers) rather than evict stream entries.
readonly REDIS_MAXMEMORY=${SAGAPAY_REDIS_MAXMEMORY:-256mb}
readonly CONF_BEGIN='# BEGIN sagapay-stack'
readonly CONF_END='# END sagapay-stack'

die()  { echo "stack: error: $*" >&2; exit 1; }
info() { echo "stack: $*" >&2; }

usage() {
  cat >&2 <<'EOF'
usage: scripts/stack.sh start|stop|status|env|destroy|psql [args]
  start    create (first use) and start PostgreSQL 15 + Redis, create the service DBs
  stop     stop both (data is kept)
  status   show state; exit 0 only if both answer
  env      print export lines:  eval "$(scripts/stack.sh env)"
  destroy  stop and delete all data of this stack
  psql     run psql against the stack (extra args are passed through)
env: SAGAPAY_VAR_DIR, SAGAPAY_PG_PORT, SAGAPAY_REDIS_PORT, SAGAPAY_REDIS_FSYNC (everysec),
     SAGAPAY_REDIS_MAXMEMORY (256mb), SAGAPAY_BUS=kafka (also the Kafka broker of
     scripts/kafka.sh)
EOF
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname -- "$SCRIPT_DIR")
VAR=${SAGAPAY_VAR_DIR:-$ROOT/var}
[[ -n "$VAR" ]] || die "SAGAPAY_VAR_DIR is empty"
[[ "$VAR" == /* ]] || VAR="$PWD/$VAR"
# Canonicalise if it already exists (it is re-canonicalised after creation).
if [[ -d "$VAR" ]]; then VAR=$(cd -- "$VAR" && pwd -P); fi

STACK_ENV=""      # $VAR/stack.env
PG_PORT=""
REDIS_PORT=""
PGDIR=""          # physical PostgreSQL folder (may be the /var/tmp fallback)
PGDATA="" PGSOCK="" PGLOG=""
RDIR="" RPID="" RLOG="" RPASS_FILE=""
LOCKED=0

# ---------------------------------------------------------------- helpers --

# Run a command as the PostgreSQL owner. initdb/pg_ctl/postgres refuse to run
# as root, so as root we use the unprivileged "postgres" user; otherwise the
# current user. Runs from / so an untraversable cwd (e.g. /root) is harmless.
if ((EUID == 0)); then
  PG_USER=postgres
  AS_PG=(runuser -u postgres --)
else
  PG_USER=$(id -un)
  AS_PG=()
fi
as_pg() { (cd / && "${AS_PG[@]}" "$@"); }

require_tools() {
  [[ -x "$PGBIN/pg_ctl" ]] || die "PostgreSQL 15 not found in $PGBIN (run scripts/deps.sh)"
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found (run scripts/deps.sh)"
  command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (run scripts/deps.sh)"
  if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user (install postgresql-15: scripts/deps.sh)"
    command -v runuser >/dev/null 2>&1 || die "runuser not found (util-linux)"
  fi
}

var_hash() { printf '%s' "$VAR" | cksum | awk '{print $1}'; }

valid_port() { [[ "$1" =~ ^[0-9]+$ ]] && (("$1" >= 1024 && "$1" <= 65535)); }

# Something is LISTENing on 127.0.0.1:port (or on a wildcard address).
port_listening() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "( sport = :$p )" 2>/dev/null)" ]] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

# For picking new ports: also avoid ports in use by live (non TIME-WAIT) sockets.
port_taken() {
  local p=$1
  port_listening "$p" && return 0
  if command -v ss >/dev/null 2>&1; then
    ss -Htan "( sport = :$p )" 2>/dev/null | grep -vq '^TIME-WAIT' && return 0
  fi
  return 1
}

pick_port() {  # pick_port <start> <port to exclude or "">
  local p=$1 exclude=$2 n
  for ((n = 0; n < 5000; n++, p++)); do
    ((p > 65000)) && p=20000
    [[ "$p" == "$exclude" ]] && continue
    port_taken "$p" || { echo "$p"; return 0; }
  done
  die "could not find a free port starting at $1"
}

take_lock() {
  ((LOCKED)) && return 0
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>>"$VAR/.stack.lock" || die "cannot open lock file $VAR/.stack.lock"
  flock -w 120 9 || die "another scripts/stack.sh is busy with $VAR (waited 120 s)"
  LOCKED=1
}

# Create VAR if needed, canonicalise it and take the per-stack lock (all
# commands that change state hold it, so concurrent calls serialise).
ensure_var() {
  mkdir -p -- "$VAR" || die "cannot create $VAR"
  VAR=$(cd -- "$VAR" && pwd -P)
  [[ -w "$VAR" ]] || die "$VAR is not writable by $(id -un)"
  take_lock
}

# ---------------------------------------------------------------- config --

read_stack_env() {
  local k v
  while IFS='=' read -r k v; do
    case "$k" in
      SAGAPAY_PG_PORT) PG_PORT=$v ;;
      SAGAPAY_REDIS_PORT) REDIS_PORT=$v ;;
    esac
  done <"$STACK_ENV"
  [[ -z "$PG_PORT" ]] || valid_port "$PG_PORT" || die "bad SAGAPAY_PG_PORT '$PG_PORT' in $STACK_ENV"
  [[ -z "$REDIS_PORT" ]] || valid_port "$REDIS_PORT" || die "bad SAGAPAY_REDIS_PORT '$REDIS_PORT' in $STACK_ENV"
}

write_stack_env() {
  local tmp="$STACK_ENV.tmp.$$"
  {
    echo "# SagaPay local stack ports (scripts/stack.sh); reused on every run."
    echo "# Override with SAGAPAY_PG_PORT / SAGAPAY_REDIS_PORT (the override is saved)."
    echo "SAGAPAY_PG_PORT=$PG_PORT"
    echo "SAGAPAY_REDIS_PORT=$REDIS_PORT"
  } >"$tmp"
  mv -f -- "$tmp" "$STACK_ENV"
}

# load_config create: 1 = create VAR + port choice if missing, 0 = read-only
# (returns 1 when the stack was never created).
load_config() {
  local create=$1 changed=0
  STACK_ENV="$VAR/stack.env"
  if [[ ! -f "$STACK_ENV" ]]; then
    ((create)) || return 1
    ensure_var
    STACK_ENV="$VAR/stack.env"
  fi
  if [[ -f "$STACK_ENV" ]]; then read_stack_env; fi

  if [[ -n "${SAGAPAY_PG_PORT:-}" ]]; then
    valid_port "$SAGAPAY_PG_PORT" || die "SAGAPAY_PG_PORT='$SAGAPAY_PG_PORT' is not a port (1024-65535)"
    [[ "$PG_PORT" == "$SAGAPAY_PG_PORT" ]] || { PG_PORT=$SAGAPAY_PG_PORT; changed=1; }
  fi
  if [[ -n "${SAGAPAY_REDIS_PORT:-}" ]]; then
    valid_port "$SAGAPAY_REDIS_PORT" || die "SAGAPAY_REDIS_PORT='$SAGAPAY_REDIS_PORT' is not a port (1024-65535)"
    [[ "$REDIS_PORT" == "$SAGAPAY_REDIS_PORT" ]] || { REDIS_PORT=$SAGAPAY_REDIS_PORT; changed=1; }
  fi
  if [[ -z "$PG_PORT" ]]; then
    PG_PORT=$(pick_port $((20000 + $(var_hash) % 12000)) "$REDIS_PORT"); changed=1
  fi
  if [[ -z "$REDIS_PORT" ]]; then
    REDIS_PORT=$(pick_port $((PG_PORT + 1)) "$PG_PORT"); changed=1
  fi
  [[ "$PG_PORT" != "$REDIS_PORT" ]] || die "PostgreSQL and Redis ports are both $PG_PORT"
  if ((changed)); then ensure_var; write_stack_env; fi
  set_paths
  return 0
}

# Locate an existing PG folder (no creation) and set the derived paths.
set_paths() {
  PGDIR=""
  if [[ -L "$VAR/pg" ]]; then
    PGDIR=$(readlink -- "$VAR/pg")
  elif [[ -d "$VAR/pg" ]]; then
    PGDIR="$VAR/pg"
  fi
  PGDATA="${PGDIR:+$PGDIR/data}"
  PGSOCK="${PGDIR:+$PGDIR/sock}"
  PGLOG="${PGDIR:+$PGDIR/postgres.log}"
  RDIR="$VAR/redis"
  RPID="$RDIR/redis.pid"
  RLOG="$RDIR/redis.log"
  RPASS_FILE="$VAR/redis.password"
}

pg_chown() { ((EUID == 0)) && chown "$PG_USER:" "$@"; return 0; }

# Create the PG folder (and the Redis dir) if missing.
ensure_layout() {
  if [[ -L "$VAR/pg" && ! -d "$VAR/pg" ]]; then
    info "warning: $VAR/pg points to missing $(readlink -- "$VAR/pg"); recreating it (previous PG data is gone)"
    rm -f -- "$VAR/pg"
  fi
  if [[ ! -e "$VAR/pg" ]]; then
    local why=""
    if ((EUID == 0)) && ! as_pg test -x "$VAR"; then
      why="user postgres cannot traverse $VAR"
    fi
    # Unix socket paths are limited to 107 bytes (".s.PGSQL.NNNNN" included).
    local sock="$VAR/pg/sock/.s.PGSQL.65535"
    if ((${#sock} > 107)); then why="socket path $sock would be too long"; fi
    if [[ -n "$why" ]]; then
      local target; target="/var/tmp/sagapay-pg-$(var_hash)"
      if [[ -e "$target" ]]; then
        [[ -d "$target" && ! -L "$target" && "$(stat -c %U "$target")" == "$PG_USER" ]] \
          || die "$target exists but is not a directory owned by $PG_USER; remove it"
        info "reusing existing $target"
      else
        mkdir -m 700 -- "$target"
        pg_chown "$target"
      fi
      ln -s -- "$target" "$VAR/pg"
      info "$why; PostgreSQL folder is $target (linked from $VAR/pg)"
    else
      mkdir -m 700 -- "$VAR/pg"
      pg_chown "$VAR/pg"
    fi
  fi
  set_paths
  if [[ ! -d "$PGSOCK" ]]; then
    mkdir -m 700 -- "$PGSOCK"
    pg_chown "$PGSOCK"
  fi
  local owner
  owner=$(stat -c %U "$PGDIR")
  [[ "$owner" == "$PG_USER" ]] || die "$PGDIR belongs to '$owner' but PostgreSQL would run as '$PG_USER' (stack created by another user? use that user, or destroy it)"
  mkdir -p -- "$RDIR"
  [[ -w "$RDIR" ]] || die "$RDIR is not writable by $(id -un) (stack created by another user?)"
}

# ------------------------------------------------------------- postgresql --

pg_pidfile_port() { sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null || true; }

pg_running() {  # our cluster's postmaster is alive
  [[ -n "$PGDATA" && -f "$PGDATA/PG_VERSION" ]] || return 1
  as_pg "$PGBIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1
}

pg_ready() {  # answers on our port
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

pg_conf_block() {
  local sockq=${PGSOCK//\'/\'\'}
  cat <<EOF
$CONF_BEGIN (managed by scripts/stack.sh; rewritten on every start)
# SECURITY: this cluster was created with --auth=trust (no passwords). It is a
# local dev/test stack only, listening on 127.0.0.1; never expose it or reuse
# this configuration anywhere else.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockq'
max_connections = 400
shared_buffers = 256MB
max_wal_size = 4GB
fsync = on
synchronous_commit = on
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
deadlock_timeout = 200ms
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
$CONF_END
EOF
}

# (Re)write our settings block at the end of postgresql.conf (keeps owner/mode).
pg_write_conf() {
  local conf="$1/postgresql.conf" content
  [[ -f "$conf" ]] || die "$conf is missing"
  content=$(awk -v b="$CONF_BEGIN" -v e="$CONF_END" \
    'index($0, b) == 1 {skip = 1} !skip {print} index($0, e) == 1 {skip = 0}' "$conf")
  printf '%s\n%s\n' "$content" "$(pg_conf_block)" >"$conf"
}

pg_init() {
  if [[ -e "$PGDATA" ]]; then
    [[ -f "$PGDATA/PG_VERSION" ]] || die "$PGDATA exists but is not a PostgreSQL data dir; run 'scripts/stack.sh destroy'"
    local v; v=$(<"$PGDATA/PG_VERSION")
    [[ "$v" == 15 ]] || die "$PGDATA is a PostgreSQL $v cluster, expected 15; run 'scripts/stack.sh destroy'"
    return 0
  fi
  local locale=C.UTF-8
  locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' || locale=C
  local tmp="$PGDIR/data.initdb" ilog="$PGDIR/initdb.log"
  rm -rf -- "$tmp"
  info "initdb (locale $locale) in $PGDATA"
  if ! as_pg "$PGBIN/initdb" -D "$tmp" -U postgres --auth=trust -E UTF8 --locale="$locale" >"$ilog" 2>&1; then
    tail -n 20 "$ilog" >&2 || true
    rm -rf -- "$tmp"
    die "initdb failed (full output: $ilog)"
  fi
  pg_write_conf "$tmp"
  mv -- "$tmp" "$PGDATA"   # atomic: a half-initialised cluster is never seen as "data"
}

pg_start() {
  if pg_running; then
    local running_port; running_port=$(pg_pidfile_port)
    if [[ "$running_port" == "$PG_PORT" ]]; then
      # Running (or still recovering / dying): bounded wait for it to answer.
      local i
      for ((i = 0; i < 100; i++)); do
        pg_ready && return 0
        pg_running || break
        sleep 0.1
      done
      pg_running && die "PostgreSQL (data $PGDATA) runs but does not answer on 127.0.0.1:$PG_PORT; see $PGLOG"
    else
      info "PostgreSQL is running on port $running_port, configured port is $PG_PORT: restarting it"
      pg_stop
    fi
  fi
  if port_listening "$PG_PORT"; then
    die "port $PG_PORT (PostgreSQL) is already in use by another process; pick another with SAGAPAY_PG_PORT=... (saved to $STACK_ENV)"
  fi
  pg_write_conf "$PGDATA"
  info "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  # Close the lock fd (9) so the daemon does not inherit it. pg_ctl removes a
  # stale postmaster.pid left by a crash by itself.
  if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 start >/dev/null 2>&1 9>&-; then
    echo "---- last 20 lines of $PGLOG ----" >&2
    tail -n 20 "$PGLOG" >&2 2>/dev/null || true
    die "PostgreSQL failed to start"
  fi
  local i
  for ((i = 0; i < 100; i++)); do pg_ready && break; sleep 0.1; done
  pg_ready || { tail -n 20 "$PGLOG" >&2 || true; die "PostgreSQL started but does not answer on 127.0.0.1:$PG_PORT"; }
}

pg_stop() {
  pg_running || return 0
  info "stopping PostgreSQL"
  if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1; then
    info "fast shutdown did not finish in 60 s; using immediate mode"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || die "could not stop PostgreSQL (data dir $PGDATA)"
  fi
}

pg_psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"; }

pg_create_dbs() {
  local db exists
  for db in "${DB_NAMES[@]}"; do
    exists=$(pg_psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'") \
      || die "could not query pg_database"
    if [[ "$exists" != 1 ]]; then
      pg_psql -c "CREATE DATABASE \"$db\"" >/dev/null || die "could not create database $db"
      info "created database $db"
    fi
  done
}

# ------------------------------------------------------------------ redis --

# The password reaches redis-cli through its environment, never its command line (ps).
rcli() {
  local pass=""
  [[ -n "$RPASS_FILE" && -r "$RPASS_FILE" ]] && pass=$(<"$RPASS_FILE")
  REDISCLI_AUTH="$pass" timeout 3 redis-cli --no-auth-warning -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

# The stack's Redis password, generated once (48 hex digits) and kept in VAR (mode 600).
redis_password() {
  if [[ ! -s "$RPASS_FILE" ]]; then
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$RPASS_FILE.tmp.$$") ||
      die "cannot write $RPASS_FILE"
    mv -f -- "$RPASS_FILE.tmp.$$" "$RPASS_FILE"
  fi
  cat -- "$RPASS_FILE"
}

# A Redis of this stack started before it had a password or a memory limit gets them live (and
# the fsync policy asked for now).
redis_harden() {
  local pass; pass=$(redis_password)
  if [[ "$(rcli --raw config get requirepass 2>/dev/null | sed -n 2p)" != "$pass" ]]; then
    REDISCLI_AUTH="" timeout 3 redis-cli --no-auth-warning -h 127.0.0.1 -p "$REDIS_PORT" \
      config set requirepass "$pass" >/dev/null 2>&1 || true
  fi
  rcli config set protected-mode yes >/dev/null
  rcli config set maxmemory "$REDIS_MAXMEMORY" >/dev/null
  rcli config set maxmemory-policy noeviction >/dev/null
  rcli config set appendfsync "$REDIS_FSYNC" >/dev/null
}

redis_answers() { [[ "$(rcli ping 2>/dev/null)" == PONG ]]; }

# The redis answering on our port is ours (its --dir is our redis dir).
redis_ours() { [[ "$(rcli --raw config get dir 2>/dev/null | sed -n 2p)" == "$RDIR" ]]; }

redis_up() { redis_answers && redis_ours; }

# PID from our pid file if that process is alive and is our redis-server.
redis_pid() {
  local pid
  [[ -n "$RPID" && -f "$RPID" ]] || return 1
  pid=$(<"$RPID") || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] || return 1
  local cwd; cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  [[ -z "$cwd" || "$cwd" == "$RDIR" ]] || return 1
  echo "$pid"
}

redis_start() {
  if redis_up; then redis_harden; return 0; fi
  if redis_pid >/dev/null; then
    info "Redis from $RDIR is running but not answering on port $REDIS_PORT: restarting it"
    redis_stop
  fi
  if port_listening "$REDIS_PORT"; then
    die "port $REDIS_PORT (Redis) is already in use by another process; pick another with SAGAPAY_REDIS_PORT=... (saved to $STACK_ENV)"
  fi
  rm -f -- "$RPID"   # stale pid file (crash / reboot)
  info "starting Redis on 127.0.0.1:$REDIS_PORT"
  # The password goes in through stdin (a config file read from "-"), not the command line.
  if ! printf 'requirepass %s\n' "$(redis_password)" |
      redis-server - --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RDIR" \
      --appendonly yes --appendfsync "$REDIS_FSYNC" --save "" \
      --maxmemory "$REDIS_MAXMEMORY" --maxmemory-policy noeviction \
      --daemonize yes --pidfile "$RPID" --logfile "$RLOG" \
      --protected-mode yes >/dev/null 9>&-; then
    tail -n 20 "$RLOG" >&2 2>/dev/null || true
    die "redis-server failed to start (log: $RLOG)"
  fi
  # Bounded wait: ~10 s, extended up to 60 s while Redis reports LOADING (AOF replay).
  local i reply
  for ((i = 0; i < 600; i++)); do
    reply=$(rcli ping 2>/dev/null || true)
    [[ "$reply" == PONG ]] && break
    if ((i >= 100)) && [[ "$reply" != LOADING* ]]; then break; fi
    if ((i >= 10)) && ! redis_pid >/dev/null; then break; fi  # daemon died
    sleep 0.1
  done
  if [[ "$reply" != PONG ]]; then
    echo "---- last 20 lines of $RLOG ----" >&2
    tail -n 20 "$RLOG" >&2 2>/dev/null || true
    die "Redis did not answer PING on 127.0.0.1:$REDIS_PORT"
  fi
  redis_ours || die "something answers on port $REDIS_PORT but it is not this stack's Redis"
}

redis_stop() {
  local pid=""
  pid=$(redis_pid) || pid=""
  if redis_up; then
    [[ -n "$pid" ]] || pid=$(rcli info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')
    info "stopping Redis"
    rcli shutdown >/dev/null 2>&1 || true
  elif [[ -n "$pid" ]]; then
    info "stopping Redis (pid $pid, SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
  else
    rm -f -- "$RPID"
    return 0
  fi
  if [[ -n "$pid" ]]; then
    local i
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "Redis (pid $pid) did not exit within 30 s"
  fi
  rm -f -- "$RPID"
}

# ------------------------------------------------------------------ kafka --

# The stack's Kafka is the cluster of scripts/kafka.sh in the same VAR: one broker, or three
# with SAGAPAY_KAFKA_BROKERS=3 (the chaos runs' broker kills).
kafka_wanted() { [[ "${SAGAPAY_BUS:-}" == kafka ]]; }
KAFKA_NODES=${SAGAPAY_KAFKA_BROKERS:-1}
[[ "$KAFKA_NODES" == 1 || "$KAFKA_NODES" == 3 ]] || die "SAGAPAY_KAFKA_BROKERS must be 1 or 3"
kafka_sh() { SAGAPAY_VAR_DIR="$VAR" "$SCRIPT_DIR/kafka.sh" "$@" 9>&-; }
kafka_exists() { [[ -d "$VAR/kafka/c$KAFKA_NODES" ]]; }
kafka_runs() { kafka_exists && kafka_sh status --brokers "$KAFKA_NODES" >/dev/null 2>&1; }

# --------------------------------------------------------------- commands --

base_dsn() { echo "postgresql://postgres@127.0.0.1:$PG_PORT"; }

print_status() {  # prints state; returns 0 iff both answer
  local ok=0 pid
  if pg_running && [[ "$(pg_pidfile_port)" == "$PG_PORT" ]] && pg_ready; then
    pid=$(sed -n 1p "$PGDATA/postmaster.pid" 2>/dev/null || true)
    echo "postgres: up    127.0.0.1:$PG_PORT  pid $pid  data $PGDATA"
  elif pg_running; then
    echo "postgres: DOWN  (cluster running on port $(pg_pidfile_port), configured $PG_PORT; run start)"; ok=1
  else
    echo "postgres: down  (port $PG_PORT)"; ok=1
  fi
  if redis_up; then
    pid=$(redis_pid || true)
    echo "redis:    up    127.0.0.1:$REDIS_PORT  pid ${pid:-?}  dir $RDIR"
  elif redis_answers; then
    echo "redis:    DOWN  (port $REDIS_PORT is answered by another Redis)"; ok=1
  else
    echo "redis:    down  (port $REDIS_PORT)"; ok=1
  fi
  return "$ok"
}

cmd_start() {
  require_tools
  ensure_var
  load_config 1
  ensure_layout
  local was_up=0
  if pg_running && [[ "$(pg_pidfile_port)" == "$PG_PORT" ]] && redis_up; then was_up=1; fi
  pg_init
  pg_start
  redis_start
  pg_create_dbs
  if kafka_wanted; then kafka_sh start --brokers "$KAFKA_NODES" || die "Kafka failed to start"; fi
  ((was_up)) && echo "stack already running ($VAR)" || echo "stack started ($VAR)"
  print_status || true
  echo "postgres log: $PGLOG"
  echo "redis log:    $RLOG"
  echo "dsn:          $(base_dsn)/<db>   redis://:***@127.0.0.1:$REDIS_PORT/0 (password in $RPASS_FILE)"
  echo "env:          eval \"\$($SCRIPT_DIR/stack.sh env)\""
}

cmd_stop() {
  require_tools
  if [[ -d "$VAR/kafka" ]]; then kafka_sh stop; fi
  if [[ -d "$VAR/prometheus" ]]; then SAGAPAY_VAR_DIR="$VAR" "$SCRIPT_DIR/prometheus.sh" stop 9>&-; fi
  if [[ ! -f "$VAR/stack.env" ]]; then echo "stack: nothing to stop ($VAR not created)"; return 0; fi
  ensure_var
  load_config 0
  pg_stop
  redis_stop
  echo "stack stopped ($VAR)"
}

cmd_status() {
  if ! load_config 0; then echo "stack: not created ($VAR)"; return 1; fi
  echo "stack: $VAR"
  local rc=0
  print_status || rc=1
  if kafka_exists; then
    kafka_sh status --brokers "$KAFKA_NODES" | sed -n 's/^kafka node \([0-9]\): /kafka \1:  /p' || true
  elif kafka_wanted; then
    echo "kafka:    not created ($VAR/kafka)"
  fi
  if kafka_wanted && ! kafka_runs; then rc=1; fi
  return "$rc"
}

cmd_env() {
  ensure_var
  load_config 1
  ensure_layout
  local base; base=$(base_dsn)
  local redis_url; redis_url="redis://:$(redis_password)@127.0.0.1:$REDIS_PORT/0"
  printf 'export %s=%q\n' \
    SAGAPAY_PG_PORT "$PG_PORT" \
    SAGAPAY_REDIS_PORT "$REDIS_PORT" \
    SAGAPAY_PG_SOCKET_DIR "$PGSOCK" \
    SAGAPAY_PG_BASE_DSN "$base" \
    SAGAPAY_TEST_PG_DSN "$base/postgres" \
    REDIS_URL "$redis_url" \
    SAGAPAY_TEST_REDIS_URL "$redis_url" \
    ORCHESTRATOR_POSTGRES_DSN "$base/finpay_orchestrator" \
    RISK_POSTGRES_DSN "$base/finpay_risk" \
    PROVIDER_POSTGRES_DSN "$base/finpay_provider" \
    LEDGER_POSTGRES_DSN "$base/finpay_ledger" \
    NOTIFICATION_POSTGRES_DSN "$base/finpay_notification"
  if kafka_wanted || kafka_runs; then kafka_sh env --brokers "$KAFKA_NODES"; fi
}

cmd_destroy() {
  require_tools
  if [[ ! -d "$VAR" ]]; then echo "stack: nothing to destroy ($VAR does not exist)"; return 0; fi
  ensure_var
  if [[ -d "$VAR/kafka" ]]; then kafka_sh destroy; fi
  if [[ -d "$VAR/prometheus" ]]; then SAGAPAY_VAR_DIR="$VAR" "$SCRIPT_DIR/prometheus.sh" destroy 9>&-; fi
  STACK_ENV="$VAR/stack.env"
  if [[ -f "$STACK_ENV" ]]; then read_stack_env; fi
  set_paths
  pg_stop
  if [[ -n "$REDIS_PORT" ]]; then redis_stop; else
    local pid; pid=$(redis_pid || true)
    [[ -z "$pid" ]] || { kill -TERM "$pid"; local i; for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; }
  fi
  if [[ -L "$VAR/pg" ]]; then
    local target; target=$(readlink -- "$VAR/pg")
    if [[ "$target" =~ ^/var/tmp/sagapay-pg-[0-9]+$ ]]; then
      rm -rf -- "$target"
    else
      info "warning: $VAR/pg points to unexpected $target; only the link is removed"
    fi
    rm -f -- "$VAR/pg"
  else
    rm -rf -- "$VAR/pg"
  fi
  rm -rf -- "$VAR/redis"
  rm -f -- "$STACK_ENV" "$VAR/.stack.lock" "$VAR/redis.password"
  rmdir -- "$VAR" 2>/dev/null || true   # only if nothing else lives there
  echo "stack destroyed ($VAR)"
}

cmd_psql() {
  require_tools
  load_config 1
  ((LOCKED)) && exec 9>&-
  exec "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  destroy) cmd_destroy ;;
  psql) shift; cmd_psql "$@" ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
