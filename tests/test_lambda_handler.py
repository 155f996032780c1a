"""The Lambda handler consumes exactly what SQS delivery sends and reports partial batch failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.core.render import BodyRenderer
from starfleet_airflow.delivery.sqs import SqsSender
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from starfleet_airflow.lambda_worker import handler as lambda_handler
from tests.airflow_fixtures import Deployment

ACCOUNTS = ["100000000001", "100000000002", "100000000003"]
TEMPLATE = {
    "TemplateName": "Notes",
    "TemplateDescription": "one note per account",
    "IncludeAccounts": {"ByIds": ACCOUNTS},
    "FailFor": [ACCOUNTS[1]],
    "NoteBucket": "notes",
}


@pytest.fixture
def lambda_env(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Path:
    deployment.write_index(sample_organisation())
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "InvocationQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/notes",
    }
    config_dir = deployment.write()
    monkeypatch.setenv("STARFLEET_SHIP", "AccountRecorderShip")
    monkeypatch.delenv("STARFLEET_COMMIT", raising=False)
    lambda_handler._LOADED.clear()
    return config_dir


def sqs_event(sqs: Any, queue_url: str) -> dict[str, Any]:
    """The Lambda event SQS builds from the queue's messages (records carry messageId and body)."""
    records = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        records.extend({"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"} for m in batch)
    return {"Records": records}


def deliver_and_handle(commit: str | None, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[str], dict]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="notes")
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="notes")["QueueUrl"]
        targets = [(account, None) for account in ACCOUNTS]
        SqsSender(sqs, queue_url).send(BodyRenderer(TEMPLATE).bodies(targets), targets)
        event = sqs_event(sqs, queue_url)
        event["Records"].append({"messageId": "not-json", "body": "{oops"})
        event["Records"].append({"messageId": "no-account", "body": json.dumps({**TEMPLATE, "FailFor": []})})
        if commit is not None:
            monkeypatch.setenv("STARFLEET_COMMIT", commit)
        response = lambda_handler.handler(event, None)
        written = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="notes").get("Contents", []))
    ids = {json.loads(r["body"]).get("StarbaseAssignedAccount"): r["messageId"] for r in event["Records"][:3]}
    return response, written, ids


@pytest.mark.usefixtures("lambda_env")
def test_failed_and_invalid_messages_only_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    response, written, ids = deliver_and_handle(None, monkeypatch)
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(
        [ids[ACCOUNTS[1]], "not-json", "no-account"]
    )
    assert written == [], "no commit: a dry run changes nothing"


@pytest.mark.usefixtures("lambda_env")
@pytest.mark.parametrize(("value", "commits"), [("true", True), ("TRUE", True), ("yes", False), ("", False)])
def test_commit_comes_from_the_environment_as_in_starfleet(
    monkeypatch: pytest.MonkeyPatch, value: str, commits: bool
) -> None:
    response, written, ids = deliver_and_handle(value, monkeypatch)
    assert written == ([f"{ACCOUNTS[0]}.txt", f"{ACCOUNTS[2]}.txt"] if commits else [])
    assert ids[ACCOUNTS[1]] in {f["itemIdentifier"] for f in response["batchItemFailures"]}


@pytest.mark.usefixtures("lambda_env")
def test_a_lambda_without_a_usable_ship_fails_the_whole_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STARFLEET_SHIP")
    with pytest.raises(lambda_handler.LambdaConfigurationError, match="STARFLEET_SHIP"):
        lambda_handler.handler({"Records": []})
    monkeypatch.setenv("STARFLEET_SHIP", "NoSuchShip")
    with pytest.raises(lambda_handler.LambdaConfigurationError, match="no ship named 'NoSuchShip'"):
        lambda_handler.handler({"Records": []})
