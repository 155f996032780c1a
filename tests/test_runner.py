"""Running a ship for one target: assigned keys as Starbase sets them, outcomes instead of exceptions."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.outcomes import FAILED, INVALID, SUCCEEDED
from starfleet_airflow.core.registry import LoadedShip, load_ships
from starfleet_airflow.core.render import render_body
from starfleet_airflow.core.runner import assign_target, run_ship_for_target
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.core.templates import load_template_file

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = FIXTURES / "templates_good"


@pytest.fixture(scope="module")
def ships() -> dict[str, LoadedShip]:
    registry = load_ships(load_configuration(FIXTURES / "config_good"), FIXTURES / "ships_good", use_entry_points=False)
    assert registry.errors == []
    return registry.ships


def template(relative: str) -> dict:
    loaded = load_template_file(TEMPLATES / relative)
    assert loaded.raw is not None, loaded.error
    return loaded.raw


def test_account_ship_dry_run_then_commit_against_moto(ships: dict[str, LoadedShip]) -> None:
    raw = template("AccountNoteShip/production.yaml")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="account-notes")
        session = boto3.Session(region_name="us-east-1")

        dry = run_ship_for_target(ships["AccountNoteShip"], raw, "333333333333", None, False, aws_session=session)
        assert dry.status == SUCCEEDED
        assert dry.detail == {"account": "333333333333", "key": "333333333333/ProductionNote.txt", "written": False}
        assert s3.list_objects_v2(Bucket="account-notes").get("KeyCount") == 0

        done = run_ship_for_target(
            ships["AccountNoteShip"], raw, "333333333333", None, True, aws_session=session, template="prod.yaml"
        )
        assert (done.template, done.status, done.error) == ("prod.yaml", SUCCEEDED, None)
        body = s3.get_object(Bucket="account-notes", Key="333333333333/ProductionNote.txt")["Body"].read()
        assert body == b"hello production"
    assert "StarbaseAssignedAccount" not in raw  # the caller's template is never modified


def test_a_failing_target_is_an_outcome(ships: dict[str, LoadedShip]) -> None:
    raw = template("AccountNoteShip/nested/everywhere.yaml")
    outcome = run_ship_for_target(ships["AccountNoteShip"], raw, "222222222222", None, False)
    assert outcome.to_dict() == {
        "template": "EverywhereNote",
        "account_id": "222222222222",
        "region": None,
        "status": FAILED,
        "error": "RuntimeError: asked to fail in 222222222222",
        "detail": None,
        "changes": None,  # the ship did not say what it would change
    }
    assert run_ship_for_target(ships["AccountNoteShip"], raw, "333333333333", None, False).ok


def test_invalid_payload_and_missing_target_parts(ships: dict[str, LoadedShip]) -> None:
    raw = {**template("RegionNoteShip/regions.yaml"), "IncludeRegions": ["us-east-1", "nowhere-1"]}
    del raw["Note"]
    outcome = run_ship_for_target(ships["RegionNoteShip"], raw, "222222222222", "us-east-1", False)
    assert outcome.status == INVALID
    assert outcome.error == (
        "Note: Missing data for required field.; "
        "IncludeRegions: unknown region nowhere-1; expected AWS region names such as us-east-1"
    )
    good = template("RegionNoteShip/regions.yaml")
    assert run_ship_for_target(ships["RegionNoteShip"], good, "222222222222", None, False).error == (
        "ACCOUNT_REGION ships need a region"
    )
    assert run_ship_for_target(ships["AccountNoteShip"], good, None, None, False).error == (
        "ACCOUNT ships need an account id"
    )


def test_region_and_single_invocation_ships_see_what_starbase_sends(ships: dict[str, LoadedShip]) -> None:
    region = run_ship_for_target(
        ships["RegionNoteShip"], template("RegionNoteShip/regions.yaml"), "2" * 12, "eu-west-1", True
    )
    assert region.detail == {"account": "2" * 12, "region": "eu-west-1", "commit": True}

    logical_date = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with STARFLEET_CONFIGURATION.serving(load_configuration(FIXTURES / "config_good")):
        single = run_ship_for_target(
            ships["SingleRunShip"],
            template("SingleRunShip/only.yaml"),
            None,
            None,
            False,
            run_context=RunContext(logical_date=logical_date, extra={"invoked_by": "test"}),
        )
    assert single.detail == {
        "template": "OnlyOnce",
        "commit": False,
        "logical_date": "2026-11-01T00:00:00+00:00",
        "invoked_by": "test",
        "configured_prefix": "SingleRunShip/only.yaml",
    }


@pytest.mark.parametrize(
    ("strategy", "account", "region"),
    [
        (FanOutStrategy.SINGLE_INVOCATION, None, None),
        (FanOutStrategy.ACCOUNT, "222222222222", None),
        (FanOutStrategy.ACCOUNT_REGION, "222222222222", "eu-west-1"),
    ],
)
def test_inline_payload_equals_the_sqs_body(strategy: FanOutStrategy, account: str | None, region: str | None) -> None:
    """An inline run and a Lambda fed by SQS receive the same payload for the same target."""
    raw = template("RegionNoteShip/regions.yaml")
    assert assign_target(raw, strategy, account, region) == json.loads(render_body(raw, account, region))
