#!/usr/bin/env python3
"""SagaPay's two dashboards, Overview and Executive, from one list of panels.

Writes the Grafana JSON (ops/grafana/dashboards/) and the Prometheus console templates
(ops/prometheus/consoles/) so both show the same queries. `--check` writes nothing and fails when
a committed file differs from what this script makes (ctest `dashboards_generated`).

    python3 ops/dashboards.py            # regenerate after editing PANELS
    python3 ops/dashboards.py --check
"""
import html
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "sagapay-prometheus"}
GW = 'service="api-gateway"'
POST = 'service="api-gateway",route="/payments",method="POST"'


def panel(title, targets, unit="short", kind="timeseries", expect_data=True, desc=""):
    """targets: [(expr, legend)]. expect_data: after a load run the query must return series."""
    return {"title": title, "targets": targets, "unit": unit, "kind": kind,
            "expect_data": expect_data, "description": desc}


# The seed's Overview panels (same titles and queries, our windows), then SagaPay's own.
SEED_PANELS = [
    panel("API RPS by route",
          [(f'sum by (route) (rate(http_requests_total{{{GW}}}[1m]))', "{{route}}")], "reqps"),
    panel("API p95 by route",
          [(f'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{{{GW}}}[1m])))',
            "{{route}}")], "s"),
    panel("Saga E2E p95 by terminal_state",
          [('histogram_quantile(0.95, sum by (le, terminal_state) (rate(payment_e2e_seconds_bucket[1m])))',
            "{{terminal_state}}")], "s"),
    panel("Payment success/fail rate",
          [('sum(rate(payment_success_total[1m]))', "settled"),
           ('sum by (reason) (rate(payment_failure_total[1m]))', "failed {{reason}}")], "ops"),
    panel("Queue delay p95 by service/topic",
          [('histogram_quantile(0.95, sum by (le, service, topic) (rate(event_queue_delay_seconds_bucket[1m])))',
            "{{service}} {{topic}}")], "s"),
    panel("Outbox pending", [('sum by (service) (outbox_pending_total)', "{{service}}")]),
    panel("Outbox oldest age",
          [('max by (service) (outbox_oldest_pending_age_seconds)', "{{service}}")], "s"),
    panel("Retries", [('sum by (service, dependency) (rate(retries_total[1m]))',
                       "{{service}} {{dependency}}")], "ops", expect_data=False,
          desc="Only when a dependency fails: none in a healthy run."),
    panel("DLQ published",
          [('sum by (error_type) (increase(dlq_published_total[5m]))', "payments.dlq {{error_type}}"),
           ('sum by (service, topic) (increase(events_dead_lettered_total[5m]))', "parked {{service}} {{topic}}")],
          expect_data=True, desc="payments.dlq records and parked bus messages, last 5 minutes."),
    panel("Duplicate events skipped",
          [('sum by (service, topic) (rate(duplicate_events_skipped_total[1m]))', "{{service}} {{topic}}")],
          "ops"),
]

SAGAPAY_PANELS = [
    panel("Saga step p95 by topic",
          [('histogram_quantile(0.95, sum by (le, topic) (rate(saga_step_seconds_bucket[1m])))', "{{topic}}")],
          "s", desc="From the event that asked for a step to the commit of its handling."),
    panel("Consumer lag by topic and group",
          [('max by (topic, group) (kafka_consumer_lag)', "{{group}} {{topic}}")]),
    panel("Payments stuck past the sweeper bound",
          [('max by (state) (stuck_payments)', "{{state}}")]),
    panel("PSP calls by outcome",
          [('sum by (operation, outcome) (rate(psp_requests_total[1m]))', "{{operation}} {{outcome}}")], "ops"),
    panel("PSP p95 by operation",
          [('histogram_quantile(0.95, sum by (le, operation) (rate(psp_request_duration_seconds_bucket[1m])))',
            "{{operation}}")], "s"),
    panel("Reconciliation mismatches",
          [('max by (check) (reconciliation_mismatches)', "{{check}}")],
          desc="The ledger's self-check, every 60 s: 0 when the books balance."),
    panel("Firing alerts", [('sum by (alertname, severity) (ALERTS{alertstate="firing"})',
                              "{{alertname}} ({{severity}})")],
          expect_data=False, desc="Alerts of ops/prometheus/rules that fire now."),
]

# Executive: headline figures first, then the seed's panels without success/fail.
EXECUTIVE_STATS = [
    panel("Settled per second", [('sum(rate(payment_success_total[5m]))', "settled/s")], "ops", kind="stat"),
    panel("Success ratio",
          [('sum(rate(payment_success_total[5m])) / (sum(rate(payment_success_total[5m])) + sum(rate(payment_failure_total[5m])))',
            "success")], "percentunit", kind="stat"),
    panel("POST /payments p95",
          [(f'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{POST}}}[5m])))',
            "p95")], "s", kind="stat"),
    panel("Settle p95 (end to end)",
          [('histogram_quantile(0.95, sum by (le) (rate(payment_e2e_seconds_bucket{terminal_state="SETTLED"}[5m])))',
            "p95")], "s", kind="stat"),
    panel("Gateway 5xx",
          [(f'(sum(rate(http_requests_total{{{GW},status_code=~"5.."}}[5m])) or vector(0)) / clamp_min(sum(rate(http_requests_total{{{GW}}}[5m])), 1e-9)',
            "5xx")], "percentunit", kind="stat", expect_data=True),
    panel("DLQ (1h)",
          [('(sum(increase(dlq_published_total[1h])) or vector(0)) + (sum(increase(events_dead_lettered_total[1h])) or vector(0))',
            "dead letters")], kind="stat"),
    panel("Outbox pending", [('sum(outbox_pending_total)', "rows")], kind="stat"),
    panel("Ledger mismatches",
          [('max(reconciliation_mismatches)', "mismatches")], kind="stat",
          desc="0: the ledger's self-check found nothing wrong."),
]

