"""The Lambda handler's batches: every record's failure stays that record's, FIFO groups keep their order.

Events have the shape Lambda's SQS event source mapping delivers (``messageId``, ``body``,
``attributes.MessageGroupId`` for FIFO queues, ``messageAttributes``); the ship is the factory tests'
``AccountRecorderShip``, which with ``STARFLEET_COMMIT=true`` writes one object per target to the
template's ``NoteBucket`` (moto), so a test sees exactly which records ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.devtools.synthetic_org import sample_organisation
from starfleet_airflow.lambda_worker import handler as lambda_handler
from tests.airflow_fixtures import Deployment

SHIP = "AccountRecorderShip"
ACCOUNTS = ["100000000001", "100000000002", "100000000003", "100000000004"]


def body(account: Any, bucket: str, **extra: Any) -> str:
    template = {
        "TemplateName": f"Note-{bucket}",
        "TemplateDescription": "one note",
        "IncludeAccounts": {"ByIds": ACCOUNTS},
        "NoteBucket": f"note-{bucket}",
        **extra,
    }
    return json.dumps({**template, "StarbaseAssignedAccount": account})


def record(message_id: str, text: str, *, group: str | None = None, ship: str | None = SHIP) -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"}
    if group is not None:
        attributes |= {"MessageGroupId": group, "MessageDeduplicationId": message_id, "SequenceNumber": "1"}
    message_attributes = {}
    if ship is not None:
        message_attributes["StarfleetShip"] = {"stringValue": ship, "dataType": "String"}
    queue = "notes.fifo" if group is not None else "notes"
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": text,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        "awsRegion": "us-east-1",
    }


@pytest.fixture
def airflow_options() -> dict[str, Any]:
    """The ship section's ``Airflow`` mapping (overridden by tests that need an option)."""
    return {}


@pytest.fixture
def buckets(deployment: Deployment, monkeypatch: pytest.MonkeyPatch, airflow_options: dict[str, Any]) -> Iterator[Any]:
    """A committing Lambda of AccountRecorderShip; yields ``written(bucket) -> keys``."""
    deployment.write_index(sample_organisation())
    deployment.ships[SHIP] = {
        "Enabled": True,
        "TemplatePrefix": f"{SHIP}/",
        "InvocationQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/notes",
        "Airflow": airflow_options,
    }
    deployment.write()
    monkeypatch.setenv("STARFLEET_SHIP", SHIP)
    monkeypatch.setenv("STARFLEET_COMMIT", "true")
    lambda_handler._LOADED.clear()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        names = ["good-1", "good-2", "a1", "a3", "b1", "b2", "mine", "other", "inside", "outside", "unknown"]
        for name in names:
            s3.create_bucket(Bucket=f"note-{name}")

        def written(bucket: str) -> list[str]:
            return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=f"note-{bucket}").get("Contents", []))

        yield written


def failures(response: dict[str, Any]) -> list[str]:
    return sorted(item["itemIdentifier"] for item in response["batchItemFailures"])


def test_poison_records_fail_alone_and_the_good_ones_run(buckets: Any) -> None:
    deep = '{"TemplateName": ' + "[" * 100_000 + "]" * 100_000 + "}"
    event = {
        "Records": [
            record("good-1", body(ACCOUNTS[0], "good-1")),
            record("number", body(123456789012, "good-1")),
            record("deep", deep),
            record("not-json", "{oops"),
            record("nan", body(ACCOUNTS[1], "good-1", Threshold=float("nan"))),
            record("list", "[1, 2]"),
            record("region-object", body(ACCOUNTS[1], "good-1", StarbaseAssignedRegion={"a": 1})),
            record("good-2", body(ACCOUNTS[1], "good-2")),
        ]
    }

    response = lambda_handler.handler(event, None)

    assert failures(response) == sorted(["number", "deep", "not-json", "nan", "list", "region-object"])
    assert buckets("good-1") == [f"{ACCOUNTS[0]}.txt"] and buckets("good-2") == [f"{ACCOUNTS[1]}.txt"]


def test_fifo_a_failed_record_returns_the_rest_of_its_group_unprocessed(buckets: Any) -> None:
    a, b = ACCOUNTS[0], ACCOUNTS[1]
    event = {
        "Records": [
            record("a1", body(a, "a1"), group=a),
            record("b1", body(b, "b1"), group=b),
            record("a2", body(a, "a1", FailFor=[a]), group=a),
            record("b2", body(b, "b2"), group=b),
            record("a3", body(a, "a3"), group=a),
        ]
    }

    response = lambda_handler.handler(event, None)

    assert failures(response) == ["a2", "a3"]
    assert buckets("a1") == [f"{a}.txt"], "the group's records before the failure ran"
    assert buckets("a3") == [], "the record after the failure did not run: it returns to the queue, in order"
    assert buckets("b1") == [f"{b}.txt"] and buckets("b2") == [f"{b}.txt"], "other groups carry on"


def test_a_record_for_another_ship_is_refused(buckets: Any) -> None:
    event = {
        "Records": [
            record("mine", body(ACCOUNTS[0], "mine")),
            record("other", body(ACCOUNTS[0], "other"), ship="IamRoleWorkerShip"),
            record("starbase", body(ACCOUNTS[1], "mine"), ship=None),  # Starfleet's Starbase sets no attribute
        ]
    }

    response = lambda_handler.handler(event, None)

    assert failures(response) == ["other"]
    assert buckets("other") == []
    assert buckets("mine") == [f"{ACCOUNTS[0]}.txt", f"{ACCOUNTS[1]}.txt"]


def test_an_event_that_is_not_an_sqs_batch_is_refused_whole(buckets: Any) -> None:
    for event in ({}, {"Records": "x"}, {"Records": [{"body": "{}"}]}, []):
        with pytest.raises(lambda_handler.LambdaEventError, match="expected an SQS event"):
            lambda_handler.handler(event, None)


def targets_event() -> dict[str, Any]:
    """A member account the template selects, one it does not, and an account outside the organisation."""
    selected = json.dumps({**json.loads(body(ACCOUNTS[0], "inside")), "IncludeAccounts": {"ByIds": [ACCOUNTS[0]]}})
    not_selected = json.dumps(
        {**json.loads(selected), "StarbaseAssignedAccount": ACCOUNTS[1], "NoteBucket": "note-outside"}
    )
    stranger = json.dumps(
        {**json.loads(selected), "StarbaseAssignedAccount": "999999999999", "NoteBucket": "note-unknown"}
    )
    return {"Records": [record("inside", selected), record("outside", not_selected), record("unknown", stranger)]}


def test_by_default_the_lambda_trusts_the_queue_as_starfleet_does(buckets: Any) -> None:
    response = lambda_handler.handler(targets_event(), None)
    assert failures(response) == []
    assert buckets("outside") == [f"{ACCOUNTS[1]}.txt"] and buckets("unknown") == ["999999999999.txt"]


@pytest.mark.parametrize("airflow_options", [{"LambdaTargetCheck": "INDEX"}])
def test_with_the_index_check_only_targets_the_template_selects_run(buckets: Any, caplog: Any) -> None:
    response = lambda_handler.handler(targets_event(), None)
    assert failures(response) == ["outside", "unknown"]
    assert buckets("inside") == [f"{ACCOUNTS[0]}.txt"] and buckets("outside") == buckets("unknown") == []
    assert f"account {ACCOUNTS[1]} is not selected by the template's IncludeAccounts/ExcludeAccounts" in caplog.text
    assert "StarbaseAssignedAccount 999999999999 is not an account of the account index" in caplog.text
