#!/usr/bin/env python3
"""Hermetic checks of ops/ (ctest `ops_config`, label unit):

- promtool checks both rule files and runs their unit tests (tests/*.test.yml);
- every alert has a test where it fires (a non-empty exp_alerts) and every recording rule a
  promql_expr_test of its own name;
- the Grafana dashboards are valid JSON, name the provisioned datasource, have a query in every
  panel, and are what ops/dashboards.py makes (the console templates too);
- the Grafana provisioning files and the Alertmanager example are valid (amtool check-config).
"""
import json
import pathlib
import re
import subprocess
import sys

OPS = pathlib.Path(__file__).resolve().parent
failures = []


def run(*argv):
    done = subprocess.run(argv, cwd=OPS, capture_output=True, text=True)
    if done.returncode != 0:
        failures.append(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


rules = sorted((OPS / "prometheus" / "rules").glob("*.yml"))
tests = sorted((OPS / "prometheus" / "tests").glob("*.test.yml"))
run("promtool", "check", "rules", *map(str, rules))
run("promtool", "test", "rules", *map(str, tests))

rule_text = "\n".join(p.read_text() for p in rules)
test_text = "\n".join(p.read_text() for p in tests)
alerts = re.findall(r"^\s*- alert:\s*(\S+)", rule_text, re.M)
records = re.findall(r"^\s*- record:\s*(\S+)", rule_text, re.M)
for alert in alerts:
    # A test block of this alert whose exp_alerts lists at least one alert.
    fired = re.search(rf"alertname:\s*{re.escape(alert)}\s*\n\s*exp_alerts:\s*\n\s*- ", test_text)
    if not fired:
        failures.append(f"alert {alert} has no promtool test in which it fires")
for record in records:
    if not re.search(rf"- expr:\s*{re.escape(record)}\s*$", test_text, re.M):
        failures.append(f"recording rule {record} has no promql_expr_test")
if not alerts or not records:
    failures.append("no alerts or no recording rules found: the rule files moved?")

provisioned = (OPS / "grafana" / "provisioning" / "datasources" / "sagapay.yml").read_text()
uid = re.search(r"uid:\s*(\S+)", provisioned).group(1)
boards = sorted((OPS / "grafana" / "dashboards").glob("*.json"))
if len(boards) < 2:
    failures.append("expected the Overview and Executive dashboards in ops/grafana/dashboards")
for board in boards:
    try:
        data = json.loads(board.read_text())
    except json.JSONDecodeError as e:
        failures.append(f"{board.name}: not JSON: {e}")
        continue
    for key in ("uid", "title", "panels"):
        if not data.get(key):
            failures.append(f"{board.name}: no {key}")
    for p in data.get("panels", []):
        targets = p.get("targets") or []
        if not targets or not all(t.get("expr", "").strip() for t in targets):
            failures.append(f"{board.name}: panel {p.get('title')!r} has no query")
        for ds in [p.get("datasource")] + [t.get("datasource") for t in targets]:
            if not ds or ds.get("uid") != uid:
                failures.append(f"{board.name}: panel {p.get('title')!r} does not use datasource {uid}")
titles = {json.loads(b.read_text()).get("title") for b in boards}
for wanted in ("SagaPay Overview", "SagaPay Executive Dashboard"):
    if wanted not in titles:
        failures.append(f"missing the seed's dashboard {wanted!r}")

run(sys.executable, str(OPS / "dashboards.py"), "--check")
run("amtool", "check-config", str(OPS / "alertmanager" / "alertmanager.example.yml"))

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"ops: {len(alerts)} alerts and {len(records)} recording rules tested, "
      f"{len(boards)} dashboards valid")
