"""SQS delivery: Starfleet-compatible messages on the ship's queue, batched and sent concurrently.

* ``SendMessageBatch`` with up to 10 entries per call and at most 256 KiB per call (bodies plus message
  attributes), so a run costs ceil(messages / 10) calls when nothing fails: the physical minimum.
* Calls go out concurrently (``Airflow.Concurrency`` threads sharing one thread-safe client), because a
  real SQS round trip is ~15 ms and 8,500 of them in a row take two minutes.
* Entries SQS reports as failed for a reason on its side (throttling, internal errors) are sent again
  with exponential backoff; what still fails, or fails for the sender's fault, is reported per target.
* Message attributes carry the DAG run id, the ship and the template, for tracing on the consumer side
  (Starfleet workers ignore them). FIFO queues (``.fifo``) get a message group per account, so one
  account's messages are processed in order while accounts proceed in parallel, and a deterministic
  deduplication id (run id + template + target), so a retried task cannot enqueue a target twice
  within SQS's five-minute deduplication window.

Entries are built once per unit, in one pass over the rendered bodies (``BodyRenderer``), and each call
sends a slice of them. An entry's ``Id`` is its position in the unit (unique within any batch), so what
SQS reports as failed maps straight back to its target.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow.gc_pause import collector_paused

log = logging.getLogger(__name__)

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 262_144  # SQS's limit for one message and for the whole SendMessageBatch payload
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_SECONDS = 0.2

# SQS error codes worth another attempt (its own side, or throttling).
RETRYABLE_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestThrottled",
        "ThrottlingException",
        "Throttling",
        "KmsThrottled",
        "KMS.ThrottlingException",
    }
)
# Errors about the queue itself: every further call would fail the same way, so the unit stops.
QUEUE_LEVEL_CODES = frozenset(
    {
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidAddress",
        "InvalidSecurity",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "KMS.AccessDeniedException",
        "KmsAccessDenied",
        "KmsDisabled",
        "KmsNotFound",
    }
)

_QUEUE_REGION = re.compile(r"^https?://(?:sqs(?:-fips)?\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:queue\.)?amazonaws\.com")
_POSITION_IDS: list[str] = []
_POSITION_IDS_LOCK = threading.Lock()


def position_ids(count: int) -> list[str]:
    """``["0", "1", ...]`` with at least ``count`` items, built once per process and grown on demand."""
    if len(_POSITION_IDS) < count:
        with _POSITION_IDS_LOCK:
            _POSITION_IDS.extend(map(str, range(len(_POSITION_IDS), count)))
    return _POSITION_IDS


def queue_region(queue_url: str) -> str | None:
    """The region in an AWS queue URL (``https://sqs.eu-west-1.amazonaws.com/...``); None for others."""
    match = _QUEUE_REGION.match(queue_url)
    return match.group(1) if match else None


def is_fifo(queue_url: str) -> bool:
    return queue_url.rstrip("/").endswith(".fifo")


def sqs_client(queue_url: str, aws_conn_id: str | None, concurrency: int) -> Any:
    """A boto3 SQS client from the Amazon provider's ``SqsHook`` and an Airflow AWS connection.

    The client's region follows the queue URL when it names one (a queue lives in one region), and its
    connection pool is sized for the sending threads.
    """
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook
    from botocore.config import Config

    hook = SqsHook(
        aws_conn_id=aws_conn_id,
        region_name=queue_region(queue_url),
        config=Config(max_pool_connections=max(10, concurrency)),
    )
    return hook.get_conn()


def message_attributes(*, dag_run_id: str | None, ship: str, template: str) -> dict[str, dict[str, str]]:
    """Tracing attributes on every message (empty values are left out: SQS refuses them)."""
    values = {"StarfleetDagRunId": dag_run_id, "StarfleetShip": ship, "StarfleetTemplate": template}
    return {name: {"DataType": "String", "StringValue": str(v)} for name, v in values.items() if v}


def attributes_size(attributes: dict[str, dict[str, str]]) -> int:
    """Bytes SQS counts for message attributes: name, data type and value of each."""
    return sum(
        len(name.encode()) + len(spec["DataType"].encode()) + len(spec.get("StringValue", "").encode())
        for name, spec in attributes.items()
    )


def _size(body: str) -> int:
    return len(body) if body.isascii() else len(body.encode("utf-8"))


def cut_batches(
    bodies: Sequence[str],
    *,
    extra_bytes: int = 0,
    max_entries: int = MAX_BATCH_ENTRIES,
    max_bytes: int = MAX_BATCH_BYTES,
) -> tuple[list[tuple[int, int]], list[int]]:
    """Split positions ``0..len(bodies)`` into ``(start, stop)`` batches within SQS's limits.

    ``extra_bytes`` is what each message adds besides its body (attributes). Returns the batches and
    the positions of messages too large to send at all.
    """
    count = len(bodies)
    if not count:
        return [], []
    # A character is at most 4 bytes of UTF-8, so when ten of the longest body fit even at 4 bytes per
    # character, the batches are plain runs of ten, found without encoding or measuring each body.
    if (max(map(len, bodies)) * 4 + extra_bytes) * max_entries <= max_bytes:
        return [(start, min(start + max_entries, count)) for start in range(0, count, max_entries)], []
    batches: list[tuple[int, int]] = []
    too_large: list[int] = []
    start, used = 0, 0
    for position, body in enumerate(bodies):
        size = _size(body) + extra_bytes
        if size > max_bytes:
            if position > start:
                batches.append((start, position))
            too_large.append(position)
            start, used = position + 1, 0
            continue
        if position - start == max_entries or used + size > max_bytes:
            batches.append((start, position))
            start, used = position, 0
        used += size
    if start < count:
        batches.append((start, count))
    return batches, too_large


@dataclass
class SendReport:
    """What ``SqsSender.send`` did: counts and every failure, by error message."""

    sent: int = 0
    calls: int = 0
    retried: int = 0
    failures: dict[str, list[int]] = field(default_factory=dict)

    def fail(self, position: int, error: str) -> None:
        self.failures.setdefault(error, []).append(position)


class SqsSender:
    """Send many message bodies to one queue (see the module docstring for the behaviour).

    ``targets`` (same length as the bodies) provide the FIFO group and deduplication ids; ``sleep`` and
    ``rng`` are injectable so that tests and benchmarks do not wait for real backoff.
    """

    def __init__(
        self,
        client: Any,
        queue_url: str,
        *,
        concurrency: int = 8,
        attributes: dict[str, dict[str, str]] | None = None,
        dedup_seed: str = "",
        fifo_group_default: str = "starfleet",
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.concurrency = max(1, concurrency)
        self.attributes = attributes or {}
        self.fifo = is_fifo(queue_url)
        self.dedup_seed = dedup_seed
        self.fifo_group_default = fifo_group_default
        self.max_attempts = max(1, max_attempts)
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._lock = threading.Lock()
        self._queue_error: str | None = None

    def send(self, bodies: Sequence[str], targets: Sequence[tuple[str | None, str | None]] | None = None) -> SendReport:
        """Send every body; never raises for a failed message (it is in the report instead)."""
        report = SendReport()
        if self.fifo and (targets is None or len(targets) != len(bodies)):
            raise ValueError("FIFO queues need the targets of the bodies (group and deduplication ids)")
        batches, too_large = cut_batches(bodies, extra_bytes=attributes_size(self.attributes))
        for position in too_large:
            report.fail(
                position,
                f"message of {_size(bodies[position])} bytes (plus attributes) exceeds SQS's limit of"
                f" {MAX_BATCH_BYTES} bytes; shorten the template",
            )
        entries = self.build_entries(bodies, targets)
        self._queue_error = None
        if self.concurrency == 1 or len(batches) == 1:
            for batch in batches:
                self._send_batch(batch, entries, report)
        else:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="sqs-send") as pool:
                for future in [pool.submit(self._send_batch, b, entries, report) for b in batches]:
                    future.result()
        return report

    def build_entries(
        self, bodies: Sequence[str], targets: Sequence[tuple[str | None, str | None]] | None = None
    ) -> list[dict[str, Any]]:
        """One ``SendMessageBatch`` entry per body, in one pass (the attributes dict is shared)."""
        ids = position_ids(len(bodies))  # longer than bodies: zip stops at the last body
        attributes = self.attributes
        with collector_paused():  # tens of thousands of dicts and no cycles
            if self.fifo:
                assert targets is not None
                return [self._fifo_entry(i, body, t) for i, body, t in zip(ids, bodies, targets, strict=False)]
            if attributes:
                return [
                    {"Id": i, "MessageBody": body, "MessageAttributes": attributes}
                    for i, body in zip(ids, bodies, strict=False)
                ]
            return [{"Id": i, "MessageBody": body} for i, body in zip(ids, bodies, strict=False)]

    # -- one batch ----------------------------------------------------------------------------------

    def _fifo_entry(self, entry_id: str, body: str, target: tuple[str | None, str | None]) -> dict[str, Any]:
        account_id, region = target
        key = f"{self.dedup_seed}\x1f{account_id or ''}\x1f{region or ''}"
        entry: dict[str, Any] = {
            "Id": entry_id,
            "MessageBody": body,
            "MessageGroupId": account_id or self.fifo_group_default,
            "MessageDeduplicationId": hashlib.sha256(key.encode()).hexdigest(),
        }
        if self.attributes:
            entry["MessageAttributes"] = self.attributes
        return entry

    def _send_batch(self, batch: tuple[int, int], entries: Sequence[dict[str, Any]], report: SendReport) -> None:
        start, stop = batch
        pending = dict(zip(range(start, stop), entries[start:stop], strict=True))  # position in the unit -> entry
        errors: dict[int, str] = {}  # position -> why it has not been delivered (yet)
        calls = retried = 0
        for attempt in range(self.max_attempts):
            if self._queue_error is not None:
                errors.update(dict.fromkeys(pending, self._queue_error))
                break
            if attempt:
                retried += len(pending)
                self.sleep(self.backoff_seconds * (2 ** (attempt - 1)) * (1 + self.rng.random()))
            calls += 1
            try:
                response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=list(pending.values()))
            except Exception as exc:
                message = f"SendMessageBatch failed: {type(exc).__name__}: {exc}"
                errors.update(dict.fromkeys(pending, message))
                code = _error_code(exc)
                if code in QUEUE_LEVEL_CODES:
                    self._queue_error = message  # every other batch would fail the same way: stop
                    break
                if code is not None and code not in RETRYABLE_CODES:
                    break  # an AWS error botocore already retried or judged final
                continue  # connection trouble or throttling: try again after a pause
            retry: dict[int, dict[str, Any]] = {}
            failed: set[int] = set()
            for item in response.get("Failed") or []:
                position = int(item["Id"])
                failed.add(position)
                errors[position] = f"{item.get('Code', 'Error')}: {item.get('Message', '')}".rstrip(": ")
                if not item.get("SenderFault") or item.get("Code") in RETRYABLE_CODES:
                    retry[position] = pending[position]
            for position in pending.keys() - failed:
                errors.pop(position, None)  # delivered
            pending = retry
            if not pending:
                break
        with self._lock:
            report.calls += calls
            report.retried += retried
            report.sent += (stop - start) - len(errors)
            for position, error in errors.items():
                report.fail(position, error)


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return (response.get("Error") or {}).get("Code")
    return None
