"""The loopback SQS endpoint of the development tools: real boto3 calls, counted, SQS's limits enforced."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from starfleet_airflow.delivery.sqs import SqsSender
from starfleet_airflow.devtools.sqs_endpoint import Counts, serve


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Counts]]:
    server, counts = serve(0, latency=0.0)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", counts
    finally:
        server.shutdown()
        server.server_close()


def client(url: str) -> Any:
    return boto3.client(
        "sqs", region_name="us-east-1", endpoint_url=url, aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_the_sender_through_boto3_costs_ceil_n_over_10_calls(endpoint: tuple[str, Counts]) -> None:
    url, counts = endpoint
    bodies = [f'{{"n": {i}}}' for i in range(1234)]
    report = SqsSender(client(url), f"{url}/123456789012/bench", concurrency=4).send(bodies)
    assert report.sent == 1234 and not report.failures
    stats = counts.as_dict()
    assert stats["calls"] == math.ceil(1234 / 10) == report.calls
    assert stats["messages"] == 1234 and stats["too_many"] == stats["too_long"] == 0


def test_batches_over_sqs_limits_are_refused_and_counted(endpoint: tuple[str, Counts]) -> None:
    url, counts = endpoint
    sqs = client(url)
    queue = f"{url}/123456789012/bench"
    with pytest.raises(ClientError, match="TooManyEntriesInBatchRequest"):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])
    with pytest.raises(ClientError, match="BatchRequestTooLong"):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": "x" * 30_000} for i in range(9)])
    stats = counts.as_dict()
    assert (stats["calls"], stats["messages"], stats["too_many"], stats["too_long"]) == (2, 0, 1, 1)