DASHBOARDS = [
    {"uid": "sagapay-overview", "title": "SagaPay Overview", "file": "sagapay-overview",
     "refresh": "5s", "panels": SEED_PANELS + SAGAPAY_PANELS},
    {"uid": "sagapay-exec", "title": "SagaPay Executive Dashboard", "file": "sagapay-executive",
     "refresh": "10s",
     "panels": EXECUTIVE_STATS + [p for p in SEED_PANELS if p["title"] != "Payment success/fail rate"]},
]


def grafana(d):
    panels, x, y = [], 0, 0
    for i, p in enumerate(d["panels"]):
        w, h = (6, 4) if p["kind"] == "stat" else (12, 8)
        if x + w > 24:
            x, y = 0, y + h_prev
        h_prev = h
        panels.append({
            "id": i + 1, "type": p["kind"], "title": p["title"], "description": p["description"],
            "datasource": DATASOURCE, "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "fieldConfig": {"defaults": {"unit": p["unit"]}, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"]}} if p["kind"] == "stat" else
                       {"legend": {"displayMode": "list", "placement": "bottom"}},
            "targets": [{"refId": chr(ord("A") + j), "datasource": DATASOURCE, "expr": e,
                         "legendFormat": legend} for j, (e, legend) in enumerate(p["targets"])],
        })
        x += w
    return {"uid": d["uid"], "title": d["title"], "tags": ["sagapay"], "timezone": "browser",
            "schemaVersion": 39, "version": 1, "refresh": d["refresh"], "editable": True,
            "time": {"from": "now-30m", "to": "now"}, "panels": panels}


UNITS = {"s": ("humanizeDuration", "s", "PromConsole.NumberFormatter.humanize"),
         "percentunit": ("humanizePercentage", "", "PromConsole.NumberFormatter.humanizeNoSmallPrefix"),
         "reqps": ("humanizeNoSmallPrefix", "/s", "PromConsole.NumberFormatter.humanizeNoSmallPrefix"),
         "ops": ("humanizeNoSmallPrefix", "/s", "PromConsole.NumberFormatter.humanizeNoSmallPrefix"),
         "short": ("humanizeNoSmallPrefix", "", "PromConsole.NumberFormatter.humanizeNoSmallPrefix")}


def go_string(text):
    """A Go template string literal (backquoted: no escapes needed, no backquote in our queries)."""
    assert "`" not in text
    return "`" + text + "`"


def js_string(text):
    return json.dumps(text)


def console(d):
    out = [f'{{{{/* Generated by ops/dashboards.py from the panels of "{d["title"]}"; edit there. */}}}}',
           f'{{{{ template "sagapay_head" "{d["title"]}" }}}}',
           f'<h1>{html.escape(d["title"])}</h1>',
           '<p class="sagapay-links">{{ template "sagapay_nav" }}</p>']
    stats = [p for p in d["panels"] if p["kind"] == "stat"]
    if stats:
        out.append('<div class="sagapay-cards">')
        for p in stats:
            fmt, suffix, _ = UNITS[p["unit"]]
            expr = p["targets"][0][0]
            out.append(f'  <div class="sagapay-card"><div class="sagapay-card-title">{html.escape(p["title"])}</div>'
                       f'<div class="sagapay-card-value">{{{{ template "prom_query_drilldown" '
                       f'(args {go_string(expr)} "{suffix}" "{fmt}") }}}}</div></div>')
        out.append('</div>')
    out.append('<div class="sagapay-grid">')
    for i, p in enumerate(x for x in d["panels"] if x["kind"] != "stat"):
        _, suffix, js_fmt = UNITS[p["unit"]]
        node = f"g{i}"
        exprs = ", ".join(js_string(e) for e, _ in p["targets"])
        names = ", ".join(js_string(legend.replace("{{", "[[").replace("}}", "]]")) for _, legend in p["targets"])
        out += ['<section class="sagapay-panel">',
                f'<h3>{html.escape(p["title"])}</h3>',
                (f'<p class="sagapay-desc">{html.escape(p["description"])}</p>' if p["description"] else ""),
                f'<div id="{node}" class="sagapay-graph"></div>',
                '<script>',
                f'new PromConsole.Graph({{node: document.querySelector("#{node}"), expr: [{exprs}], '
                f'name: [{names}], yAxisFormatter: {js_fmt}, yHoverFormatter: {js_fmt}, '
                f'yUnits: {js_string(suffix)}, yTitle: {js_string(p["title"])}, min: 0, '
                f'renderer: "line", duration: 900, width: 520, height: 160}});',
                '</script>',
                '</section>']
    out.append('</div>')
    out.append('{{ template "sagapay_tail" }}')
    return "\n".join(line for line in out if line) + "\n"


def outputs():
    files = {}
    for d in DASHBOARDS:
        files[ROOT / "grafana" / "dashboards" / f'{d["file"]}.json'] = json.dumps(grafana(d), indent=2) + "\n"
        files[ROOT / "prometheus" / "consoles" / f'{d["file"]}.html'] = console(d)
    return files


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in outputs().items():
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT.parent)))
        else:
            path.write_text(text)
    if stale:
        print("out of date (run python3 ops/dashboards.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
