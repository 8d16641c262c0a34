#!/usr/bin/env bash
# A private Prometheus (Debian's `prometheus`) for this checkout: scrapes every SagaPay process,
# evaluates ops/prometheus/rules and serves the consoles of ops/prometheus/consoles.
#
#   scripts/prometheus.sh start|stop|status|env|url|targets [FILE]|destroy
#
# State lives in ${SAGAPAY_VAR_DIR:-<checkout>/var}/prometheus:
#   prometheus.yml  written on every start (scrape every SAGAPAY_PROMETHEUS_SCRAPE, default 5s)
#   targets/*.json  what to scrape (file_sd, re-read every 5 s): `sagapay up` writes its instances
#                   there; without one, start writes the default ports 8000-8006
#   data/           the TSDB (retention SAGAPAY_PROMETHEUS_RETENTION, default 7d)
#   port, prometheus.pid, prometheus.log
# Port: SAGAPAY_PROMETHEUS_PORT if set, else 9090; when another process holds it, the next free
# port above (saved in `port` and printed by `url`). Listens on 127.0.0.1 only.
# Alerts go to Alertmanager when ALERTMANAGER_URL is set (docs/observability.md has an example).
set -euo pipefail

die()  { echo "prometheus: error: $*" >&2; exit 1; }
info() { echo "prometheus: $*" >&2; }

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname -- "$SCRIPT_DIR")
VAR=${SAGAPAY_VAR_DIR:-$ROOT/var}
[[ "$VAR" == /* ]] || VAR="$PWD/$VAR"
PVAR="$VAR/prometheus"
OPS="$ROOT/ops/prometheus"
SCRAPE=${SAGAPAY_PROMETHEUS_SCRAPE:-5s}
RETENTION=${SAGAPAY_PROMETHEUS_RETENTION:-7d}
START_TIMEOUT=${SAGAPAY_PROMETHEUS_START_TIMEOUT:-60}

usage() {
  cat >&2 <<'USAGE'
usage: scripts/prometheus.sh start|stop|status|env|url|targets [FILE]|destroy
  start     write the config, start Prometheus (once) and wait until it is ready
  stop      stop it (data is kept)
  status    exit 0 when it answers
  env       print `export PROMETHEUS_URL=...`
  url       print its URL
  targets   replace the scrape targets with FILE (file_sd JSON; - for stdin); picked up in 5 s
  destroy   stop and delete its data
env: SAGAPAY_VAR_DIR, SAGAPAY_PROMETHEUS_PORT (9090), SAGAPAY_PROMETHEUS_SCRAPE (5s),
     SAGAPAY_PROMETHEUS_RETENTION (7d), ALERTMANAGER_URL
USAGE
}

port_listening() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "( sport = :$p )" 2>/dev/null)" ]] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

pid_alive() {
  local pid
  [[ -f "$PVAR/prometheus.pid" ]] || return 1
  pid=$(<"$PVAR/prometheus.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == prometheus ]]
}

saved_port() { [[ -f "$PVAR/port" ]] && cat "$PVAR/port"; }

pick_port() {
  local p=${SAGAPAY_PROMETHEUS_PORT:-}
  if [[ -n "$p" ]]; then
    [[ "$p" =~ ^[0-9]+$ ]] && ((p >= 1024 && p <= 65535)) || die "SAGAPAY_PROMETHEUS_PORT must be a port (got '$p')"
    port_listening "$p" && die "port $p (SAGAPAY_PROMETHEUS_PORT) is in use by another process"
    echo "$p"; return
  fi
  for ((p = 9090; p < 9190; p++)); do
    if ! port_listening "$p"; then
      ((p == 9090)) || info "port 9090 is in use by another process: using $p"
      echo "$p"; return
    fi
  done
  die "no free port in 9090-9189; set SAGAPAY_PROMETHEUS_PORT"
}

url() { echo "http://127.0.0.1:$(saved_port)"; }

ready() { curl -fsS -m 2 "$(url)/-/ready" >/dev/null 2>&1; }

write_default_targets() {
  local f="$PVAR/targets/sagapay.json"
  [[ -n "$(ls -A "$PVAR/targets" 2>/dev/null)" ]] && return 0
  cat >"$f" <<'JSON'
[
  {"targets": ["127.0.0.1:8000"], "labels": {"job": "api-gateway"}},
  {"targets": ["127.0.0.1:8001"], "labels": {"job": "orchestrator"}},
  {"targets": ["127.0.0.1:8002"], "labels": {"job": "risk"}},
  {"targets": ["127.0.0.1:8003"], "labels": {"job": "provider-adapter"}},
  {"targets": ["127.0.0.1:8004"], "labels": {"job": "ledger"}},
  {"targets": ["127.0.0.1:8005"], "labels": {"job": "notification"}},
  {"targets": ["127.0.0.1:8006"], "labels": {"job": "psp-sandbox"}}
]
JSON
}

write_config() {
  local port=$1 alerting=""
  if [[ -n "${ALERTMANAGER_URL:-}" ]]; then
    local am=${ALERTMANAGER_URL#http://}
    am=${am%/}
    alerting=$(printf 'alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ["%s"]\n' "$am")
  fi
  cat >"$PVAR/prometheus.yml" <<YAML
# Written by scripts/prometheus.sh start; edit the script, not this file.
global:
  scrape_interval: $SCRAPE
  evaluation_interval: $SCRAPE
rule_files:
  - $OPS/rules/*.yml
$alerting
scrape_configs:
  - job_name: sagapay
    file_sd_configs:
      - files: ["$PVAR/targets/*.json"]
        refresh_interval: 5s
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$port"]
YAML
}

cmd_start() {
  command -v prometheus >/dev/null 2>&1 || die "prometheus not found (run scripts/deps.sh)"
  mkdir -p -- "$PVAR/targets" "$PVAR/data"
  if pid_alive; then
    ready && { info "already running at $(url)"; return 0; }
  fi
  local port; port=$(pick_port)
  echo "$port" >"$PVAR/port"
  write_default_targets
  write_config "$port"
  promtool check config "$PVAR/prometheus.yml" >"$PVAR/check.log" 2>&1 ||
    { cat "$PVAR/check.log" >&2; die "the generated config does not pass promtool check config"; }
  (
    exec setsid prometheus --config.file="$PVAR/prometheus.yml" \
      --storage.tsdb.path="$PVAR/data" --storage.tsdb.retention.time="$RETENTION" \
      --web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
      --web.console.templates="$OPS/consoles" --web.console.libraries="$OPS/console_libraries" \
      </dev/null >"$PVAR/prometheus.log" 2>&1
  ) &
  echo $! >"$PVAR/prometheus.pid"
  local deadline=$((SECONDS + START_TIMEOUT))
  until ready; do
    if ! kill -0 "$(<"$PVAR/prometheus.pid")" 2>/dev/null; then
      tail -n 20 "$PVAR/prometheus.log" >&2 || true
      die "Prometheus exited during start (log above: $PVAR/prometheus.log)"
    fi
    ((SECONDS < deadline)) || die "Prometheus not ready after $START_TIMEOUT s ($PVAR/prometheus.log)"
    sleep 0.2
  done
  info "running at $(url) (pid $(<"$PVAR/prometheus.pid"), data $PVAR/data)"
}

cmd_stop() {
  pid_alive || { rm -f -- "$PVAR/prometheus.pid"; return 0; }
  local pid i; pid=$(<"$PVAR/prometheus.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { info "not stopped after 15 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  rm -f -- "$PVAR/prometheus.pid"
  info "stopped"
}

cmd_targets() {
  local src=${1:-}
  [[ -n "$src" ]] || die "targets needs a file (or - for stdin)"
  mkdir -p -- "$PVAR/targets"
  local tmp="$PVAR/targets/.sagapay.json.tmp"
  if [[ "$src" == - ]]; then cat >"$tmp"; else cp -- "$src" "$tmp"; fi
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, list)' "$tmp" 2>/dev/null ||
    { rm -f -- "$tmp"; die "targets: not a file_sd JSON list"; }
  mv -- "$tmp" "$PVAR/targets/sagapay.json"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) pid_alive && ready && { echo "prometheus: running at $(url)"; exit 0; }; echo "prometheus: not running"; exit 1 ;;
  env) pid_alive && echo "export PROMETHEUS_URL=$(url)" ;;
  url) [[ -f "$PVAR/port" ]] || die "not started yet"; url ;;
  targets) cmd_targets "${2:-}" ;;
  destroy) cmd_stop; rm -rf -- "$PVAR" ;;
  -h|--help|help) usage ;;
  *) usage; exit 2 ;;
esac
