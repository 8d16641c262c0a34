#!/usr/bin/env python3
"""A minimal OTLP/HTTP traces sink for benchmarks: answers 200 to every POST /v1/traces, counts
requests, bytes and spans (a cheap substring count, not a parse) and writes them to --stats on
SIGTERM/SIGINT. Usage: otlp_sink.py --port 4318 --stats FILE"""
import argparse
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS = {"requests": 0, "bytes": 0, "spans": 0}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        with LOCK:
            COUNTS["requests"] += 1
            COUNTS["bytes"] += len(body)
            COUNTS["spans"] += body.count(b'"spanId"')
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)

    def stop(*_):
        with LOCK, open(args.stats, "w", encoding="utf-8") as out:
            for key, value in COUNTS.items():
                out.write(f"{key}={value}\n")
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
