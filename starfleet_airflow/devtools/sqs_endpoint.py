"""A loopback SQS endpoint that answers SendMessageBatch after a fixed latency, and checks SQS's limits.

moto's SQS handles tens of messages a second, so it cannot show whether a run delivers at the
network's pace. This endpoint speaks the one call the deliver tasks make (SQS's JSON protocol, as
botocore sends it), sleeps ``latency`` seconds per call (15 ms, a real round trip), accepts every
entry, and counts what it received: calls, messages, bytes, and any batch over 10 entries or 256 KiB
(answered with SQS's own error). ``GET /stats`` returns the counts as JSON; ``POST /reset`` zeroes them.

    python -m starfleet_airflow.devtools.sqs_endpoint --port 9324 --latency 0.015

Point a boto3 client (or an Airflow AWS connection's ``endpoint_url``) at ``http://127.0.0.1:PORT``; any
queue URL under it is accepted. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_ENTRIES = 10
MAX_BYTES = 262_144


class Counts:
    """What the endpoint received (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls = self.messages = self.bytes = self.too_many = self.too_long = 0
            self.largest_call = 0
            self.first_call: float | None = None
            self.last_call: float | None = None

    def record(self, entries: int, size: int, ok: bool) -> None:
        now = time.time()
        with self._lock:
            self.calls += 1
            self.too_many += entries > MAX_ENTRIES
            self.too_long += size > MAX_BYTES
            if ok:
                self.messages += entries
                self.bytes += size
            self.largest_call = max(self.largest_call, size)
            self.first_call = now if self.first_call is None else self.first_call
            self.last_call = now

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {k: v for k, v in vars(self).items() if not k.startswith("_")}


def _entry_size(entry: dict[str, Any]) -> int:
    """Bytes SQS counts for one entry: the body and each attribute's name, type and value."""
    size = len(str(entry.get("MessageBody", "")).encode())
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(str(value.get("StringValue", "")).encode())
    return size


def make_handler(counts: Counts, latency: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: thousands of calls
            return

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm and the
            # client's delayed ACK hold the body back 40 ms, which would be the latency measured.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply(200, counts.as_dict() if self.path.startswith("/stats") else {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            if self.path.startswith("/reset"):
                counts.reset()
                return self._reply(200, {})
            target = self.headers.get("X-Amz-Target", "")
            if target != "AmazonSQS.SendMessageBatch":
                return self._reply(400, {"__type": "com.amazonaws.sqs#InvalidAction", "message": target})
            entries = request.get("Entries") or []
            size = sum(_entry_size(e) for e in entries)
            too_many, too_long = len(entries) > MAX_ENTRIES, size > MAX_BYTES
            counts.record(len(entries), size, not (too_many or too_long))
            time.sleep(latency)
            if too_many:
                return self._reply(400, {"__type": "com.amazonaws.sqs#TooManyEntriesInBatchRequest", "message": ""})
            if too_long:
                return self._reply(400, {"__type": "com.amazonaws.sqs#BatchRequestTooLong", "message": str(size)})
            successful = [
                {"Id": e["Id"], "MessageId": f"{e['Id']}-{counts.calls}", "MD5OfMessageBody": "0" * 32} for e in entries
            ]
            return self._reply(200, {"Successful": successful, "Failed": []})

    return Handler


def serve(port: int = 0, latency: float = 0.015) -> tuple[ThreadingHTTPServer, Counts]:
    """Start the endpoint on 127.0.0.1 in a background thread; ``server.server_address[1]`` is its port."""
    counts = Counts()
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(counts, latency))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sqs-endpoint", daemon=True).start()
    return server, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9324)
    parser.add_argument("--latency", type=float, default=0.015, help="seconds per SendMessageBatch")
    args = parser.parse_args()
    server, _ = serve(args.port, args.latency)
    print(f"SQS endpoint on http://127.0.0.1:{server.server_address[1]} ({args.latency * 1000:.0f} ms per call)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
