#!/usr/bin/env bash
# Private Apache Kafka (KRaft, no ZooKeeper) for this checkout (local dev/test only).
#
#   scripts/kafka.sh start|stop|status|env|destroy [--brokers 1|3]
#   scripts/kafka.sh kill-broker N | start-broker N     (one node of the 3-broker cluster)
#   scripts/kafka.sh topics [TopicCommand args]          (default --list)
#   scripts/kafka.sh fetch                               (only download the broker)
#
# The broker: org.apache.kafka:kafka_2.13 at the version pinned in scripts/kafka/pom.xml
# (kafka.version; KAFKA_VERSION=... overrides it), fetched with Maven on first use into
#   build/kafka/m2/             private Maven repository (the download cache)
#   build/kafka/<ver>/lib/      the broker's jars, complete when build/kafka/<ver>/.complete exists
# and run by Debian's OpenJDK 17 as `java -cp 'lib/*' kafka.Kafka server.properties`.
#
# State lives in VAR=${SAGAPAY_VAR_DIR:-<checkout>/var}/kafka:
#   c1/ or c3/     one cluster of 1 or 3 nodes, each node a combined broker+controller
#     cluster.env  saved cluster id and port choice (reused on every start)
#     node<N>/     server.properties, log4j.properties, data/ (formatted on first start),
#                  kafka.pid, kafka.out (stdout/stderr), logs/server.log
#   current        the broker count of the last `start` (the default of the other commands)
#
# Ports: free ports on 127.0.0.1 probed upward from a base derived from a hash of the VAR
# path (10000-19000, so never 9092 nor a port of scripts/stack.sh), saved in cluster.env;
# SAGAPAY_KAFKA_BASE_PORT=P (saved) gives node N the broker port P+2(N-1) and the
# controller port P+2(N-1)+1.
#
# Typical use:  scripts/kafka.sh start && eval "$(scripts/kafka.sh env)"
set -euo pipefail

die()  { echo "kafka: error: $*" >&2; exit 1; }
info() { echo "kafka: $*" >&2; }

usage() {
  cat >&2 <<'EOF'
usage: scripts/kafka.sh COMMAND [--brokers 1|3]
  start          fetch the broker (first use), format (first start) and start the cluster;
                 waits until every node answers
  stop           stop the cluster (every cluster of this VAR without --brokers); data is kept
  status         show state; exit 0 only if every node answers
  env            print export lines:  eval "$(scripts/kafka.sh env)"
  destroy        stop and delete the data (every cluster without --brokers)
  kill-broker N  SIGKILL node N (for failure tests)
  start-broker N start node N again and wait until the cluster has all its brokers
  topics [args]  org.apache.kafka.tools.TopicCommand against the cluster (default --list)
  fetch          only download the broker's jars
--brokers: 1 (default of start) or 3 (replication factor 3, min.insync.replicas=2); the other
  commands default to the broker count of the last start.
env: KAFKA_VERSION (pinned in scripts/kafka/pom.xml), SAGAPAY_VAR_DIR, SAGAPAY_KAFKA_BROKERS,
     SAGAPAY_KAFKA_BASE_PORT, SAGAPAY_KAFKA_HEAP_OPTS (-Xms128m -Xmx512m),
     SAGAPAY_KAFKA_START_TIMEOUT (120 s), SAGAPAY_KAFKA_STOP_TIMEOUT (30 s),
     SAGAPAY_KAFKA_M2 (build/kafka/m2)
EOF
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname -- "$SCRIPT_DIR")
readonly POM="$SCRIPT_DIR/kafka/pom.xml"

