"""SQS delivery: Starfleet-compatible messages on the ship's queue, batched and sent concurrently.

* ``SendMessageBatch`` with up to 10 entries per call and at most 256 KiB per call (bodies plus message
  attributes), so a run costs ceil(messages / 10) calls when nothing fails: the physical minimum.
* Calls go out concurrently (``Airflow.Concurrency`` threads sharing one thread-safe client), because a
  real SQS round trip is ~15 ms and 8,500 of them in a row take two minutes.
* Entries SQS reports as failed for a reason on its side (throttling, internal errors) are sent again
  with exponential backoff; what still fails, or fails for the sender's fault, is reported per target.
  Only entries SQS lists as ``Successful`` count as sent: one a response leaves out of both lists is
  reported with an unknown outcome (never counted as sent, never sent again).
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
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow.core.gc_pause import collector_paused
from starfleet_airflow.delivery.sqs_batches import (
    MAX_BATCH_BYTES,
    attributes_size,
    cut_batches,
    is_fifo,
    message_size,
    position_ids,
)

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


UNCONFIRMED = (
    "outcome unknown: SQS listed this entry neither in Successful nor in Failed; it may or may not be on the queue"
)


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
                f"message of {message_size(bodies[position])} bytes (plus attributes) exceeds SQS's limit of"
                f" {MAX_BATCH_BYTES} bytes; shorten the template",
            )
        entries = self.build_entries(bodies, targets)
        self._queue_error = None
        workers = min(self.concurrency, len(batches))
        if workers <= 1:
            for batch in batches:
                self._send_batch(batch, entries, report)
            return report
        # Each sending thread takes the next batch until none is left: one task per thread, not one
        # future per call (8,500 futures cost more than the calls themselves on a fast endpoint).
        remaining = iter(batches)
        lock = threading.Lock()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                with lock:
                    batch = next(remaining, None)
                if batch is None:
                    return
                self._send_batch(batch, entries, report)

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sqs-send")
        try:
            for future in [pool.submit(work) for _ in range(workers)]:
                future.result()
        except BaseException:
            # The task's execution_timeout (or a kill) stops the unit now: no thread takes another batch,
            # calls in flight end within botocore's own timeouts; nothing waits for them.
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
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
                if position not in pending:
                    continue  # an id this call did not send
                failed.add(position)
                errors[position] = f"{item.get('Code', 'Error')}: {item.get('Message', '')}".rstrip(": ")
                if not item.get("SenderFault") or item.get("Code") in RETRYABLE_CODES:
                    retry[position] = pending[position]
            confirmed = {int(item["Id"]) for item in response.get("Successful") or []} & pending.keys()
            for position in confirmed - failed:
                errors.pop(position, None)  # delivered
            for position in pending.keys() - failed - confirmed:
                errors[position] = UNCONFIRMED  # not sent again: it may be on the queue already
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
