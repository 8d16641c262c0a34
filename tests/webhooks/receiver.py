#!/usr/bin/env python3
"""A webhook receiver for end-to-end tests of SagaPay's signed webhooks (docs/webhooks.md).

    python3 receiver.py --port P --secret S --log FILE [--secret-2 S2] [--host 127.0.0.1]
                        [--tolerance-seconds 300]

Standard library only. Prints `ready` on stdout once listening. Threaded (one thread per
connection, HTTP/1.1 keep-alive), no access log on stderr.

How it answers depends on the first segment of the request path:

    /ok/...             200
    /fail-first-N/...   500 to the first N requests on that path (the whole request target,
                        query included), then 200; e.g. /fail-first-2/x
    /slow-MS/...        sleeps MS milliseconds, then 200 (beyond the sender's timeout: a timed-out
                        attempt; below it: a late but in-time answer)
    /always-fail/...    503
    anything else       404

Every request appends one JSON line to FILE, written and flushed before the answer is sent (for
/slow-MS/ paths after the sleep, just before the answer):

    {"time": <unix s, float: when the line was written>, "received_at": <unix s, float>,
     "method": "POST", "path": "/ok/x", "headers": {<lower-cased name>: <value>},
     "body": "<the raw body, UTF-8 decoded>", "status": <the status answered>,
     "signature_valid": true|false, "signature_check": "valid|missing|malformed|mismatch|too_old",
     "signature_secret": "secret"|"secret-2"|null}

signature_valid is computed here, independently of SagaPay's code, with hmac and hashlib:
SagaPay-Signature is `t=<unix s>,v1=<hex>[,v1=<hex>...]`; it is valid when some v1 equals
HMAC-SHA256(secret, "<t>.<raw body>") under --secret or --secret-2 (compared with
hmac.compare_digest) and |now - t| <= --tolerance-seconds (300). A repeated header's values are
joined with ", " in `headers`; the signature is checked on the first one.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNATURE_HEADER = "sagapay-signature"
_TIMESTAMP = re.compile(r"-?[0-9]+")
_FAIL_FIRST = re.compile(r"fail-first-([0-9]+)")
_SLOW = re.compile(r"slow-([0-9]+)")


def check_signature(header: str | None, body: bytes, secrets: list[tuple[str, str]],
                    now: float, tolerance: int) -> tuple[str, str | None]:
    """(verdict, name of the secret that matched) for a SagaPay-Signature header value."""
    if header is None:
        return "missing", None
    timestamp = None
    candidates: list[bytes] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamp = int(value) if _TIMESTAMP.fullmatch(value) else None
        elif key == "v1" and value:
            candidates.append(value.encode("utf-8", "replace"))
    if timestamp is None or not candidates:
        return "malformed", None
    signed = str(timestamp).encode("ascii") + b"." + body
    matched = None
    for name, secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest().encode("ascii")
        for candidate in candidates:
            if hmac.compare_digest(candidate, expected) and matched is None:
                matched = name
    if matched is None:
        return "mismatch", None
    if abs(now - timestamp) > tolerance:
        return "too_old", matched
    return "valid", matched


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, secrets, log_path, tolerance):
        super().__init__(address, Handler)
        self.secrets = secrets
        self.tolerance = tolerance
        self.log_file = open(log_path, "a", encoding="utf-8")
        self.log_lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.counts_lock = threading.Lock()

    def arrival(self, target: str) -> int:
        """1 for the first request on this target, 2 for the second, ..."""
        with self.counts_lock:
            self.counts[target] = self.counts.get(target, 0) + 1
            return self.counts[target]

    def write_log(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        with self.log_lock:
            self.log_file.write(line + "\n")
            self.log_file.flush()

    def handle_error(self, request, client_address):
        # Quiet: a sender that gave up (timeout) closes its end; nothing to report on stderr.
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # no access log

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the chunk's CRLF
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        received_at = time.time()
        body = self._read_body()
        target = self.path
        first = target.split("?", 1)[0].lstrip("/").split("/", 1)[0]

        delay_ms = 0
        if first == "ok":
            status = 200
        elif first == "always-fail":
            status = 503
        elif (m := _FAIL_FIRST.fullmatch(first)) is not None:
            status = 500 if self.server.arrival(target) <= int(m.group(1)) else 200
        elif (m := _SLOW.fullmatch(first)) is not None:
            status = 200
            delay_ms = int(m.group(1))
        else:
            status = 404
        if delay_ms:
            time.sleep(delay_ms / 1000.0)

        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        now = time.time()
        verdict, secret_name = check_signature(
            self.headers.get(SIGNATURE_HEADER), body, self.server.secrets, now,
            self.server.tolerance,
        )
        self.server.write_log({
            "time": now,
            "received_at": received_at,
            "method": self.command,
            "path": target,
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "status": status,
            "signature_valid": verdict == "valid",
            "signature_check": verdict,
            "signature_secret": secret_name,
        })

        answer = json.dumps({"status": status}).encode("ascii")
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the sender gave up waiting

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret", required=True, help="the endpoint's signing secret")
    parser.add_argument("--secret-2", help="a second secret (the other side of a rotation)")
    parser.add_argument("--log", required=True, help="JSON lines are appended here")
    parser.add_argument("--tolerance-seconds", type=int, default=300)
    args = parser.parse_args()

    secrets = [("secret", args.secret)]
    if args.secret_2:
        secrets.append(("secret-2", args.secret_2))
    server = Receiver((args.host, args.port), secrets, args.log, args.tolerance_seconds)
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
