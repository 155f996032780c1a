"""SQS delivery: batching within SQS's limits, retries of failed entries, FIFO ids, concurrency.

moto plays SQS where its behaviour is enough; where a test needs SQS to misbehave on cue (partial
batch failures, throttling, a lost connection) a small fake client stands in for the AWS API.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from starfleet_airflow.airflow.connections import sqs_client
from starfleet_airflow.core.render import BodyRenderer
from starfleet_airflow.delivery.sqs import SqsSender
from starfleet_airflow.delivery.sqs_batches import (
    MAX_BATCH_BYTES,
    attributes_size,
    cut_batches,
    message_attributes,
    queue_region,
)

TEMPLATE = {"TemplateName": "T", "TemplateDescription": "d", "IncludeAccounts": {"AllAccounts": True}}
TARGETS = [(f"{100000000000 + i}", region) for i in range(7) for region in ("eu-west-1", "us-east-1", "us-west-2")]


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", []):
        messages.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def count_calls(client: Any) -> list[int]:
    """Entries per SendMessageBatch call, observed through botocore's own event system."""
    sizes: list[int] = []
    client.meta.events.register(
        "provide-client-params.sqs.SendMessageBatch", lambda params, **_: sizes.append(len(params["Entries"]))
    )
    return sizes


def test_messages_reach_the_queue_in_minimal_calls() -> None:
    bodies = BodyRenderer(TEMPLATE).bodies(TARGETS)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="ship")["QueueUrl"]
        calls = count_calls(sqs)
        attributes = message_attributes(dag_run_id="manual__1", ship="Ship", template="Ship/t.yaml")
        report = SqsSender(sqs, queue_url, concurrency=4, attributes=attributes).send(bodies, TARGETS)
        received = drain(sqs, queue_url)
    assert report.sent == len(TARGETS) == 21 and report.failures == {}
    assert report.calls == len(calls) == math.ceil(21 / 10) and sorted(calls) == [1, 10, 10]
    assert Counter(m["Body"] for m in received) == Counter(bodies)
    assert {m["MessageAttributes"]["StarfleetShip"]["StringValue"] for m in received} == {"Ship"}


def test_fifo_queues_get_account_groups_and_deterministic_deduplication() -> None:
    bodies = BodyRenderer(TEMPLATE).bodies(TARGETS)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="ship.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        sender = SqsSender(sqs, queue_url, dedup_seed="run-1\x1fShip/t.yaml")
        first = sender.send(bodies, TARGETS)
        again = sender.send(bodies, TARGETS)  # a retried task: same ids, SQS drops the duplicates
        received = drain(sqs, queue_url)
    assert first.sent == again.sent == len(TARGETS)
    assert len(received) == len(TARGETS)
    assert Counter(m["Attributes"]["MessageGroupId"] for m in received) == Counter(a for a, _ in TARGETS)
    assert len({m["Attributes"]["MessageDeduplicationId"] for m in received}) == len(TARGETS)


def test_a_message_too_large_fails_alone_with_a_clear_error() -> None:
    huge = BodyRenderer({**TEMPLATE, "Blob": "x" * MAX_BATCH_BYTES}).bodies(TARGETS[:1])
    bodies = BodyRenderer(TEMPLATE).bodies(TARGETS[1:4])
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="ship")["QueueUrl"]
        report = SqsSender(sqs, queue_url).send([bodies[0], huge[0], *bodies[1:]], TARGETS[:4])
        received = drain(sqs, queue_url)
    assert report.sent == 3 and len(received) == 3
    [(error, positions)] = report.failures.items()
    assert positions == [1] and "exceeds SQS's limit of 262144 bytes" in error


def test_batches_respect_the_byte_limit() -> None:
    bodies = ["x" * 30_000] * 25 + ["y" * 100] * 3
    extra = attributes_size(message_attributes(dag_run_id="r", ship="s", template="t"))
    batches, too_large = cut_batches(bodies, extra_bytes=extra)
    assert too_large == []
    assert [stop - start for start, stop in batches] == [8, 8, 8, 4]
    for start, stop in batches:
        assert sum(len(b) + extra for b in bodies[start:stop]) <= MAX_BATCH_BYTES
        assert stop - start <= 10
    assert cut_batches(["z"] * 25) == ([(0, 10), (10, 20), (20, 25)], [])


def test_queue_region_comes_from_the_url() -> None:
    assert queue_region("https://sqs.eu-west-1.amazonaws.com/123456789012/q") == "eu-west-1"
    assert queue_region("https://eu-central-2.queue.amazonaws.com/123456789012/q") == "eu-central-2"
    assert queue_region("https://sqs-fips.us-gov-west-1.amazonaws.com/123456789012/q") == "us-gov-west-1"
    assert queue_region("http://127.0.0.1:5000/123456789012/q") is None


def test_the_sqs_hook_client_reaches_the_queue_in_its_region() -> None:
    with mock_aws():
        home = boto3.client("sqs", region_name="eu-west-1")
        queue_url = home.create_queue(QueueName="far-away")["QueueUrl"]
        client = sqs_client(queue_url, "aws_default", concurrency=16)
        assert client.meta.region_name == "eu-west-1"
        assert client.meta.config.max_pool_connections == 16
        report = SqsSender(client, queue_url).send(["{}"], [(None, None)])
        assert report.sent == 1 and len(drain(home, queue_url)) == 1


# --------------------------------------------------------------------------------------------------
# SQS misbehaving on cue
# --------------------------------------------------------------------------------------------------


