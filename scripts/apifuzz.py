#!/usr/bin/env python3
"""Property-based fuzzing of the live services against docs/openapi.yaml (run by scripts/apifuzz.sh).

For every operation of the selected services, schemathesis generates requests from the document
(positive: valid by the schema; negative: each breaking some rule; no-auth: valid but without
the keys), sends them to the running service and checks each answer: no 5xx
(not_a_server_error), a documented status (status_code_conformance), the documented content
type (content_type_conformance) and headers (response_headers_conformance), and a body that
matches the response schema (response_schema_conformance).

Then "nothing written by a refused request", from the databases: every payment row is a payment
some 200 answer named, every 200 names a row, and no refused create left a row for its
(customer_id, idempotency_key); every decided review is one a 200 decision answered, with the
status and reviewed_by that answer gave; every ledger transaction belongs to an accepted payment.

Environment: APIFUZZ_MAX_EXAMPLES (cases per operation and mode, default 100), APIFUZZ_SEED,
APIFUZZ_SERVICES (default all seven), APIFUZZ_PORT_BASE (the port of the gateway; the others
follow in the usual order), API_KEY, OPS_API_KEY, INTERNAL_API_TOKEN, the *_POSTGRES_DSN of the
services. Exit status 0 only when every check passed.
"""

from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import sys
import time
import traceback
from urllib.parse import urlparse

