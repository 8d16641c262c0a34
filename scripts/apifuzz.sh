#!/usr/bin/env bash
# Property-based API fuzzing of the live services against docs/openapi.yaml (`make apifuzz`).
#
# 1. A Python venv in var/apifuzz/venv (ignored by git) with pinned schemathesis and
#    openapi-spec-validator.
# 2. The private stack (scripts/stack.sh start; SAGAPAY_VAR_DIR picks another checkout's) and
#    fresh databases of this run's own (apifuzz_<service>, dropped and created again), its own
#    stream prefix and its own ports (APIFUZZ_PORT_BASE, default 18000: gateway 18000 …
#    psp 18006), so a running `make up` or another run's tests are not disturbed.
# 3. `sagapay up --no-stack` of the APIFUZZ_PRESET build (default ci, the one `make test` built;
#    built here if missing) with distinct customer and ops keys and an internal token.
# 4. scripts/apifuzz.py: schemathesis against every operation, then the database checks.
#
# Env: APIFUZZ_MAX_EXAMPLES (default 100 cases per operation and mode), APIFUZZ_SEED,
# APIFUZZ_SERVICES (comma list, default all), APIFUZZ_PRESET, APIFUZZ_PORT_BASE.
# Logs: var/apifuzz/log/<service>.log; report: var/apifuzz/report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PRESET=${APIFUZZ_PRESET:-ci}
PORT_BASE=${APIFUZZ_PORT_BASE:-18000}
OUT=$ROOT/var/apifuzz
VENV=$OUT/venv
PY_PACKAGES=(schemathesis==4.32.5 hypothesis==6.170.17 openapi-spec-validator==0.9.0)

mkdir -p "$OUT/log"
rm -f "$OUT"/log/*.log

# -- 1. venv --------------------------------------------------------------------------------
if ! "$VENV/bin/python" -c 'import schemathesis, openapi_spec_validator' 2>/dev/null ||
   [[ "$(cat "$VENV/.pins" 2>/dev/null)" != "${PY_PACKAGES[*]}" ]]; then
  echo "apifuzz: installing ${PY_PACKAGES[*]} into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "${PY_PACKAGES[*]}" >"$VENV/.pins"
fi

# -- 2. stack, databases --------------------------------------------------------------------
scripts/stack.sh start
eval "$(scripts/stack.sh env)"
APIFUZZ_PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)
[[ -x "$APIFUZZ_PSQL" ]] || { echo "apifuzz: psql is required" >&2; exit 1; }
export APIFUZZ_PSQL
BASE=$SAGAPAY_PG_BASE_DSN
for svc in orchestrator risk provider ledger notification; do
  "$APIFUZZ_PSQL" "$BASE/postgres" -X -q -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS apifuzz_$svc WITH (FORCE)" -c "CREATE DATABASE apifuzz_$svc"
  upper=${svc^^}
  export "${upper}_POSTGRES_DSN=$BASE/apifuzz_$svc"
done
export EVENT_STREAM_PREFIX="apifuzz-$$-$(date +%s)."

# -- 3. services ----------------------------------------------------------------------------
BIN=$ROOT/build/$PRESET/app/sagapay
if [[ ! -x "$BIN" ]]; then
  cmake --preset "$PRESET" >/dev/null
  cmake --build --preset "$PRESET" --target sagapay -j "${JOBS:-$(nproc)}"
fi
for port in $(seq "$PORT_BASE" $((PORT_BASE + 7))); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "apifuzz: port $port is in use; set APIFUZZ_PORT_BASE" >&2
    exit 1
  fi
done
export GATEWAY_PORT=$PORT_BASE ORCHESTRATOR_PORT=$((PORT_BASE + 1)) RISK_PORT=$((PORT_BASE + 2))
export PROVIDER_PORT=$((PORT_BASE + 3)) LEDGER_PORT=$((PORT_BASE + 4))
export NOTIFICATION_PORT=$((PORT_BASE + 5)) PSP_PORT=$((PORT_BASE + 6))
export CONSOLE_PORT=$((PORT_BASE + 7))  # `sagapay up` starts the ops console too
export ORCHESTRATOR_URL=http://127.0.0.1:$ORCHESTRATOR_PORT PSP_URL=http://127.0.0.1:$PSP_PORT
export API_KEY=apifuzz-customer-key OPS_API_KEY=apifuzz-ops-key
export INTERNAL_API_TOKEN=apifuzz-internal-token-0123456789
export RATE_LIMIT_PER_MINUTE=${RATE_LIMIT_PER_MINUTE:-30} LOG_LEVEL=WARNING
export APIFUZZ_PORT_BASE=$PORT_BASE

"$BIN" up --no-stack --no-prometheus --log-dir "$OUT/log" >"$OUT/log/up.log" 2>&1 &
UP_PID=$!
stop_services() {
  if kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$UP_PID" 2>/dev/null || true
  fi
}
trap stop_services EXIT

for port in $(seq "$PORT_BASE" $((PORT_BASE + 6))); do
  for _ in $(seq 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break
    kill -0 "$UP_PID" 2>/dev/null || { echo "apifuzz: sagapay up exited" >&2; cat "$OUT/log/up.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health" ||
    { echo "apifuzz: port $port not healthy; see $OUT/log" >&2; exit 1; }
done
echo "apifuzz: services up on $PORT_BASE-$((PORT_BASE + 6)) ($BIN)"

# -- 4. fuzz --------------------------------------------------------------------------------
status=0
"$VENV/bin/python" scripts/apifuzz.py docs/openapi.yaml "$OUT/report.json" || status=$?
if grep -l 'threw\|AddressSanitizer\|runtime error' "$OUT"/log/*.log 2>/dev/null; then
  echo "apifuzz: a service logged a handler exception or a sanitizer report (files above)" >&2
  status=1
fi
exit $status