class FlakySqs:
    """A stand-in for the SQS API: scripted per-entry failures and exceptions, calls recorded."""

    def __init__(
        self,
        script: list[Any] | None = None,
        fail_bodies: dict[str, tuple[str, bool]] | None = None,
        *,
        unconfirmed: set[str] | None = None,
        barrier: threading.Barrier | None = None,
    ) -> None:
        self.script = list(script or [])  # per call: None (normal) or an exception to raise
        self.fail_bodies = dict(fail_bodies or {})  # body -> (code, sender_fault), until consumed when retryable
        self.unconfirmed = set(unconfirmed or ())  # bodies left out of both Successful and Failed
        self.barrier = barrier  # every call waits here until ``parties`` calls are in flight together
        self.calls: list[list[dict[str, Any]]] = []
        self.delivered: list[str] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            self.calls.append([dict(e) for e in Entries])
            action = self.script.pop(0) if self.script else None
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.barrier is not None:
                self.barrier.wait()  # raises BrokenBarrierError (after its timeout) if calls never overlap
            if action is not None:
                raise action
            successful, failed = [], []
            with self._lock:
                for entry in Entries:
                    if entry["MessageBody"] in self.unconfirmed:
                        self.delivered.append(entry["MessageBody"])  # SQS may or may not have it: unknown
                        continue
                    scripted = self.fail_bodies.get(entry["MessageBody"])
                    if scripted:
                        code, sender_fault = scripted
                        if not sender_fault:
                            del self.fail_bodies[entry["MessageBody"]]  # succeeds next time
                        failed.append({"Id": entry["Id"], "SenderFault": sender_fault, "Code": code, "Message": "no"})
                    else:
                        self.delivered.append(entry["MessageBody"])
                        successful.append({"Id": entry["Id"], "MessageId": "m", "MD5OfMessageBody": "x"})
            return {"Successful": successful, "Failed": failed}
        finally:
            with self._lock:
                self.in_flight -= 1


def sender(client: Any, **kwargs: Any) -> SqsSender:
    return SqsSender(client, "https://sqs.us-east-1.amazonaws.com/1/q", sleep=lambda seconds: None, **kwargs)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} says no"}}, "SendMessageBatch")


def test_entries_sqs_fails_on_its_side_are_retried_and_sender_faults_reported() -> None:
    bodies = [f"body-{i}" for i in range(25)]
    fake = FlakySqs(fail_bodies={"body-3": ("InternalError", False), "body-17": ("InvalidMessageContents", True)})
    report = sender(fake).send(bodies)
    assert sorted(fake.delivered) == sorted(b for b in bodies if b != "body-17")
    assert report.sent == 24 and report.retried == 1
    assert report.failures == {"InvalidMessageContents: no": [17]}
    assert report.calls == len(fake.calls) == 4  # three batches, one retry of one entry
    # Batches go out concurrently, so the retry need not be the last call: it is the second call that
    # carries body-3 (its batch's thread makes both calls, in order), and it carries nothing else.
    with_body_3 = [
        [e["MessageBody"] for e in call] for call in fake.calls if any(e["MessageBody"] == "body-3" for e in call)
    ]
    assert len(with_body_3) == 2 and len(with_body_3[0]) == 10 and with_body_3[1] == ["body-3"]


def test_lost_connections_are_retried_and_queue_errors_stop_the_unit() -> None:
    bodies = [f"body-{i}" for i in range(30)]
    flaky = FlakySqs(script=[EndpointConnectionError(endpoint_url="https://sqs")])
    report = sender(flaky, concurrency=1).send(bodies)
    assert report.sent == 30 and report.failures == {} and report.calls == 4

    gone = FlakySqs(script=[client_error("AWS.SimpleQueueService.NonExistentQueue")] * 10)
    report = sender(gone, concurrency=1).send(bodies)
    assert report.sent == 0 and len(gone.calls) == 1, "no further call once the queue is known to be unusable"
    [(error, positions)] = report.failures.items()
    assert "NonExistentQueue" in error and positions == list(range(30))


def test_retries_give_up_after_the_last_attempt() -> None:
    fake = FlakySqs(script=[client_error("ThrottlingException")] * 10)
    report = sender(fake, concurrency=1, max_attempts=3).send(["a", "b"])
    assert report.sent == 0 and report.calls == 3 and report.retried == 4
    assert list(report.failures.values()) == [[0, 1]]


def test_batches_are_sent_concurrently_up_to_the_limit() -> None:
    # Every call waits until four are in flight at once: only concurrent sending gets past the barrier,
    # whatever the thread timing (40 calls, 10 rounds of 4).
    fake = FlakySqs(barrier=threading.Barrier(4, timeout=30))
    report = sender(fake, concurrency=4).send([f"b{i}" for i in range(400)])
    assert report.sent == 400 and report.calls == 40
    assert fake.max_in_flight == 4
    serial = FlakySqs()
    sender(serial, concurrency=1).send([f"b{i}" for i in range(50)])
    assert serial.max_in_flight == 1


def test_fifo_requires_targets() -> None:
    with pytest.raises(ValueError, match="FIFO"):
        SqsSender(FlakySqs(), "https://sqs.us-east-1.amazonaws.com/1/q.fifo").send(["a"])


def test_entries_sqs_neither_confirms_nor_fails_are_counted_as_unknown() -> None:
    bodies = [f"body-{i}" for i in range(25)]
    fake = FlakySqs(unconfirmed={"body-4", "body-11", "body-20"})
    report = sender(fake).send(bodies)
    assert report.sent == 22
    [(error, positions)] = report.failures.items()
    assert positions == [4, 11, 20]
    assert error == (
        "outcome unknown: SQS listed this entry neither in Successful nor in Failed; it may or may not be on the queue"
    )