import hypothesis
import requests
import schemathesis
import yaml
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_spec
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SERVICES = {  # default port → name, as in docs/openapi.yaml's servers
    8000: "gateway",
    8001: "orchestrator",
    8002: "risk",
    8003: "provider",
    8004: "ledger",
    8005: "notification",
    8006: "psp",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CREATE_PATHS = {"/payments", "/internal/payments"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value else default


MAX_EXAMPLES = env_int("APIFUZZ_MAX_EXAMPLES", 100)
SEED = env_int("APIFUZZ_SEED", 20240501)
PORT_BASE = env_int("APIFUZZ_PORT_BASE", 8000)
SELECTED = set(
    (os.environ.get("APIFUZZ_SERVICES") or ",".join(SERVICES.values())).replace(" ", "").split(",")
)
API_KEY = os.environ["API_KEY"]
OPS_KEY = os.environ.get("OPS_API_KEY") or API_KEY
TOKEN = os.environ.get("INTERNAL_API_TOKEN", "")


def base_url(default_port: int) -> str:
    return f"http://127.0.0.1:{PORT_BASE + default_port - 8000}"


def auth_headers(service: str, path: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    if path in ("/health", "/metrics"):
        return headers
    if service == "gateway":
        headers["x-api-key"] = API_KEY
    elif service in ("risk", "ledger") or (service == "notification" and path.startswith("/ops/")):
        headers["x-api-key"] = OPS_KEY
    if service in ("orchestrator", "risk", "provider", "ledger", "notification") and TOKEN:
        headers["x-internal-token"] = TOKEN
    return headers


class Recorder:
    """Every exchange, every failure, counts per (service, method path, mode)."""

    def __init__(self) -> None:
        self.exchanges: list[dict] = []
        self.counts: collections.Counter = collections.Counter()
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.failures: dict[tuple, dict] = {}

    def record(self, label: str, mode: str, case, response, sent_body) -> None:
        self.counts[(label, mode)] += 1
        self.statuses[label][response.status_code] += 1
        try:
            answer = response.json()
        except ValueError:
            answer = None
        self.exchanges.append(
            {
                "label": label,
                "path": case.operation.path,
                "mode": mode,
                "status": response.status_code,
                "request": sent_body,
                "path_parameters": dict(case.path_parameters or {}),
                "answer": answer,
            }
        )

    def fail(self, label: str, mode: str, kind: str, detail: str, curl: str = "") -> None:
        key = (label, kind, detail.splitlines()[0][:160] if detail else "")
        if key not in self.failures:
            self.failures[key] = {
                "endpoint": label,
                "mode": mode,
                "check": kind,
                "detail": detail[:2000],
                "reproduce": curl,
                "count": 0,
            }
        self.failures[key]["count"] += 1


def psql_json(dsn: str, query: str):
    """The JSON value of `query` (one row, one column) over psql."""
    out = subprocess.run(
        [os.environ.get("APIFUZZ_PSQL", "psql"), dsn, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", query],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return json.loads(out) if out else None


def seed_reviews(rec: Recorder, count: int) -> list[str]:
    """Payments above RISK_REVIEW_AMOUNT_CENTS through the gateway; their reviews, once pending."""
    created = []
    session = requests.Session()
    for i in range(count):
        body = {
            "customer_id": f"apifuzz-review-{SEED}-{i}",
            "amount_cents": 250000 + i,
            "currency": "EUR",
            "idempotency_key": f"apifuzz-review-{SEED}-{i}",
        }
        r = session.post(
            base_url(8000) + "/payments",
            json=body,
            headers={"x-api-key": API_KEY},
            timeout=10,
        )
        rec.exchanges.append(
            {"label": "POST /payments", "path": "/payments", "mode": "seed", "status": r.status_code,
             "request": body, "path_parameters": {}, "answer": r.json()}
        )
        if r.status_code == 200:
            created.append(r.json()["payment_id"])
    deadline = time.time() + 30
    pending: list[str] = []
    while time.time() < deadline:
        r = session.get(
            base_url(8002) + "/ops/reviews",
            params={"status": "PENDING", "limit": 1000},
            headers=auth_headers("risk", "/ops/reviews"),
            timeout=10,
        )
        pending = [x["payment_id"] for x in r.json() if x["payment_id"] in created] if r.ok else []
        if len(pending) == len(created):
            break
        time.sleep(0.5)
    return pending


def fuzz_operation(rec: Recorder, operation, service: str, port: int, known: dict) -> None:
    path = operation.path
    method = operation.method.upper()
    label = f"{method} {path}" if path not in ("/health", "/metrics") else f"{method} {path} ({service})"
    url = base_url(port)
    headers = auth_headers(service, path)
    session = requests.Session()
    modes = [("positive", GenerationMode.POSITIVE, headers), ("negative", GenerationMode.NEGATIVE, headers)]
    if headers:
        # The same valid requests without the keys: every one must be refused, and write nothing.
        modes.append(("no-auth", GenerationMode.POSITIVE, {}))

    for mode_name, mode, sent_headers in modes:
        examples = MAX_EXAMPLES if mode_name != "no-auth" else max(5, MAX_EXAMPLES // 5)
        try:
            strategy = operation.as_strategy(generation_mode=mode)
        except Exception as exc:  # e.g. nothing to negate in an operation without inputs
            print(f"  {label} [{mode_name}]: no strategy ({type(exc).__name__})")
            continue

        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=False,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.seed(SEED)
        @hypothesis.given(case=strategy, pick=st.integers(min_value=0, max_value=999))
        def run(case, pick):
            # Now and then aim at something that exists, so that 200 and 409 paths run too.
            if case.path_parameters and known.get(path) and pick % 3 == 0:
                name = next(iter(case.path_parameters))
                case.path_parameters[name] = known[path][pick % len(known[path])]
            # schemathesis generates the security headers too (garbage): the keys replace them,
            # except in no-auth mode, where what it generated (or nothing) is sent.
            if sent_headers:
                case.headers = {**(case.headers or {}), **sent_headers}
            try:
                response = case.call(base_url=url, session=session, headers=sent_headers, timeout=15)
            except requests.RequestException as exc:
                rec.fail(label, mode_name, "no_answer", f"{type(exc).__name__}: {exc}",
                         case.as_curl_command(headers=sent_headers, base_url=url))
                return
            sent_body = case.body if not isinstance(case.body, (bytes, bytearray)) else None
            rec.record(label, mode_name, case, response, sent_body)
            if mode_name == "no-auth" and response.status_code < 400:
                rec.fail(label, mode_name, "auth_not_enforced",
                         f"{response.status_code} without keys: {response.text[:300]}",
                         case.as_curl_command(headers=sent_headers, base_url=url))
            try:
                case.validate_response(
                    response, checks=CHECKS, headers=sent_headers,
                    transport_kwargs={"base_url": url, "session": session},
                )
            except Exception as exc:  # FailureGroup (an ExceptionGroup) or one failure
                failures = getattr(exc, "exceptions", [exc])
                for failure in failures:
                    title = getattr(failure, "title", type(failure).__name__)
                    message = getattr(failure, "message", str(failure))
                    rec.fail(label, mode_name, title,
                             f"{response.status_code} {message}\nresponse: {response.text[:500]}",
                             case.as_curl_command(headers=sent_headers, base_url=url))

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            pass  # nothing to negate (an operation without inputs)
        except Exception:
            rec.fail(label, mode_name, "driver_error", traceback.format_exc())


def check_writes(rec: Recorder) -> list[str]:
    """Nothing written by a refused request; every write an accepted request named."""
    problems: list[str] = []
    accepted: dict[str, tuple] = {}
    accepted_pairs: set[tuple] = set()
    refused_pairs: list[tuple] = []
    decisions: dict[str, dict] = {}
    for x in rec.exchanges:
        if x["path"] in CREATE_PATHS:
            body = x["request"] if isinstance(x["request"], dict) else {}
            pair = (body.get("customer_id"), body.get("idempotency_key"))
            if x["status"] == 200:
                accepted[x["answer"]["payment_id"]] = pair
                accepted_pairs.add(pair)
            elif all(isinstance(v, str) for v in pair):
                refused_pairs.append((pair, x["status"], x["label"]))
        elif x["path"].startswith("/ops/reviews/") and x["status"] == 200:
            answer = x["answer"]
            if answer["payment_id"] in decisions:
                problems.append(f"review {answer['payment_id']} decided twice with 200")
            decisions[answer["payment_id"]] = answer

    payments = psql_json(
        os.environ["ORCHESTRATOR_POSTGRES_DSN"],
        "SELECT coalesce(json_agg(json_build_array(payment_id, customer_id, idempotency_key)), "
        "'[]') FROM payments",
    )
    rows = {p[0]: (p[1], p[2]) for p in payments}
    for payment_id, pair in rows.items():
        if payment_id not in accepted:
            problems.append(f"payment {payment_id} {pair} exists but no request got a 200 naming it")
    for payment_id in accepted:
        if payment_id not in rows:
            problems.append(f"a 200 named payment {payment_id}, which is not in the database")
    row_pairs = set(rows.values())
    for pair, status, label in refused_pairs:
        if pair in row_pairs and pair not in accepted_pairs:
            problems.append(f"{label} refused with {status} but wrote payment {pair}")

    reviews = psql_json(
        os.environ["RISK_POSTGRES_DSN"],
        "SELECT coalesce(json_agg(json_build_array(payment_id, status, reviewed_by)), '[]') "
        "FROM risk_reviews WHERE status <> 'PENDING'",
    )
    for payment_id, status, reviewed_by in reviews:
        answer = decisions.get(payment_id)
        if answer is None:
            if reviewed_by != "system:expiry":
                problems.append(f"review {payment_id} is {status} but no decision got a 200")
        elif (answer["status"], answer["reviewed_by"]) != (status, reviewed_by):
            problems.append(
                f"review {payment_id}: the 200 said {answer['status']} by {answer['reviewed_by']!r}, "
                f"the database holds {status} by {reviewed_by!r}"
            )
    decided_rows = {r[0] for r in reviews}
    for payment_id in decisions:
        if payment_id not in decided_rows:
            problems.append(f"a 200 decided review {payment_id}, which is not decided in the database")

    postings = psql_json(
        os.environ["LEDGER_POSTGRES_DSN"],
        "SELECT coalesce(json_agg(payment_id), '[]') FROM ledger_transactions",
    )
    for payment_id in postings:
        if payment_id not in accepted:
            problems.append(f"ledger posting for payment {payment_id}, which no 200 accepted")

    # Webhook endpoints: every row was answered 201 (a refused registration writes nothing).
    created = {
        x["answer"]["endpoint_id"]
        for x in rec.exchanges
        if x["path"] == "/ops/webhooks/endpoints" and x["status"] == 201
        and isinstance(x.get("answer"), dict) and "endpoint_id" in x["answer"]
    }
    endpoints = psql_json(
        os.environ["NOTIFICATION_POSTGRES_DSN"],
        "SELECT coalesce(json_agg(endpoint_id), '[]') FROM webhook_endpoints",
    )
    for endpoint_id in endpoints:
        if endpoint_id not in created:
            problems.append(f"webhook endpoint {endpoint_id} exists but no request got a 201 naming it")

    print(
        f"writes: {len(rows)} payments ({len(accepted)} accepted by a 200, {len(refused_pairs)} "
        f"refused creates), {len(reviews)} decided reviews ({len(decisions)} decisions answered "
        f"200), {len(postings)} ledger postings, {len(endpoints)} webhook endpoints"
    )
    return problems


def main() -> int:
    spec_path = sys.argv[1] if len(sys.argv) > 1 else "docs/openapi.yaml"
    report_path = sys.argv[2] if len(sys.argv) > 2 else "var/apifuzz/report.json"
    with open(spec_path) as f:
        document = yaml.safe_load(f)
    validate_spec(document)  # OpenAPI 3.0 structure and schemas
    print(f"{spec_path}: valid OpenAPI {document['openapi']} ({len(document['paths'])} paths)")

    schema = schemathesis.openapi.from_path(spec_path)
    rec = Recorder()
    started = time.time()
    known: dict[str, list[str]] = {}
    if "risk" in SELECTED and "gateway" in SELECTED:
        reviews = seed_reviews(rec, 8)
        print(f"seeded {len(reviews)} pending reviews for the decision endpoints")
        known["/ops/reviews/{payment_id}/approve"] = reviews
        known["/ops/reviews/{payment_id}/deny"] = reviews

    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()
        servers = document["paths"][operation.path].get("servers", document["servers"])
        for server in servers:
            port = urlparse(server["url"]).port
            service = SERVICES[port]
            if service in SELECTED:
                operations.append((operation, service, port))
    # The gateway first: its accepted payments give the read endpoints ids that exist.
    operations.sort(key=lambda o: (o[1] != "gateway", o[2], o[0].path, o[0].method))
    for operation, service, port in operations:
        if operation.path == "/payments/{payment_id}":
            known[operation.path] = [x["answer"]["payment_id"] for x in rec.exchanges
                                     if x["path"] in CREATE_PATHS and x["status"] == 200][:50]
        if operation.path == "/reconciliation/{transaction_id}":
            known[operation.path] = ["settlement:" + x["answer"]["payment_id"] for x in rec.exchanges
                                     if x["path"] in CREATE_PATHS and x["status"] == 200][:50]
        if operation.path.startswith("/ops/webhooks/endpoints/{endpoint_id}"):
            known[operation.path] = [x["answer"]["endpoint_id"] for x in rec.exchanges
                                     if x["path"] == "/ops/webhooks/endpoints"
                                     and x["status"] == 201][:20]
        before = sum(v for (label, _), v in rec.counts.items())
        fuzz_operation(rec, operation, service, port, known)
        after = sum(v for (label, _), v in rec.counts.items())
        print(f"  {service:12s} {operation.method.upper():5s} {operation.path:36s} {after - before:5d} cases")

    time.sleep(2)  # let the saga post what the accepted payments settle
    write_problems = check_writes(rec)
    for problem in write_problems:
        rec.fail("(database)", "-", "written_by_refused_request", problem)

    elapsed = time.time() - started
    per_endpoint = collections.defaultdict(dict)
    for (label, mode), n in sorted(rec.counts.items()):
        per_endpoint[label][mode] = n
    report = {
        "schemathesis": schemathesis.__version__,
        "hypothesis": hypothesis.__version__,
        "seed": SEED,
        "max_examples": MAX_EXAMPLES,
        "services": sorted(SELECTED),
        "seconds": round(elapsed, 1),
        "cases_total": sum(rec.counts.values()),
        "cases_per_endpoint": per_endpoint,
        "statuses_per_endpoint": {k: dict(sorted(v.items())) for k, v in sorted(rec.statuses.items())},
        "failures": list(rec.failures.values()),
    }
    os.makedirs(os.path.dirname(report_path) or ".", exist_ok=True)
    with open(report_path, "w") as f:
        json.dump(report, f, indent=2, default=str)

    print(f"\n{report['cases_total']} cases in {elapsed:.0f} s (seed {SEED}, "
          f"max {MAX_EXAMPLES} per operation and mode); report: {report_path}")
    for label, statuses in report["statuses_per_endpoint"].items():
        print(f"  {label:48s} {sum(statuses.values()):5d}  {statuses}")
    if rec.failures:
        print(f"\n{len(rec.failures)} distinct failures:")
        for failure in rec.failures.values():
            print(f"- {failure['endpoint']} [{failure['mode']}] {failure['check']} "
                  f"(x{failure['count']}): {failure['detail'][:600]}")
            if failure["reproduce"]:
                print(f"    {failure['reproduce'][:600]}")
        return 1
    print("no failures: no 5xx, every answer as documented, nothing written by a refused request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
