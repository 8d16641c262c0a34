#!/usr/bin/env bash
# Smoke test of the 3-broker cluster of scripts/kafka.sh (docs/kafka.md, "The broker"):
# creates a topic with replication factor 3 (min.insync.replicas=2), produces N messages with
# kcat (acks=all, idempotent producer) while node 2 is SIGKILLed midway, starts node 2 again,
# waits until every partition has its 3 replicas in sync, consumes the topic and checks that
# every message arrived exactly once. Exit 0 only then.
#
#   scripts/kafka_smoke.sh [--messages N] [--keep]
#
# Starts the cluster if it is down (and stops it at the end unless --keep); a cluster that was
# already running is left running. The topic is deleted at the end.
set -euo pipefail
export LC_ALL=C

die()  { echo "kafka_smoke: FAIL: $*" >&2; exit 1; }
info() { echo "kafka_smoke: $*" >&2; }

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
KAFKA=("$SCRIPT_DIR/kafka.sh")
MESSAGES=2000
KEEP=0
while (($#)); do
  case "$1" in
    --messages) (($# >= 2)) || die "--messages needs a value"; MESSAGES=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
if [[ ! "$MESSAGES" =~ ^[1-9][0-9]{0,7}$ ]] || ((MESSAGES < 10)); then die "--messages must be a number >= 10"; fi
command -v kcat >/dev/null 2>&1 || die "kcat not found (run scripts/deps.sh)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sagapay-kafka-smoke.XXXXXX")
STARTED=0
TOPIC="sagapay-smoke-$(date +%s)-$$"
BOOT=""
t_all=$SECONDS

cleanup() {
  local rc=$?
  if [[ -n "$BOOT" ]]; then
    "${KAFKA[@]}" topics --brokers 3 --delete --topic "$TOPIC" >/dev/null 2>&1 || true
  fi
  if ((STARTED && !KEEP)); then "${KAFKA[@]}" stop --brokers 3 >/dev/null 2>&1 || true; fi
  if ((rc != 0)); then info "work files kept in $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT

if "${KAFKA[@]}" status --brokers 3 >/dev/null 2>&1; then
  info "using the running 3-broker cluster"
else
  info "starting the 3-broker cluster"
  STARTED=1
  "${KAFKA[@]}" start --brokers 3 >/dev/null
fi
BOOT=$("${KAFKA[@]}" env --brokers 3 | sed -n 's/^export KAFKA_BOOTSTRAP_SERVERS=//p')
[[ -n "$BOOT" ]] || die "no bootstrap servers from scripts/kafka.sh env --brokers 3"
info "bootstrap $BOOT, topic $TOPIC"

"${KAFKA[@]}" topics --brokers 3 --create --topic "$TOPIC" --partitions 3 --replication-factor 3 \
  --config min.insync.replicas=2 >/dev/null || die "could not create topic $TOPIC"

# Every partition of the topic has all 3 replicas in sync (kcat -L: "isrs: 1,2,3").
all_in_sync() {
  local md
  md=$(timeout 10 kcat -L -b "$BOOT" -t "$TOPIC" -m 5 2>/dev/null) || return 1
  local total full
  total=$(grep -c 'partition [0-9]*, leader' <<<"$md" || true)
  full=$(grep -cE 'isrs: [0-9]+,[0-9]+,[0-9]+$' <<<"$md" || true)
  [[ "$total" == 3 && "$full" == 3 ]]
}
wait_in_sync() {
  local deadline=$((SECONDS + $1))
  until all_in_sync; do
    ((SECONDS < deadline)) || { kcat -L -b "$BOOT" -t "$TOPIC" >&2 || true; die "$2"; }
    sleep 0.5
  done
}
wait_in_sync 60 "the new topic's partitions never had 3 in-sync replicas"

# ---- produce, with node 2 SIGKILLed halfway through -------------------------------------
awk -v n="$MESSAGES" 'BEGIN { for (i = 1; i <= n; i++) printf "smoke-%09d\n", i }' >"$WORK/expected"
KILL_AT=$((MESSAGES / 2))
t0=$SECONDS
produce_rc=0
{
  i=0
  while IFS= read -r line; do
    printf '%s\n' "$line"
    i=$((i + 1))
    if ((i == KILL_AT)); then "${KAFKA[@]}" kill-broker --brokers 3 2 >&2; fi
    sleep 0.003
  done <"$WORK/expected"
} | kcat -P -b "$BOOT" -t "$TOPIC" -X acks=all -X enable.idempotence=true \
    -X message.timeout.ms=120000 -X linger.ms=5 2>"$WORK/produce.err" || produce_rc=$?
t_produce=$((SECONDS - t0))
if ((produce_rc != 0)) || grep -qi 'delivery failed' "$WORK/produce.err"; then
  cat "$WORK/produce.err" >&2
  die "kcat -P failed (exit $produce_rc)"
fi
info "produced $MESSAGES messages in $t_produce s with node 2 killed after $KILL_AT"

# ---- node 2 back, replicas caught up ------------------------------------------------------
t0=$SECONDS
"${KAFKA[@]}" start-broker --brokers 3 2 >/dev/null || die "node 2 did not come back"
wait_in_sync 120 "node 2 did not catch up (partitions without 3 in-sync replicas)"
info "node 2 restarted and in sync in $((SECONDS - t0)) s"

# ---- consume and compare -------------------------------------------------------------------
timeout 120 kcat -C -b "$BOOT" -t "$TOPIC" -o beginning -e -q -f '%s\n' >"$WORK/got" \
  2>"$WORK/consume.err" || { cat "$WORK/consume.err" >&2; die "kcat -C failed"; }
got=$(wc -l <"$WORK/got")
uniq_got=$(sort -u "$WORK/got" | wc -l)
sort "$WORK/got" >"$WORK/got.sorted"
if ! cmp -s "$WORK/expected" "$WORK/got.sorted"; then
  missing=$(comm -23 "$WORK/expected" <(sort -u "$WORK/got") | wc -l)
  die "received $got messages ($uniq_got distinct, $missing missing, $((got - uniq_got)) duplicates) of $MESSAGES"
fi
echo "kafka_smoke: OK: $MESSAGES produced with acks=all while node 2 was SIGKILLed and restarted; all $got consumed exactly once ($((SECONDS - t_all)) s)"
