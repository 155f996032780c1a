"""The DAG file as Airflow parses it: one DAG per enabled ship, broken ships visible, no I/O at parse time."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from starfleet_airflow.airflow.dags import build_dags
from starfleet_airflow.airflow.naming import BROKEN_TAG, dag_id_for
from starfleet_airflow.airflow.schedules import FREQUENCY_CRON, build_schedule, describe_schedule
from starfleet_airflow.aws import locations
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.enums import EventBridgeFrequency, InvocationSource
from starfleet_airflow.core.registry import load_ships
from tests.airflow_fixtures import DAGS_FOLDER, FACTORY_SHIPS, REPO, Deployment

SAMPLE_CONFIG = REPO / "config"


def dagbag() -> Any:
    """A real DagBag over the repository's dags/ folder (the env says which configuration and ships)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.fixture
def sample_configuration(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("STARFLEET_CONFIG_DIR", raising=False)  # the DAG file's default: config/ next to dags/
    monkeypatch.delenv("STARFLEET_SHIPS_DIR", raising=False)  # the installed ships package
    return SAMPLE_CONFIG


def enabled_ship_names(config_dir: Path, ships_dir: Path | None = None) -> set[str]:
    registry = load_ships(load_configuration(config_dir), ships_dir)
    return set(registry.ships)


def test_dag_ids_derive_from_ship_names() -> None:
    assert dag_id_for("IamRoleWorkerShip") == "starfleet_iam_role_worker_ship"
    assert dag_id_for("AWSConfigShip") == "starfleet_aws_config_ship"
    assert dag_id_for("S3PublicAccessBlockWorkerShip") == "starfleet_s3_public_access_block_worker_ship"


def test_sample_configuration_gives_one_dag_per_enabled_ship(sample_configuration: Path) -> None:
    bag = dagbag()
    assert bag.import_errors == {}
    enabled = enabled_ship_names(sample_configuration)
    assert enabled, "the sample configuration enables ships"
    assert set(bag.dags) == {dag_id_for(name) for name in enabled}
    for name in enabled:
        dag = bag.dags[dag_id_for(name)]
        assert BROKEN_TAG not in dag.tags
        assert {"starfleet", name} <= set(dag.tags)
        assert [task.task_id for task in dag.tasks] == ["plan", "deliver", "report"]
        assert dag.max_active_runs >= 1 and dag.catchup is False
        assert name in dag.doc_md and "## Configuration" in dag.doc_md
        # Every sample ship is timed: its docs say what unpausing does (the trigger form's default).
        assert "Unpause on trigger" in dag.doc_md and "at full scope" in dag.doc_md


def test_dag_shape_and_options_follow_the_ship_section(deployment: Deployment) -> None:
    deployment.ships["RegionRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "RegionRecorderShip/",
        "InvocationQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/region",
        "InvocationSources": ["EVENTBRIDGE_TIMED_EVENT"],
        "EventBridgeTimedFrequency": "THIRTY_MIN",
        "Airflow": {
            "Retries": 4,
            "RetryDelaySeconds": 30,
            "MaxActiveRuns": 2,
            "Pool": "starfleet",
            "DefaultCommit": True,
        },
    }
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.ships["OnceRecorderShip"] = {
        "Enabled": False,
        "TemplatePrefix": "x/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.write()
    bag = dagbag()
    assert bag.import_errors == {}

    region = bag.dags["starfleet_region_recorder_ship"]
    assert set(region.tags) == {"starfleet", "RegionRecorderShip", "ACCOUNT_REGION", "delivery:SQS"}
    assert region.timetable.expression == "*/30 * * * *"
    assert region.max_active_runs == 2
    assert region.params["commit"] is True
    assert set(region.params.keys()) == {"commit", "templates", "accounts", "regions"}
    deliver = region.get_task("deliver")
    assert deliver.retries == 4 and deliver.retry_delay.total_seconds() == 30 and deliver.pool == "starfleet"
    assert region.get_task("report").trigger_rule == "all_done"

    account = bag.dags["starfleet_account_recorder_ship"]
    assert set(account.tags) == {"starfleet", "AccountRecorderShip", "ACCOUNT", "delivery:INLINE"}
    assert account.schedule is None
    assert set(account.params.keys()) == {"commit", "templates", "accounts"}
    assert account.params["commit"] is False
    assert "starfleet_once_recorder_ship" not in bag.dags  # disabled

    # The trigger form (Airflow 3's UI marks a field required when its type does not allow null): only
    # commit is; empty lists mean "no narrowing"; regions is a multi-select of botocore's region names.
    from starfleet_airflow.core.schemas.regions import partition_regions

    def required(schema: dict) -> bool:
        kind = schema.get("type")
        return bool(kind) and (not isinstance(kind, list) or "null" not in kind)

    schemas = {name: region.params.get_param(name).schema for name in region.params}
    assert {name for name, schema in schemas.items() if required(schema)} == {"commit"}
    assert schemas["regions"]["examples"] == list(partition_regions()) and "us-east-1" in schemas["regions"]["examples"]
    for name in ("templates", "accounts", "regions"):
        param = region.params.get_param(name)
        assert param.resolve(value=None) is None and param.resolve(value=["a"]) == ["a"]

    # The docs panel: what is in effect, never null; what unpausing a scheduled ship does.
    effective = yaml.safe_load(region.doc_md.split("```yaml", 1)[1].split("```", 1)[0])["Airflow (effective)"]
    assert None not in effective.values()
    assert effective["Pool"] == "starfleet" and effective["TargetsPerUnit"].startswith("10000 (default;")
    assert effective["InvocationQueueUrl"].startswith(deployment.ships["RegionRecorderShip"]["InvocationQueueUrl"])
    assert "Unpausing starts a full-scope run" in region.doc_md and region.is_paused_upon_creation is None
    account_effective = yaml.safe_load(account.doc_md.split("```yaml", 1)[1].split("```", 1)[0])
    assert account_effective["Airflow (effective)"]["Pool"] == "default_pool (Airflow's default pool)"
    assert account_effective["Airflow (effective)"]["TargetsPerUnit"].startswith("one account per task")
    assert "Unpausing" not in account.doc_md and account.is_paused_upon_creation is False  # manual only


def test_a_broken_section_does_not_hide_the_other_ships(
    sample_configuration: Path, tmp_path: Path, monkeypatch
) -> None:
    config = tmp_path / "config"
    shutil.copytree(sample_configuration, config)
    enabled = enabled_ship_names(config)
    victim = sorted(enabled)[0]
    path = next(
        p for p in config.iterdir() if p.suffix in (".yaml", ".yml") and victim in yaml.safe_load(p.read_text())
    )
    data = yaml.safe_load(path.read_text())
    data[victim]["EventBridgeTimedFrequency"] = "EVERY_FULL_MOON"
    data[victim]["InvocationSources"] = ["EVENTBRIDGE_TIMED_EVENT"]
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(config))

    bag = dagbag()
    assert bag.import_errors == {}
    survivors = {dag_id_for(name) for name in enabled - {victim}}
    assert survivors <= set(bag.dags)
    broken = bag.dags[dag_id_for(victim) + "__broken"]
    assert BROKEN_TAG in broken.tags and victim in broken.tags
    assert dag_id_for(victim) not in bag.dags
    for text in (broken.description, broken.doc_md):
        assert victim in text and "EventBridgeTimedFrequency" in text and str(path) in text
    assert [task.task_id for task in broken.tasks] == ["explain_problem"]


def test_a_ship_that_cannot_be_imported_is_a_broken_dag(deployment: Deployment) -> None:
    deployment.ships["OnceRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "x/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.write()
    bag = dagbag()
    assert bag.import_errors == {}
    assert "starfleet_once_recorder_ship" in bag.dags
    broken = bag.dags["starfleet_broken_import__broken"]
    assert "ImportError" in broken.description and "deliberate test failure" in broken.doc_md
    assert str(FACTORY_SHIPS / "broken_import") in broken.doc_md


def test_an_unusable_starfleet_section_is_one_visible_broken_dag(deployment: Deployment) -> None:
    deployment.starfleet["DeploymentRegion"] = None
    deployment.write()
    dags = build_dags()
    # No ship is configured here; the fixture's deliberately broken ship package still shows as its own DAG.
    assert sorted(dags) == ["starfleet_broken_import__broken", "starfleet_configuration__broken"]
    assert "STARFLEET.DeploymentRegion" in dags["starfleet_configuration__broken"].description


def test_parsing_reads_no_template_or_index_and_makes_no_network_call(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment.starfleet.update(
        {
            "TemplateLocation": "s3://unreachable-template-bucket/templates/",
            "AccountIndexLocation": "s3://unreachable-index-bucket/accountIndex.json",
            "SnapshotLocation": "s3://unreachable-template-bucket/snapshots/",
        }
    )
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "InvocationQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/account",
    }
    deployment.write()
    touched: list[str] = []

    def tripwire(name: str):
        def fail(*args: Any, **kwargs: Any) -> Any:
            touched.append(name)
            raise AssertionError(f"{name} called while parsing the DAG file")

        return fail

    monkeypatch.setattr(socket.socket, "connect", tripwire("socket.connect"))
    monkeypatch.setattr(socket, "create_connection", tripwire("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", tripwire("socket.getaddrinfo"))
    for name in ("read_bytes", "list_keys"):
        monkeypatch.setattr(locations, name, tripwire(f"locations.{name}"))
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", tripwire("botocore request"))

    bag = dagbag()
    assert touched == []
    assert bag.import_errors == {}
    assert "starfleet_account_recorder_ship" in bag.dags


# --------------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", list(EventBridgeFrequency))
def test_every_frequency_is_a_cron_timetable_with_data_intervals(frequency: EventBridgeFrequency) -> None:
    from airflow.sdk import CronDataIntervalTimetable

    schedule = build_schedule(
        {"invocation_sources": [InvocationSource.EVENTBRIDGE_TIMED_EVENT], "eventbridge_timed_frequency": frequency}
    )
    assert isinstance(schedule, CronDataIntervalTimetable)
    assert schedule.expression == FREQUENCY_CRON[frequency]
    assert frequency.value in describe_schedule(
        {"invocation_sources": ["EVENTBRIDGE_TIMED_EVENT"], "eventbridge_timed_frequency": frequency.value}
    )


def test_cron_table_matches_the_documented_cadence() -> None:
    from croniter import croniter

    expected_minutes = {
        "FIVE_MIN": 5,
        "FIFTEEN_MIN": 15,
        "THIRTY_MIN": 30,
        "HOURLY": 60,
        "SIX_HOURLY": 360,
        "TWELVE_HOURLY": 720,
        "DAILY": 1440,
    }
    from datetime import datetime

    for frequency, cron in FREQUENCY_CRON.items():
        ticks = croniter(cron, datetime(2024, 1, 1))
        first, second = ticks.get_next(datetime), ticks.get_next(datetime)
        assert (second - first).total_seconds() / 60 == expected_minutes[frequency.value], frequency


def test_sources_decide_the_schedule() -> None:
    from airflow.sdk import Asset, AssetOrTimeSchedule

    asset = Asset("s3-template-events", uri="sqs://queue")
    assert build_schedule({"invocation_sources": [], "eventbridge_timed_frequency": "DAILY"}) is None
    assert build_schedule({"invocation_sources": ["SQS"]}) is None
    assert build_schedule({"invocation_sources": ["S3"]}) is None  # no asset configured: manual only
    assert build_schedule({"invocation_sources": ["S3"]}, template_events_asset=asset) is asset
    both = build_schedule(
        {"invocation_sources": ["S3", "EVENTBRIDGE_TIMED_EVENT"], "eventbridge_timed_frequency": "HOURLY"},
        template_events_asset=asset,
    )
    assert isinstance(both, AssetOrTimeSchedule)
    assert both.timetable.expression == "0 * * * *"
    assert "manual triggers only" in describe_schedule({"invocation_sources": []})