pom_version() { sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$POM" | head -n 1; }
KVER=${KAFKA_VERSION:-$(pom_version)}
[[ "$KVER" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad Kafka version '$KVER' (KAFKA_VERSION or kafka.version in $POM)"
readonly KVER
readonly CACHE="$ROOT/build/kafka"
readonly KHOME="$CACHE/$KVER"
readonly KLIB="$KHOME/lib"
M2=${SAGAPAY_KAFKA_M2:-$CACHE/m2}
[[ "$M2" == /* ]] || M2="$PWD/$M2"
readonly M2
readonly HEAP_OPTS=${SAGAPAY_KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
readonly START_TIMEOUT=${SAGAPAY_KAFKA_START_TIMEOUT:-120}
readonly STOP_TIMEOUT=${SAGAPAY_KAFKA_STOP_TIMEOUT:-30}
[[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "SAGAPAY_KAFKA_START_TIMEOUT='$START_TIMEOUT' is not a number of seconds"
[[ "$STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "SAGAPAY_KAFKA_STOP_TIMEOUT='$STOP_TIMEOUT' is not a number of seconds"

VAR=${SAGAPAY_VAR_DIR:-$ROOT/var}
[[ -n "$VAR" ]] || die "SAGAPAY_VAR_DIR is empty"
[[ "$VAR" == /* ]] || VAR="$PWD/$VAR"
if [[ -d "$VAR" ]]; then VAR=$(cd -- "$VAR" && pwd -P); fi
KVAR="$VAR/kafka"

BROKERS=""        # 1 or 3 (the cluster this command is about)
CDIR=""           # $KVAR/c$BROKERS
CENV=""           # $CDIR/cluster.env
CLUSTER_ID=""
PORTS=()          # PORTS[n] broker port of node n (1-based)
CPORTS=()         # CPORTS[n] controller port of node n
LOCKED=0
LAUNCHED=()       # nodes this command started (stopped again if the start fails)

# ---------------------------------------------------------------- helpers --

require_java() {
  command -v java >/dev/null 2>&1 || die "java not found (openjdk-17-jre-headless: run scripts/deps.sh)"
}

require_tools() {
  require_java
  command -v kcat >/dev/null 2>&1 || die "kcat not found (run scripts/deps.sh)"
}

valid_port() { [[ "$1" =~ ^[0-9]+$ ]] && (("$1" >= 1024 && "$1" <= 65535)); }

port_listening() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "( sport = :$p )" 2>/dev/null)" ]] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

port_taken() {
  local p=$1
  port_listening "$p" && return 0
  if command -v ss >/dev/null 2>&1; then
    ss -Htan "( sport = :$p )" 2>/dev/null | grep -vq '^TIME-WAIT' && return 0
  fi
  return 1
}

var_hash() { printf '%s' "$VAR" | cksum | awk '{print $1}'; }

take_lock() {
  ((LOCKED)) && return 0
  command -v flock >/dev/null 2>&1 || return 0
  exec 8>>"$KVAR/.lock" || die "cannot open lock file $KVAR/.lock"
  flock -w 300 8 || die "another scripts/kafka.sh is busy with $KVAR (waited 300 s)"
  LOCKED=1
}

ensure_kvar() {
  mkdir -p -- "$KVAR" || die "cannot create $KVAR"
  VAR=$(cd -- "$VAR" && pwd -P)
  KVAR="$VAR/kafka"
  [[ -w "$KVAR" ]] || die "$KVAR is not writable by $(id -un)"
  take_lock
}

# --brokers N, SAGAPAY_KAFKA_BROKERS, then (not for start) the count of the last start, then 1.
pick_brokers() {  # pick_brokers <flag value or ""> <use saved: 0|1>
  local n=${1:-${SAGAPAY_KAFKA_BROKERS:-}}
  if [[ -z "$n" && "$2" == 1 && -f "$KVAR/current" ]]; then n=$(<"$KVAR/current"); fi
  n=${n:-1}
  [[ "$n" == 1 || "$n" == 3 ]] || die "--brokers must be 1 or 3 (got '$n')"
  BROKERS=$n
  CDIR="$KVAR/c$BROKERS"
  CENV="$CDIR/cluster.env"
}

node_dir() { echo "$CDIR/node$1"; }

# ------------------------------------------------------------ the broker --

lib_complete() { [[ -f "$KHOME/.complete" && -f "$KLIB/kafka_2.13-$KVER.jar" ]]; }

# Download the broker's jars once per version (Maven, private repository under build/kafka).
fetch_broker() {
  lib_complete && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found (maven: run scripts/deps.sh)"
  mkdir -p -- "$CACHE" || die "cannot create $CACHE"
  exec 7>>"$CACHE/.fetch.lock"
  flock -w 900 7 || die "another download of the Kafka broker holds $CACHE/.fetch.lock (waited 900 s)"
  if lib_complete; then exec 7>&-; return 0; fi
  local tmp="$KHOME.tmp.$$" t0=$SECONDS flog="$CACHE/fetch-$KVER.log"
  rm -rf -- "$tmp"
  info "fetching Apache Kafka $KVER with Maven into $KHOME (first use; repository $M2)"
  if ! mvn -B -q -Dstyle.color=never -f "$POM" -Dkafka.version="$KVER" -Dmaven.repo.local="$M2" \
      dependency:copy-dependencies -DoutputDirectory="$tmp/lib" >"$flog" 2>&1; then
    tail -n 30 "$flog" >&2 || true
    rm -rf -- "$tmp"
    die "Maven could not fetch Kafka $KVER (full output: $flog; is $KVER on Maven Central?)"
  fi
  [[ -f "$tmp/lib/kafka_2.13-$KVER.jar" ]] || { rm -rf -- "$tmp"; die "Maven ran but kafka_2.13-$KVER.jar is missing from $tmp/lib"; }
  (cd -- "$tmp/lib" && printf '%s\n' *.jar) >"$tmp/.complete"
  rm -rf -- "$KHOME"
  mv -- "$tmp" "$KHOME"
  exec 7>&-
  info "fetched Kafka $KVER: $(wc -l <"$KHOME/.complete") jars, $(du -sh "$KLIB" | cut -f1), $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- config --

read_cluster_env() {
  local k v
  CLUSTER_ID="" PORTS=() CPORTS=()
  [[ -f "$CENV" ]] || return 1
  while IFS='=' read -r k v; do
    case "$k" in
      KAFKA_CLUSTER_ID) CLUSTER_ID=$v ;;
      KAFKA_PORT_[1-3]) PORTS[${k#KAFKA_PORT_}]=$v ;;
      KAFKA_CONTROLLER_PORT_[1-3]) CPORTS[${k#KAFKA_CONTROLLER_PORT_}]=$v ;;
    esac
  done <"$CENV"
  local n
  for ((n = 1; n <= BROKERS; n++)); do
    valid_port "${PORTS[n]:-}" || die "bad or missing KAFKA_PORT_$n in $CENV"
    valid_port "${CPORTS[n]:-}" || die "bad or missing KAFKA_CONTROLLER_PORT_$n in $CENV"
  done
  return 0
}

write_cluster_env() {
  local tmp="$CENV.tmp.$$" n
  {
    echo "# SagaPay Kafka cluster of $BROKERS (scripts/kafka.sh); reused on every run."
    echo "KAFKA_CLUSTER_ID=$CLUSTER_ID"
    for ((n = 1; n <= BROKERS; n++)); do
      echo "KAFKA_PORT_$n=${PORTS[n]}"
      echo "KAFKA_CONTROLLER_PORT_$n=${CPORTS[n]}"
    done
  } >"$tmp"
  mv -f -- "$tmp" "$CENV"
}

# Ports saved by the other cluster of this VAR and by scripts/stack.sh (never reused here).
reserved_ports() {
  local f
  for f in "$KVAR"/c*/cluster.env "$VAR/stack.env"; do
    [[ -f "$f" && "$f" != "$CENV" ]] || continue
    sed -n 's/^[A-Z_0-9]*PORT[A-Z_0-9]*=\([0-9]*\)$/\1/p' "$f"
  done
}

# A random cluster id as Kafka's Uuid prints it: 16 bytes in URL-safe base64, unpadded.
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ "$id" =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{21}$ ]] && { echo "$id"; return 0; }
  done
}

# load_cluster create: 1 = choose and save the id and ports if missing; 0 = read-only
# (returns 1 when the cluster was never created).
load_cluster() {
  local create=$1
  if read_cluster_env; then
    if [[ -z "${SAGAPAY_KAFKA_BASE_PORT:-}" ]]; then return 0; fi
  else
    ((create)) || return 1
  fi
  ensure_kvar
  mkdir -p -- "$CDIR"
  [[ -n "$CLUSTER_ID" ]] || CLUSTER_ID=$(new_cluster_id)
  local n p
  if [[ -n "${SAGAPAY_KAFKA_BASE_PORT:-}" ]]; then
    if ! valid_port "$SAGAPAY_KAFKA_BASE_PORT" || ((SAGAPAY_KAFKA_BASE_PORT + 2 * BROKERS > 65535)); then
      die "SAGAPAY_KAFKA_BASE_PORT='$SAGAPAY_KAFKA_BASE_PORT' is not a usable port"
    fi
    for ((n = 1; n <= BROKERS; n++)); do
      PORTS[n]=$((SAGAPAY_KAFKA_BASE_PORT + 2 * (n - 1)))
      CPORTS[n]=$((PORTS[n] + 1))
    done
  else
    local -A used=()
    for p in $(reserved_ports); do used[$p]=1; done
    p=$((10000 + ($(var_hash) + 137 * BROKERS) % 9000))
    local count=0 want=$((2 * BROKERS)) got=()
    while ((${#got[@]} < want)); do
      ((count++ < 5000)) || die "could not find $want free ports for Kafka"
      ((p > 19999)) && p=10000
      if [[ -z "${used[$p]:-}" ]] && ! port_taken "$p"; then used[$p]=1; got+=("$p"); fi
      p=$((p + 1))
    done
    for ((n = 1; n <= BROKERS; n++)); do
      PORTS[n]=${got[2 * (n - 1)]}
      CPORTS[n]=${got[2 * (n - 1) + 1]}
    done
  fi
  write_cluster_env
}

voters() {
  local n out=""
  for ((n = 1; n <= BROKERS; n++)); do out+="${out:+,}$n@127.0.0.1:${CPORTS[n]}"; done
  echo "$out"
}

bootstrap() {
  local n out=""
  for ((n = 1; n <= BROKERS; n++)); do out+="${out:+,}127.0.0.1:${PORTS[n]}"; done
  echo "$out"
}

write_node_config() {
  local n=$1 d; d=$(node_dir "$n")
  local rf=$BROKERS min_isr=1
  ((BROKERS >= 3)) && min_isr=2
  mkdir -p -- "$d/logs"
  cat >"$d/server.properties" <<EOF
# Written by scripts/kafka.sh on every start (edits are lost). Node $n of $BROKERS.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
listeners=PLAINTEXT://127.0.0.1:${PORTS[n]},CONTROLLER://127.0.0.1:${CPORTS[n]}
advertised.listeners=PLAINTEXT://127.0.0.1:${PORTS[n]}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$d/data
# Topics are created by the application (KAFKA_TOPIC_PARTITIONS / KAFKA_REPLICATION_FACTOR).
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$min_isr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=67108864
log.retention.check.interval.ms=60000
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  cat >"$d/log4j.properties" <<EOF
# Written by scripts/kafka.sh. The broker logs to logs/server.log beside this file.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$d/logs/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

tools_log4j() {
  local f="$KVAR/tools-log4j.properties"
  if [[ ! -f "$f" ]]; then
    mkdir -p -- "$KVAR"
    printf '%s\n' 'log4j.rootLogger=WARN, stderr' \
      'log4j.appender.stderr=org.apache.log4j.ConsoleAppender' \
      'log4j.appender.stderr.Target=System.err' \
      'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout' \
      'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n' >"$f"
  fi
  echo "$f"
}

# Format node n's storage once (kafka.tools.StorageTool), with the cluster's id.
format_node() {
  local n=$1 d; d=$(node_dir "$n")
  [[ -f "$d/data/meta.properties" ]] && return 0
  local flog="$d/format.log"
  if ! java -Xmx256m -Dlog4j.configuration="file:$(tools_log4j)" -cp "$KLIB/*" \
      kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$d/server.properties" >"$flog" 2>&1 8>&-; then
    cat "$flog" >&2 || true
    die "formatting the storage of node $n failed (full output: $flog)"
  fi
  info "formatted node $n ($d/data, cluster id $CLUSTER_ID)"
}

# ------------------------------------------------------------- processes --

# PID of node n's broker if it is alive and is this node's java.
node_pid() {
  local n=$1 d pid; d=$(node_dir "$n")
  [[ -f "$d/kafka.pid" ]] || return 1
  pid=$(<"$d/kafka.pid") || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "kafka.Kafka $d/server.properties" || return 1
  echo "$pid"
}

# Broker count seen in the metadata answered by node n ("" when it does not answer).
node_brokers_seen() {
  local out
  out=$(timeout 10 kcat -L -b "127.0.0.1:${PORTS[$1]}" -m 3 -t __sagapay_probe 2>/dev/null) || true
  sed -n 's/^ *\([0-9][0-9]*\) brokers:$/\1/p' <<<"$out" | head -n 1
}

# Node n answers and sees every broker of its cluster.
node_ready() { [[ "$(node_brokers_seen "$1")" == "$BROKERS" ]]; }

tail_node_logs() {
  local n=$1 d; d=$(node_dir "$n")
  echo "---- node $n: last 25 lines of $d/logs/server.log ----" >&2
  tail -n 25 "$d/logs/server.log" >&2 2>/dev/null || true
  if [[ -s "$d/kafka.out" ]]; then
    echo "---- node $n: last 10 lines of $d/kafka.out ----" >&2
    tail -n 10 "$d/kafka.out" >&2 2>/dev/null || true
  fi
}

launch_node() {
  local n=$1 d; d=$(node_dir "$n")
  local pid
  if pid=$(node_pid "$n"); then return 0; fi
  local p
  for p in "${PORTS[n]}" "${CPORTS[n]}"; do
    port_listening "$p" && die "port $p (Kafka node $n) is already in use by another process; pick other ports with SAGAPAY_KAFKA_BASE_PORT=... (saved to $CENV)"
  done
  write_node_config "$n"
  format_node "$n"
  rm -f -- "$d/kafka.pid"
  # shellcheck disable=SC2086  # HEAP_OPTS is a list of JVM options
  (
    cd -- "$d"
    exec setsid java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dkafka.logs.dir="$d/logs" \
      -Dlog4j.configuration="file:$d/log4j.properties" \
      -cp "$KLIB/*" kafka.Kafka "$d/server.properties" </dev/null >"$d/kafka.out" 2>&1 8>&- 9>&-
  ) &
  pid=$!
  echo "$pid" >"$d/kafka.pid"
  LAUNCHED+=("$pid")
  # The background subshell becomes java with exec: wait for that before node_pid checks it.
  local i
  for ((i = 0; i < 100; i++)); do
    node_pid "$n" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  info "started node $n (pid $pid) on 127.0.0.1:${PORTS[n]} (controller ${CPORTS[n]})"
}

# The start failed: stop what this command started (the logs stay) and fail.
start_failed() {
  if ((${#LAUNCHED[@]})); then info "stopping the node(s) this start launched"; stop_pids "${LAUNCHED[@]}"; fi
  die "$@"
}

# Wait until every node answers and sees all brokers; on timeout print the logs and fail.
wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) n pending
  while :; do
    pending=""
    for ((n = 1; n <= BROKERS; n++)); do
      if ! node_pid "$n" >/dev/null; then
        tail_node_logs "$n"
        start_failed "Kafka node $n exited during start (logs above; $(node_dir "$n"))"
      fi
      node_ready "$n" || pending+=" $n"
    done
    [[ -z "$pending" ]] && return 0
    if ((SECONDS >= deadline)); then
      for n in $pending; do tail_node_logs "$n"; done
      start_failed "Kafka node(s)$pending did not answer within $START_TIMEOUT s (logs above)"
    fi
    sleep 0.5
  done
}

# SIGTERM to every given pid at once (KRaft nodes stopped one by one can hang in controlled
# shutdown once the quorum is lost), then SIGKILL after STOP_TIMEOUT.
stop_pids() {
  local pids=("$@") pid alive i
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  info "not stopped after ${STOP_TIMEOUT} s: SIGKILL"
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  die "Kafka pid(s) ${pids[*]} did not exit after SIGKILL"
}

# Stop the nodes of the cluster in $CDIR (all together).
stop_cluster() {
  local n pid pids=()
  for ((n = 1; n <= BROKERS; n++)); do
    if pid=$(node_pid "$n"); then pids+=("$pid"); fi
  done
  if ((${#pids[@]})); then
    info "stopping the $BROKERS-broker cluster (pids ${pids[*]})"
    stop_pids "${pids[@]}"
  fi
  for ((n = 1; n <= BROKERS; n++)); do rm -f -- "$(node_dir "$n")/kafka.pid"; done
}

# Every cluster directory of this VAR, or only the one of --brokers.
each_cluster() {  # each_cluster <flag value or ""> <function>
  local b
  for b in 1 3; do
    [[ -n "$1" && "$1" != "$b" ]] && continue
    [[ -d "$KVAR/c$b" ]] || continue
    pick_brokers "$b" 0
    "$2"
  done
}

# -------------------------------------------------------------- commands --

print_status() {  # returns 0 iff every node answers and sees all brokers
  local ok=0 n pid seen
  for ((n = 1; n <= BROKERS; n++)); do
    if pid=$(node_pid "$n"); then
      seen=$(node_brokers_seen "$n")
      if [[ "$seen" == "$BROKERS" ]]; then
        echo "kafka node $n: up    127.0.0.1:${PORTS[n]}  pid $pid  data $(node_dir "$n")/data"
      elif [[ -n "$seen" ]]; then
        echo "kafka node $n: DEGRADED  127.0.0.1:${PORTS[n]}  pid $pid  sees $seen of $BROKERS brokers"; ok=1
      else
        echo "kafka node $n: DOWN  (pid $pid runs but does not answer on 127.0.0.1:${PORTS[n]})"; ok=1
      fi
    else
      echo "kafka node $n: down  (port ${PORTS[n]})"; ok=1
    fi
  done
  return "$ok"
}

cmd_start() {
  require_tools
  pick_brokers "$1" 0
  fetch_broker
  ensure_kvar
  load_cluster 1
  local n all_up=1
  for ((n = 1; n <= BROKERS; n++)); do node_pid "$n" >/dev/null || all_up=0; done
  local t0=$SECONDS
  for ((n = 1; n <= BROKERS; n++)); do launch_node "$n"; done
  echo "$BROKERS" >"$KVAR/current"
  wait_ready
  ((all_up)) && echo "kafka already running ($CDIR)" || echo "kafka started: $BROKERS broker(s), $((SECONDS - t0)) s ($CDIR)"
  print_status || true
  echo "version:   Apache Kafka $KVER (KRaft), jars in $KLIB"
  echo "bootstrap: $(bootstrap)"
  echo "env:       eval \"\$($SCRIPT_DIR/kafka.sh env --brokers $BROKERS)\""
}

cmd_stop() {
  local flag=$1
  if [[ ! -d "$KVAR" ]]; then echo "kafka: nothing to stop ($KVAR not created)"; return 0; fi
  ensure_kvar
  each_cluster "$flag" stop_cluster
  echo "kafka stopped ($KVAR)"
}

cmd_status() {
  pick_brokers "$1" 1
  if ! load_cluster 0; then echo "kafka: $BROKERS-broker cluster not created ($CDIR)"; return 1; fi
  echo "kafka: Apache Kafka $KVER, $BROKERS broker(s), $CDIR"
  print_status
}

cmd_env() {
  pick_brokers "$1" 1
  load_cluster 1
  # Plain values (digits, dots, colons, commas): printed unquoted so the lines are easy to parse.
  echo "export KAFKA_BOOTSTRAP_SERVERS=$(bootstrap)"
  echo "export SAGAPAY_KAFKA_BROKERS=$BROKERS"
  echo "export KAFKA_REPLICATION_FACTOR=$BROKERS"
}

destroy_cluster() {
  stop_cluster
  rm -rf -- "$CDIR"
  if [[ -f "$KVAR/current" && "$(<"$KVAR/current")" == "$BROKERS" ]]; then rm -f -- "$KVAR/current"; fi
}

cmd_destroy() {
  local flag=$1
  if [[ ! -d "$KVAR" ]]; then echo "kafka: nothing to destroy ($KVAR does not exist)"; return 0; fi
  ensure_kvar
  each_cluster "$flag" destroy_cluster
  if [[ -z "$flag" || ( ! -d "$KVAR/c1" && ! -d "$KVAR/c3" ) ]]; then
    rm -f -- "$KVAR/current" "$KVAR/tools-log4j.properties" "$KVAR/.lock"
    rmdir -- "$KVAR" 2>/dev/null || true
  fi
  echo "kafka destroyed (${flag:+the $flag-broker cluster of }$KVAR)"
}

node_arg() {
  if [[ ! "$1" =~ ^[1-3]$ ]] || (("$1" > BROKERS)); then die "node must be 1..$BROKERS (got '${1:-}')"; fi
}

cmd_kill_broker() {
  pick_brokers "$1" 1
  load_cluster 0 || die "the $BROKERS-broker cluster was never started"
  node_arg "$2"
  ensure_kvar
  local pid
  pid=$(node_pid "$2") || { info "node $2 is not running"; return 0; }
  kill -KILL "$pid"
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f -- "$(node_dir "$2")/kafka.pid"
  echo "kafka: node $2 (pid $pid) killed with SIGKILL"
}

cmd_start_broker() {
  require_tools
  pick_brokers "$1" 1
  load_cluster 0 || die "the $BROKERS-broker cluster was never started"
  node_arg "$2"
  fetch_broker
  ensure_kvar
  local t0=$SECONDS
  launch_node "$2"
  wait_ready
  echo "kafka: node $2 up, cluster has $BROKERS brokers ($((SECONDS - t0)) s)"
}

cmd_topics() {
  require_java
  pick_brokers "$1" 1
  shift
  load_cluster 0 || die "the $BROKERS-broker cluster was never started"
  lib_complete || die "Kafka $KVER is not fetched (scripts/kafka.sh fetch)"
  (($#)) || set -- --list
  exec 8>&-
  exec java -Xmx256m -Dlog4j.configuration="file:$(tools_log4j)" -cp "$KLIB/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" "$@"
}

# ------------------------------------------------------------------ main --

cmd=${1:-}
(($#)) && shift
flag=""
args=()
while (($#)); do
  case "$1" in
    --brokers) (($# >= 2)) || die "--brokers needs a value"; flag=$2; shift 2 ;;
    --brokers=*) flag=${1#--brokers=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ -z "$flag" || "$flag" == 1 || "$flag" == 3 ]] || die "--brokers must be 1 or 3 (got '$flag')"

case "$cmd" in
  start) cmd_start "$flag" ;;
  stop) cmd_stop "$flag" ;;
  status) cmd_status "$flag" ;;
  env) cmd_env "$flag" ;;
  destroy) cmd_destroy "$flag" ;;
  kill-broker) (("${#args[@]}" == 1)) || die "usage: kill-broker N"; cmd_kill_broker "$flag" "${args[0]}" ;;
  start-broker) (("${#args[@]}" == 1)) || die "usage: start-broker N"; cmd_start_broker "$flag" "${args[0]}" ;;
  topics) cmd_topics "$flag" "${args[@]}" ;;
  fetch) fetch_broker; echo "kafka: Apache Kafka $KVER in $KLIB" ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
