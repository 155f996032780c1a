"""Fixtures for the Starfleet-compatibility tests: a loopback fake of Slack's Web API, clean singletons, secrets.

``FakeSlack`` is a real HTTP server on 127.0.0.1 (a free port, started and stopped by the fixture) that answers
``chat.postMessage`` as Slack does and records every request it receives (path, bearer token, JSON body). A
client gets its answer only after the request is recorded, so a finished run has left every post it made.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

STARFLEET_SHIPS = Path(__file__).resolve().parent / "fixtures" / "starfleet_ships"
SLACK_TOKEN = "xoxb-starfleet-test-token"


@dataclass
class SlackPost:
    """One request the fake received."""

    path: str
    token: str | None
    body: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))

    @property
    def channel(self) -> str:
        return str(self.body.get("channel", ""))


@dataclass
class FakeSlack:
    """Slack's Web API on loopback: ``base_url`` for clients, ``posts`` as received, ``fail_with`` to refuse."""

    server: ThreadingHTTPServer
    posts: list[SlackPost] = field(default_factory=list)
    fail_with: str | None = None  # e.g. "channel_not_found": answer ok=false, as Slack does
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def texts(self) -> list[str]:
        with self.lock:
            return [post.text for post in self.posts]


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:  # form-encoded bodies are not what our clients send; record them raw
                body = {"raw": raw.decode("utf-8", "replace")}
            authorization = self.headers.get("Authorization") or ""
            token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
            with fake.lock:
                fake.posts.append(SlackPost(self.path, token, body))
                failure = fake.fail_with
            answer: dict[str, Any] = (
                {"ok": False, "error": failure}
                if failure
                else {"ok": True, "channel": body.get("channel"), "ts": f"{len(fake.posts)}.000100"}
            )
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
            return

    return Handler


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = FakeSlack(server)
    server.RequestHandlerClass = _handler(fake)
    thread = threading.Thread(target=server.serve_forever, name="fake-slack", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def clean_starfleet_state() -> Iterator[None]:
    """Starfleet's process-wide singletons and logger levels as a fresh process has them, before and after."""
    from starfleet_airflow.core.index_plugins import forget_plugin_instances
    from starfleet_airflow.core.secrets import SECRETS_MANAGER
    from starfleet_airflow.starfleet_compat.loader import ACCOUNT_INDEX

    names = ("starfleet", "ships", "botocore", "urllib3")
    levels = {name: logging.getLogger(name).level for name in names}

    def reset() -> None:
        SECRETS_MANAGER.reset()
        ACCOUNT_INDEX.reset()
        forget_plugin_instances()

    reset()
    try:
        yield
    finally:
        reset()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def put_secret(secret_id: str, value: dict[str, Any], region: str = "us-east-1") -> None:
    """Starfleet's one JSON secret, in (moto's) Secrets Manager."""
    import boto3

    boto3.client("secretsmanager", region_name=region).create_secret(Name=secret_id, SecretString=json.dumps(value))


class RecordingHandler(logging.Handler):
    """Keeps the records a logger emits, with the level ``botocore`` had at that moment."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[tuple[str, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname, record.getMessage(), logging.getLogger("botocore").level))


@pytest.fixture
def starfleet_log() -> Iterator[RecordingHandler]:
    """Records of Starfleet's ``LOGGER`` (the ``starfleet`` logger) during the test."""
    handler = RecordingHandler()
    logger = logging.getLogger("starfleet")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
