"""Which templates S3 event notifications name for a ship: bucket, prefix and event filtering."""

from __future__ import annotations

import json
import logging

import pytest

from starfleet_airflow.aws.s3_events import message_bodies_from_asset_events, template_keys_for_ship


def s3_body(*records: tuple[str, str, str]) -> str:
    return json.dumps(
        {
            "Records": [
                {"eventName": name, "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10}}}
                for bucket, key, name in records
            ]
        }
    )


def keys(bodies: list[str], prefix: str = "IamRoleWorkerShip/") -> list[str]:
    return template_keys_for_ship(bodies, bucket="templates", template_prefix=prefix, ship_name="IamRoleWorkerShip")


def test_keeps_created_yaml_under_the_prefix_url_decoded() -> None:
    body = s3_body(
        ("templates", "IamRoleWorkerShip/team+a/read%2Donly.yaml", "ObjectCreated:Put"),
        ("templates", "IamRoleWorkerShip/audit.yaml", "ObjectCreated:CompleteMultipartUpload"),
    )
    assert keys([body]) == ["IamRoleWorkerShip/team a/read-only.yaml", "IamRoleWorkerShip/audit.yaml"]


def test_ignores_other_buckets_prefixes_suffixes_and_removals(caplog: pytest.LogCaptureFixture) -> None:
    body = s3_body(
        ("other-bucket", "IamRoleWorkerShip/a.yaml", "ObjectCreated:Put"),
        ("templates", "AwsConfigWorkerShip/a.yaml", "ObjectCreated:Put"),
        ("templates", "IamRoleWorkerShip/notes.txt", "ObjectCreated:Put"),
        ("templates", "IamRoleWorkerShip/gone.yaml", "ObjectRemoved:Delete"),
    )
    with caplog.at_level(logging.INFO):
        assert keys([body]) == []
    text = caplog.text
    assert "not the template bucket" in text
    assert "outside TemplatePrefix" in text
    assert "templates end in .yaml" in text
    assert "only ObjectCreated starts a run" in text


def test_single_template_prefix_matches_only_that_key() -> None:
    body = s3_body(
        ("templates", "Gen/generate.yaml", "ObjectCreated:Put"),
        ("templates", "Gen/generate.yaml.bak.yaml", "ObjectCreated:Put"),
    )
    assert keys([body], prefix="Gen/generate.yaml") == ["Gen/generate.yaml"]


def test_sns_envelope_test_events_and_duplicates() -> None:
    inner = s3_body(("templates", "IamRoleWorkerShip/a.yaml", "ObjectCreated:Put"))
    sns = json.dumps({"Type": "Notification", "Message": inner})
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "templates"})
    assert keys([sns, test_event, inner, "not json"]) == ["IamRoleWorkerShip/a.yaml"]


def test_bodies_from_trigger_asset_events() -> None:
    class Event:
        extra = {
            "from_trigger": True,
            "payload": {"status": "success", "message_batch": [{"Body": "b1"}, {"Body": "b2"}]},
        }

    manual = {"extra": {}}
    assert message_bodies_from_asset_events([Event(), manual]) == ["b1", "b2"]
