"""AwsConfigWorkerShip against moto: several accounts and regions of the 20-account sample organisation.

Targets come from the real resolver over the sample index, exactly as the orchestrator would send them,
and the state is checked with plain boto3 calls in each account/region (never through the ship's own
reading code).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from marshmallow import ValidationError
from moto import mock_aws

from ships.aws_config import WORKER_SHIP_PLUGINS, AwsConfigWorkerShip
from ships.aws_config.schemas import AwsConfigWorkerShipConfigurationTemplate, AwsConfigWorkerShipPayloadTemplate
from ships.aws_config.ship import AwsConfigShipError
from ships.aws_config.state import canonical_recorder, desired_recorder
from starfleet_airflow import (
    STARFLEET_CONFIGURATION,
    AccountIndex,
    FanOutStrategy,
    RunContext,
    assume_role_session,
    cached_account_index,
    parse_location,
)
from starfleet_airflow.core.config import Configuration, load_configuration
from starfleet_airflow.core.outcomes import FAILED, INVALID, SUCCEEDED
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.core.resolve import Target, resolve_targets
from starfleet_airflow.core.runner import run_ship_for_target
from starfleet_airflow.core.schemas import StarfleetSchema, flatten_errors
from starfleet_airflow.devtools.synthetic_org import sample_organisation

REPO = Path(__file__).resolve().parents[1]

PROD_WEB_1 = "100000000001"  # Production/Web; all default regions
PROD_DATA_1 = "100000000004"  # Production/Data, Team=data; all default regions
DEV_WEB_2 = "100000000008"  # us-east-1 only
SANDBOX_BOB = "100000000012"  # Sandbox; us-west-2 only
SANDBOX_ALICE = "100000000011"  # Sandbox; all default regions
REGIONS = ["us-east-1", "eu-west-1", "us-west-2"]

SHIP_SECTION = {
    "Enabled": True,
    "TemplatePrefix": "AwsConfigWorkerShip/",
    "WorkerRoleToAssume": "starfleet-worker-role",
    "Airflow": {"DeliveryMode": "INLINE"},
}

DEFAULT_CONFIGURATION: dict[str, Any] = {
    "DeliveryChannelDetails": {
        "BucketName": "org-config-bucket",
        "BucketKeyPrefix": "aws-config",
        "S3DeliveryFrequency": "TwentyFour_Hours",
    },
    "RecorderConfiguration": {
        "ConfigRoleName": "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
        "RecordingEnabled": True,
        "RecordingGroup": {"RecordEverything": {"RecordGlobalsInTheseRegions": ["us-east-1"]}},
    },
    "RetentionPeriodInDays": 2557,
}

SANDBOX_CONFIGURATION: dict[str, Any] = {
    "DeliveryChannelDetails": {"BucketName": "sandbox-config-bucket", "S3DeliveryFrequency": "Six_Hours"},
    "RecorderConfiguration": {
        "ConfigRoleName": "AwsConfigRecorder",
        "RecordingEnabled": True,
        "RecordingGroup": {"RecordSpecificResources": ["AWS::S3::Bucket", "AWS::EC2::SecurityGroup"]},
    },
    "RetentionPeriodInDays": 365,
}


def template(**changes: Any) -> dict[str, Any]:
    """A template over three accounts and three regions; keyword arguments replace top-level keys."""
    raw: dict[str, Any] = {
        "TemplateName": "AwsConfigTest",
        "TemplateDescription": "AWS Config in the test accounts",
        "IncludeAccounts": {"ByIds": [PROD_WEB_1, PROD_DATA_1, DEV_WEB_2, SANDBOX_BOB]},
        "IncludeRegions": list(REGIONS),
        "DefaultConfiguration": copy.deepcopy(DEFAULT_CONFIGURATION),
    }
    raw.update(copy.deepcopy(changes))
    return raw


def override(configuration: dict[str, Any] | None = None, **selection: Any) -> dict[str, Any]:
    """One AccountOverrideConfigurations entry: a full configuration plus its selectors."""
    return {**copy.deepcopy(configuration or SANDBOX_CONFIGURATION), **selection}


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    """A fresh moto world for each test; the session plays the orchestrator's own identity."""
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def index() -> AccountIndex:
    return AccountIndex.from_dict(sample_organisation(), source="sample")


def write_configuration(folder: Path, starfleet_section: dict[str, Any], ship_section: dict[str, Any]) -> Configuration:
    """A configuration folder as a deployment has it (``config/*.yaml``), loaded by the real loader."""
    config_dir = folder / "config"
    config_dir.mkdir(parents=True)
    (config_dir / "starfleet.yaml").write_text(yaml.safe_dump({"STARFLEET": starfleet_section}))
    (config_dir / "aws_config.yaml").write_text(yaml.safe_dump({"AwsConfigWorkerShip": ship_section}))
    return load_configuration(config_dir)


@pytest.fixture
def configuration(tmp_path: Path) -> Iterator[Configuration]:
    """The process configuration names the sample index by a path relative to the folder holding config/."""
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "accountIndex.json").write_text(json.dumps(sample_organisation()))
    starfleet_section = {
        "DeploymentRegion": "us-east-1",
        "TemplateLocation": "templates",
        "AccountIndexLocation": "index/accountIndex.json",
    }
    loaded = write_configuration(tmp_path, starfleet_section, SHIP_SECTION)
    assert loaded.ok, loaded.errors
    with STARFLEET_CONFIGURATION.serving(loaded):
        yield loaded


def starfleet(**extra: Any) -> dict[str, Any]:
    return StarfleetSchema().load({"DeploymentRegion": "us-east-1", "TemplateLocation": "templates/", **extra})


def make_ship(
    session: boto3.Session,
    starfleet_configuration: dict[str, Any] | None = None,
    run_context: RunContext | None = None,
) -> AwsConfigWorkerShip:
    return AwsConfigWorkerShip(
        configuration=AwsConfigWorkerShipConfigurationTemplate().load(SHIP_SECTION),
        starfleet_configuration=starfleet_configuration or starfleet(),
        run_context=run_context,
        aws_session=session,
    )


def run(
    session: boto3.Session,
    raw: dict[str, Any],
    account_id: str,
    region: str,
    *,
    commit: bool,
    starfleet_configuration: dict[str, Any] | None = None,
    run_context: RunContext | None = None,
) -> list[dict[str, Any]]:
    """Run the ship on one target, with the message body the orchestrator would send."""
    ship = make_ship(session, starfleet_configuration, run_context)
    body = json.loads(json.dumps({**raw, "StarbaseAssignedAccount": account_id, "StarbaseAssignedRegion": region}))
    ship.load_template(body)
    result = ship.execute(commit=commit)
    json.dumps(result)  # the outcome detail must be JSON-able
    return result


def targets(raw: dict[str, Any], index: AccountIndex) -> list[Target]:
    payload = AwsConfigWorkerShipPayloadTemplate().load(raw)
    return resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION)


def run_all(session: boto3.Session, raw: dict[str, Any], index: AccountIndex, *, commit: bool, **kw: Any) -> dict:
    return {t: run(session, raw, t.account_id, t.region, commit=commit, **kw) for t in targets(raw, index)}


def aws_config_state(session: boto3.Session, account_id: str, region: str) -> dict[str, Any]:
    """AWS Config in one account/region, read with plain boto3 calls."""
    client = assume_role_session(session, account_id, "reader", region=region, session_name="test").client(
        "config", region_name=region
    )
    return {
        "recorders": client.describe_configuration_recorders()["ConfigurationRecorders"],
        "status": client.describe_configuration_recorder_status()["ConfigurationRecordersStatus"],
        "channels": client.describe_delivery_channels()["DeliveryChannels"],
        "retention": client.describe_retention_configurations()["RetentionConfigurations"],
    }


def untouched(state: dict[str, Any]) -> bool:
    return not any(state.values())


def by_resource(changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["resource"]: c for c in changes}


# --------------------------------------------------------------------------------------------------
# Enable, no-op, dry run, change
# --------------------------------------------------------------------------------------------------


def test_enables_aws_config_in_every_target_and_never_in_a_region_not_enabled(
    session: boto3.Session, index: AccountIndex
) -> None:
    raw = template()
    planned = targets(raw, index)
    # The sample organisation: dev-web-2 has us-east-1 only, Sandbox-Bob us-west-2 only.
    assert Target(DEV_WEB_2, "eu-west-1") not in planned
    assert Target(SANDBOX_BOB, "us-east-1") not in planned
    assert Target(SANDBOX_BOB, "us-west-2") in planned
    assert len({t.account_id for t in planned}) == 4
    assert len({t.region for t in planned}) == 3

    results = run_all(session, raw, index, commit=True)

    for (account_id, region), changes in results.items():
        assert [(c["resource"], c["action"]) for c in changes] == [
            ("ConfigurationRecorder", "create"),
            ("DeliveryChannel", "create"),
            ("RetentionConfiguration", "create"),
            ("RecorderStatus", "start"),
        ]
        state = aws_config_state(session, account_id, region)
        (recorder,) = state["recorders"]
        assert recorder["name"] == "default"
        assert recorder["roleARN"] == (
            f"arn:aws:iam::{account_id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
        )
        assert recorder["recordingGroup"]["allSupported"] is True
        # Global resource types in us-east-1 only, as RecordGlobalsInTheseRegions says.
        assert recorder["recordingGroup"]["includeGlobalResourceTypes"] is (region == "us-east-1")
        assert state["status"][0]["recording"] is True
        (channel,) = state["channels"]
        assert channel["s3BucketName"] == "org-config-bucket"
        assert channel["s3KeyPrefix"] == "aws-config"
        assert channel["configSnapshotDeliveryProperties"] == {"deliveryFrequency": "TwentyFour_Hours"}
        assert state["retention"][0]["RetentionPeriodInDays"] == 2557

    for account_id in (PROD_WEB_1, PROD_DATA_1, DEV_WEB_2, SANDBOX_BOB):
        for region in REGIONS:
            if Target(account_id, region) not in planned:
                assert untouched(aws_config_state(session, account_id, region)), (account_id, region)


def test_second_run_changes_nothing(session: boto3.Session, index: AccountIndex) -> None:
    raw = template(
        IncludeAccounts={"ByIds": [PROD_WEB_1, PROD_DATA_1]},
        IncludeRegions=["us-east-1", "eu-west-1"],
        AccountOverrideConfigurations=[override(IncludeAccounts={"ByIds": [PROD_WEB_1]}, IncludeRegions=["eu-west-1"])],
    )
    first = run_all(session, raw, index, commit=True)
    assert all(first.values())
    before = {t: aws_config_state(session, *t) for t in first}

    assert run_all(session, raw, index, commit=True) == {t: [] for t in first}
    assert run_all(session, raw, index, commit=False) == {t: [] for t in first}
    assert {t: aws_config_state(session, *t) for t in first} == before


def test_dry_run_changes_nothing_and_reports_the_exact_differences(
    session: boto3.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ships.aws_config")
    changes = run(session, template(), PROD_WEB_1, "eu-west-1", commit=False)

    assert untouched(aws_config_state(session, PROD_WEB_1, "eu-west-1"))
    found = by_resource(changes)
    assert list(found) == ["ConfigurationRecorder", "DeliveryChannel", "RetentionConfiguration", "RecorderStatus"]
    recorder = found["ConfigurationRecorder"]
    assert recorder["account_id"] == PROD_WEB_1
    assert recorder["region"] == "eu-west-1"
    assert recorder["configuration"] == "DefaultConfiguration"
    assert recorder["changes"]["roleARN"] == {
        "current": None,
        "desired": f"arn:aws:iam::{PROD_WEB_1}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
    }
    assert recorder["changes"]["recordingGroup.includeGlobalResourceTypes"] == {"current": None, "desired": False}
    assert found["DeliveryChannel"]["changes"]["configSnapshotDeliveryProperties.deliveryFrequency"] == {
        "current": None,
        "desired": "TwentyFour_Hours",
    }
    assert found["RetentionConfiguration"]["changes"] == {"RetentionPeriodInDays": {"current": None, "desired": 2557}}
    assert found["RecorderStatus"]["changes"] == {"recording": {"current": False, "desired": True}}

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "dry run, would create ConfigurationRecorder 'default'" in logged
    assert "dry run, would start RecorderStatus 'default'" in logged
    assert "'RetentionPeriodInDays': {'current': None, 'desired': 2557}" in logged


def test_the_ship_tells_a_reviewer_what_it_would_change(session: boto3.Session) -> None:
    def said(commit: bool = False) -> Any:
        ship = make_ship(session)
        ship.load_template({**template(), "StarbaseAssignedAccount": PROD_WEB_1, "StarbaseAssignedRegion": "eu-west-1"})
        ship.execute(commit=commit)
        return ship.change_summary

    first = said()
    assert first.changed and first.summary.startswith("4 changes (DefaultConfiguration): create ConfigurationRecorder")
    assert "- RetentionPeriodInDays: null\n+ RetentionPeriodInDays: 2557" in first.diff
    assert "+ recording: true" in first.diff
    assert said() == first
    said(commit=True)
    assert (said().changed, said().summary) == (False, "AWS Config matches DefaultConfiguration")


def test_change_updates_only_what_differs(session: boto3.Session) -> None:
    run(session, template(), PROD_WEB_1, "us-east-1", commit=True)

    changed = template()
    configuration = changed["DefaultConfiguration"]
    configuration["DeliveryChannelDetails"] = {"BucketName": "org-config-bucket", "S3DeliveryFrequency": "One_Hour"}
    configuration["RecorderConfiguration"]["RecordingGroup"] = {"RecordEverythingExcept": ["AWS::EC2::Instance"]}
    configuration["RecorderConfiguration"]["RecordingEnabled"] = False
    configuration["RetentionPeriodInDays"] = 400

    dry = run(session, changed, PROD_WEB_1, "us-east-1", commit=False)
    found = by_resource(dry)
    assert {c["action"] for c in dry} == {"update", "stop"}
    assert found["ConfigurationRecorder"]["changes"] == {
        "recordingGroup.allSupported": {"current": True, "desired": False},
        "recordingGroup.includeGlobalResourceTypes": {"current": True, "desired": False},
        "recordingGroup.exclusionByResourceTypes.resourceTypes": {"current": [], "desired": ["AWS::EC2::Instance"]},
        "recordingGroup.recordingStrategy.useOnly": {
            "current": "ALL_SUPPORTED_RESOURCE_TYPES",
            "desired": "EXCLUSION_BY_RESOURCE_TYPES",
        },
    }
    assert found["DeliveryChannel"]["changes"] == {
        "s3KeyPrefix": {"current": "aws-config", "desired": None},
        "configSnapshotDeliveryProperties.deliveryFrequency": {"current": "TwentyFour_Hours", "desired": "One_Hour"},
    }
    assert found["RetentionConfiguration"]["changes"] == {"RetentionPeriodInDays": {"current": 2557, "desired": 400}}
    assert found["RecorderStatus"]["action"] == "stop"

    assert run(session, changed, PROD_WEB_1, "us-east-1", commit=True) == dry
    state = aws_config_state(session, PROD_WEB_1, "us-east-1")
    group = state["recorders"][0]["recordingGroup"]
    assert group["allSupported"] is False
    assert group["exclusionByResourceTypes"] == {"resourceTypes": ["AWS::EC2::Instance"]}
    assert "s3KeyPrefix" not in state["channels"][0]
    assert state["channels"][0]["configSnapshotDeliveryProperties"] == {"deliveryFrequency": "One_Hour"}
    assert state["retention"][0]["RetentionPeriodInDays"] == 400
    assert state["status"][0]["recording"] is False
    assert run(session, changed, PROD_WEB_1, "us-east-1", commit=True) == []


def test_existing_recorder_and_channel_keep_their_names(session: boto3.Session) -> None:
    client = assume_role_session(session, PROD_WEB_1, "setup", region="eu-west-1", session_name="test").client(
        "config", region_name="eu-west-1"
    )
    client.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "legacy",
            "roleARN": f"arn:aws:iam::{PROD_WEB_1}:role/OldConfigRole",
            "recordingGroup": {"allSupported": False, "resourceTypes": ["AWS::S3::Bucket"]},
        }
    )
    client.put_delivery_channel(DeliveryChannel={"name": "legacy-channel", "s3BucketName": "old-bucket"})

    changes = by_resource(run(session, template(), PROD_WEB_1, "eu-west-1", commit=True))

    assert changes["ConfigurationRecorder"]["action"] == "update"
    assert changes["ConfigurationRecorder"]["name"] == "legacy"
    assert changes["DeliveryChannel"]["changes"]["s3BucketName"] == {
        "current": "old-bucket",
        "desired": "org-config-bucket",
    }
    state = aws_config_state(session, PROD_WEB_1, "eu-west-1")
    assert [r["name"] for r in state["recorders"]] == ["legacy"]
    assert [c["name"] for c in state["channels"]] == ["legacy-channel"]
    assert state["recorders"][0]["recordingGroup"]["allSupported"] is True
    assert state["status"][0]["recording"] is True
    assert run(session, template(), PROD_WEB_1, "eu-west-1", commit=True) == []


# --------------------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------------------


def test_override_beats_the_default_for_its_account_and_region_only(
    session: boto3.Session, index: AccountIndex
) -> None:
    raw = template(
        IncludeAccounts={"ByIds": [PROD_WEB_1, PROD_DATA_1]},
        IncludeRegions=["us-east-1", "eu-west-1"],
        AccountOverrideConfigurations=[override(IncludeAccounts={"ByIds": [PROD_WEB_1]}, IncludeRegions=["eu-west-1"])],
    )
    results = run_all(session, raw, index, commit=True)

    for (account_id, region), changes in results.items():
        is_override = (account_id, region) == (PROD_WEB_1, "eu-west-1")
        assert {c["configuration"] for c in changes} == {
            "AccountOverrideConfigurations[0]" if is_override else "DefaultConfiguration"
        }
        state = aws_config_state(session, account_id, region)
        group = state["recorders"][0]["recordingGroup"]
        if is_override:
            assert state["retention"][0]["RetentionPeriodInDays"] == 365
            assert sorted(group["resourceTypes"]) == ["AWS::EC2::SecurityGroup", "AWS::S3::Bucket"]
            assert state["channels"][0]["s3BucketName"] == "sandbox-config-bucket"
            assert state["recorders"][0]["roleARN"] == f"arn:aws:iam::{account_id}:role/AwsConfigRecorder"
        else:
            assert state["retention"][0]["RetentionPeriodInDays"] == 2557
            assert group["allSupported"] is True
            assert state["channels"][0]["s3BucketName"] == "org-config-bucket"


def test_override_by_org_unit_is_matched_with_the_configured_account_index(
    session: boto3.Session, index: AccountIndex, configuration: Configuration
) -> None:
    raw = template(
        AccountOverrideConfigurations=[
            override(IncludeAccounts={"ByOrgUnits": ["data"]}, IncludeRegions=["ALL"], ExcludeRegions=["us-west-2"])
        ]
    )
    results = run_all(session, raw, index, commit=True, starfleet_configuration=configuration.starfleet)

    sources = {t: {c["configuration"] for c in changes} for t, changes in results.items()}
    assert sources[Target(PROD_DATA_1, "us-east-1")] == {"AccountOverrideConfigurations[0]"}
    assert sources[Target(PROD_DATA_1, "eu-west-1")] == {"AccountOverrideConfigurations[0]"}
    assert sources[Target(PROD_DATA_1, "us-west-2")] == {"DefaultConfiguration"}  # excluded region
    assert sources[Target(PROD_WEB_1, "us-east-1")] == {"DefaultConfiguration"}  # Production/Web, not Data
    assert aws_config_state(session, PROD_DATA_1, "us-east-1")["retention"][0]["RetentionPeriodInDays"] == 365


def test_override_by_org_unit_without_an_index_location_is_refused(session: boto3.Session, tmp_path: Path) -> None:
    # Neither AccountIndexLocation nor a StarfleetDefaultAccountIndex section: the loader reports it, and so
    # does the ship, before touching anything.
    without_index = write_configuration(
        tmp_path, {"DeploymentRegion": "us-east-1", "TemplateLocation": "templates"}, SHIP_SECTION
    )
    assert without_index.account_index_location is None
    raw = template(
        AccountOverrideConfigurations=[override(IncludeAccounts={"ByOrgUnits": ["Data"]}, IncludeRegions=["ALL"])]
    )
    with (
        STARFLEET_CONFIGURATION.serving(without_index),
        pytest.raises(AwsConfigShipError, match=r"expected STARFLEET.AccountIndexLocation") as exc,
    ):
        run(session, raw, PROD_DATA_1, "us-east-1", commit=True, starfleet_configuration=without_index.starfleet)
    assert "entry 0: ByOrgUnits" in str(exc.value)
    assert untouched(aws_config_state(session, PROD_DATA_1, "us-east-1"))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            [
                override(IncludeAccounts={"ByIds": [PROD_WEB_1, DEV_WEB_2]}, IncludeRegions=["us-east-1", "eu-west-1"]),
                override(IncludeAccounts={"ByIds": [PROD_WEB_1]}, IncludeRegions=["eu-west-1"]),
            ],
            f"entries 0 and 1 both match account {PROD_WEB_1} in region eu-west-1",
            id="same-id-same-region",
        ),
        pytest.param(
            [
                override(IncludeAccounts={"AllAccounts": True}, IncludeRegions=["us-east-1"]),
                override(IncludeAccounts={"ByIds": [DEV_WEB_2]}, IncludeRegions=["ALL"]),
            ],
            f"entries 0 and 1 both match account {DEV_WEB_2} in region us-east-1",
            id="all-accounts-and-an-id",
        ),
        pytest.param(
            [
                override(IncludeAccounts={"ByIds": [PROD_WEB_1]}, IncludeRegions=["us-west-2"]),
                override(IncludeAccounts={"AllAccounts": True}, IncludeRegions=["us-east-1"]),
                override(IncludeAccounts={"AllAccounts": True}, IncludeRegions=["us-east-1", "us-west-2"]),
            ],
            "entries 0 and 2 both match",
            id="third-entry",
        ),
    ],
)
def test_overrides_that_certainly_overlap_are_refused_at_load(overrides: list[dict], expected: str) -> None:
    with pytest.raises(ValidationError) as exc:
        AwsConfigWorkerShipPayloadTemplate().load(template(AccountOverrideConfigurations=overrides))
    lines = flatten_errors(exc.value.messages)
    assert any(line.startswith("AccountOverrideConfigurations: ") and expected in line for line in lines), lines


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(
            [
                override(IncludeAccounts={"ByIds": [PROD_WEB_1]}, IncludeRegions=["us-east-1"]),
                override(IncludeAccounts={"ByIds": [PROD_WEB_1]}, IncludeRegions=["eu-west-1"]),
            ],
            id="different-regions",
        ),
        pytest.param(
            [
                override(IncludeAccounts={"AllAccounts": True}, IncludeRegions=["us-east-1"]),
                override(
                    IncludeAccounts={"AllAccounts": True},
                    ExcludeAccounts={"ByIds": [PROD_WEB_1, PROD_DATA_1, DEV_WEB_2, SANDBOX_BOB]},
                    IncludeRegions=["us-east-1"],
                ),
            ],
            id="exclusion-removes-every-template-account",
        ),
        pytest.param(
            [
                override(IncludeAccounts={"ByIds": [PROD_WEB_1]}, IncludeRegions=["ap-southeast-2"]),
                override(IncludeAccounts={"AllAccounts": True}, IncludeRegions=["ap-southeast-2"]),
            ],
            id="overlap-outside-the-template-regions",
        ),
        pytest.param(
            [
                override(IncludeAccounts={"ByOrgUnits": ["Production"]}, IncludeRegions=["us-east-1"]),
                override(IncludeAccounts={"ByTags": [{"Name": "Team", "Value": "data"}]}, IncludeRegions=["us-east-1"]),
            ],
            id="uncertain-without-the-index",
        ),
    ],
)
def test_overrides_that_may_not_overlap_load(overrides: list[dict]) -> None:
    AwsConfigWorkerShipPayloadTemplate().load(template(AccountOverrideConfigurations=overrides))


def test_overlap_known_only_from_the_index_is_refused_at_execute_time(
    session: boto3.Session, index: AccountIndex
) -> None:
    raw = template(
        AccountOverrideConfigurations=[
            override(IncludeAccounts={"ByOrgUnits": ["Production"]}, IncludeRegions=["us-east-1"]),
            override(IncludeAccounts={"ByTags": [{"Name": "team", "Value": "DATA"}]}, IncludeRegions=["us-east-1"]),
        ]
    )
    # The run's own index snapshot (what the orchestrator resolved the targets with); no configured location.
    snapshot = RunContext(extra={"account_index": index})

    # prod-data-1 is in Production and tagged Team=data: both overrides match, nothing is changed.
    with pytest.raises(AwsConfigShipError, match=rf"entries 0, 1 all match account {PROD_DATA_1} in us-east-1"):
        run(session, raw, PROD_DATA_1, "us-east-1", commit=True, run_context=snapshot)
    assert untouched(aws_config_state(session, PROD_DATA_1, "us-east-1"))

    # prod-web-1 is in Production only: the first override applies.
    changes = run(session, raw, PROD_WEB_1, "us-east-1", commit=True, run_context=snapshot)
    assert {c["configuration"] for c in changes} == {"AccountOverrideConfigurations[0]"}


# --------------------------------------------------------------------------------------------------
# Targets the ship refuses
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "account_id", "region", "starfleet_extra", "message"),
    [
        pytest.param(
            template(IncludeRegions=["us-east-1", "eu-west-1"], ExcludeRegions=["eu-west-1"]),
            PROD_WEB_1,
            "eu-west-1",
            {},
            "region eu-west-1 is outside the template's IncludeRegions/ExcludeRegions",
            id="excluded-region",
        ),
        pytest.param(
            template(), PROD_WEB_1, "ap-southeast-2", {}, "region ap-southeast-2 is outside", id="region-not-included"
        ),
        pytest.param(
            template(), PROD_WEB_1, "eu-west-1", {"ScopeToRegions": ["us-east-1"]}, "ScopeToRegions", id="scope"
        ),
        pytest.param(
            template(), "100000000009", "us-east-1", {}, "account 100000000009 is not selected", id="account-not-listed"
        ),
        pytest.param(
            template(IncludeAccounts={"AllAccounts": True}, ExcludeAccounts={"ByIds": [PROD_WEB_1]}),
            PROD_WEB_1,
            "us-east-1",
            {},
            f"account {PROD_WEB_1} is not selected",
            id="account-excluded",
        ),
    ],
)
def test_target_outside_the_template_is_refused_and_untouched(
    session: boto3.Session, raw: dict, account_id: str, region: str, starfleet_extra: dict, message: str
) -> None:
    with pytest.raises(AwsConfigShipError, match=message):
        run(session, raw, account_id, region, commit=True, starfleet_configuration=starfleet(**starfleet_extra))
    assert untouched(aws_config_state(session, account_id, region))


@pytest.mark.parametrize(
    ("account_id", "region", "message"),
    [
        pytest.param(DEV_WEB_2, "eu-west-1", f"region eu-west-1 is not enabled for account {DEV_WEB_2}", id="region"),
        pytest.param(
            "100000000009", "us-east-1", "account 100000000009 is not selected by the template", id="org-unit"
        ),
        pytest.param(
            "111111111111", "us-east-1", "account 111111111111 is not selected by the template", id="org-root"
        ),
    ],
)
def test_with_the_run_index_a_target_the_orchestrator_would_not_send_is_refused(
    session: boto3.Session, index: AccountIndex, account_id: str, region: str, message: str
) -> None:
    raw = template(
        IncludeAccounts={"ByOrgUnits": ["Web"], "ByIds": ["100000000009", "111111111111"]},
        ExcludeAccounts={"ByTags": [{"Name": "Team", "Value": "DATA"}]},  # removes dev-data-1 (100000000009)
    )  # 111111111111 is the organisation root, left out without OperateInOrgRoot
    assert Target(account_id, region) not in targets(raw, index)
    with pytest.raises(AwsConfigShipError, match=message):
        run(session, raw, account_id, region, commit=True, run_context=RunContext(extra={"account_index": index}))
    assert untouched(aws_config_state(session, account_id, region))


# --------------------------------------------------------------------------------------------------
# Templates and configuration
# --------------------------------------------------------------------------------------------------


def _with_default(path: list[str], value: Any) -> dict[str, Any]:
    raw = template()
    node = raw["DefaultConfiguration"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        pytest.param(
            _with_default(
                ["RecorderConfiguration", "RecordingGroup"],
                {
                    "RecordEverything": {"RecordGlobalsInTheseRegions": ["ALL"]},
                    "RecordSpecificResources": ["AWS::S3::Bucket"],
                },
            ),
            "DefaultConfiguration.RecorderConfiguration.RecordingGroup",
            "expected exactly one of",
            id="two-recording-strategies",
        ),
        pytest.param(
            _with_default(
                ["RecorderConfiguration", "RecordingGroup"], {"RecordSpecificResources": ["AWS::S3::Buckett"]}
            ),
            "DefaultConfiguration.RecorderConfiguration.RecordingGroup.RecordSpecificResources",
            "unknown AWS Config resource type AWS::S3::Buckett",
            id="unknown-resource-type",
        ),
        pytest.param(
            _with_default(
                ["RecorderConfiguration", "RecordingGroup"],
                {"RecordEverything": {"RecordGlobalsInTheseRegions": ["NONE", "us-east-1"]}},
            ),
            "DefaultConfiguration.RecorderConfiguration.RecordingGroup.RecordEverything.RecordGlobalsInTheseRegions",
            "NONE cannot be combined",
            id="none-and-a-region",
        ),
        pytest.param(
            _with_default(["RetentionPeriodInDays"], 10),
            "DefaultConfiguration.RetentionPeriodInDays",
            "greater than or equal to 30",
            id="retention-too-short",
        ),
        pytest.param(
            _with_default(["DeliveryChannelDetails", "S3DeliveryFrequency"], "Hourly"),
            "DefaultConfiguration.DeliveryChannelDetails.S3DeliveryFrequency",
            "Must be one of",
            id="bad-frequency",
        ),
        pytest.param(
            _with_default(["DeliveryChannelDetails", "BucketKeyPrefix"], ""),
            "DefaultConfiguration.DeliveryChannelDetails.BucketKeyPrefix",
            "",
            id="empty-prefix",
        ),
        pytest.param(
            template(
                AccountOverrideConfiguration=[override(IncludeAccounts={"AllAccounts": True}, IncludeRegions=["ALL"])]
            ),
            "AccountOverrideConfiguration",
            "Unknown field",
            id="misspelt-overrides-key",
        ),
        pytest.param(
            template(
                AccountOverrideConfigurations=[
                    override(IncludeAccounts={"AllAccounts": True}, IncludeRegions=["mars-1"])
                ]
            ),
            "AccountOverrideConfigurations.0.IncludeRegions",
            "unknown region mars-1",
            id="override-unknown-region",
        ),
        pytest.param(
            template(AccountOverrideConfigurations=[override(IncludeRegions=["us-east-1"])]),
            "AccountOverrideConfigurations.0.IncludeAccounts",
            "required",
            id="override-without-accounts",
        ),
    ],
)
def test_wrong_template_is_refused_with_the_key_and_the_reason(raw: dict, key: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as exc:
        AwsConfigWorkerShipPayloadTemplate().load(raw)
    lines = flatten_errors(exc.value.messages)
    assert any(line.startswith(f"{key}: ") and fragment in line for line in lines), lines


def test_sample_configuration_and_templates_validate() -> None:
    sections = yaml.safe_load((REPO / "config" / "aws_config.yaml").read_text())
    configuration = AwsConfigWorkerShipConfigurationTemplate().load(sections["AwsConfigWorkerShip"])
    assert configuration["enabled"] is True
    assert configuration["worker_role_to_assume"]
    samples = sorted((REPO / "templates" / "AwsConfigWorkerShip").rglob("*.yaml"))
    assert samples
    for path in samples:
        payload = AwsConfigWorkerShipPayloadTemplate().load(yaml.safe_load(path.read_text()))
        assert payload["default_configuration"]["retention_period_in_days"] >= 30


def test_plugin_list_and_contract() -> None:
    assert list(WORKER_SHIP_PLUGINS) == [AwsConfigWorkerShip]
    assert AwsConfigWorkerShip.get_worker_ship_name() == "AwsConfigWorkerShip"
    assert AwsConfigWorkerShip.fan_out_strategy is FanOutStrategy.ACCOUNT_REGION


def test_recorder_from_before_recording_strategies_matches_without_a_change() -> None:
    """Older recorders come back without recordingStrategy (and without empty lists): not a difference."""
    settings = AwsConfigWorkerShipPayloadTemplate().load(template())["default_configuration"]["recorder_configuration"]
    legacy = {
        "name": "default",
        "roleARN": f"arn:aws:iam::{PROD_WEB_1}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        "recordingMode": {"recordingFrequency": "DAILY"},
    }
    wanted = desired_recorder(settings, account_id=PROD_WEB_1, region="us-east-1", partition="aws", current=legacy)
    assert canonical_recorder(wanted) == canonical_recorder(legacy)
    assert wanted["recordingMode"] == {"recordingFrequency": "DAILY"}  # not managed: sent back as it was


# --------------------------------------------------------------------------------------------------
# Inline delivery: the runner every delivery path shares
# --------------------------------------------------------------------------------------------------


def test_inline_delivery_through_the_registry_and_the_runner(
    session: boto3.Session, index: AccountIndex, configuration: Configuration
) -> None:
    """The ship as the orchestrator finds and runs it: registry, sample template, one outcome per target."""
    registry = load_ships(configuration, use_entry_points=False)
    loaded = registry.get("AwsConfigWorkerShip")
    assert loaded is not None, registry.why_not_loaded("AwsConfigWorkerShip")
    raw = yaml.safe_load((REPO / "templates" / "AwsConfigWorkerShip" / "enable_aws_config.yaml").read_text())
    payload = AwsConfigWorkerShipPayloadTemplate().load(raw)
    planned = resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION, ["us-east-1", "eu-west-1"])
    chosen = [t for t in planned if t.account_id in (PROD_WEB_1, SANDBOX_ALICE)]
    assert len(chosen) == 4

    def run_inline(commit: bool) -> list:
        outcomes = [
            run_ship_for_target(loaded, raw, t.account_id, t.region, commit, aws_session=session) for t in chosen
        ]
        assert {o.status for o in outcomes} == {SUCCEEDED}, [o.error for o in outcomes]
        json.dumps([o.to_dict() for o in outcomes])
        return [o.detail for o in outcomes]

    assert all(run_inline(commit=False))  # dry run: differences everywhere ...
    assert all(untouched(aws_config_state(session, *t)) for t in chosen)  # ... and nothing changed
    assert all(run_inline(commit=True))
    assert run_inline(commit=True) == [[] for _ in chosen]

    # Sandbox-Alice is in the Sandbox OU: the sample template's override applies there, the default elsewhere.
    assert aws_config_state(session, SANDBOX_ALICE, "eu-west-1")["retention"][0]["RetentionPeriodInDays"] == 365
    assert aws_config_state(session, PROD_WEB_1, "eu-west-1")["retention"][0]["RetentionPeriodInDays"] == 2557

    broken = {**raw, "DefaultConfiguration": {**raw["DefaultConfiguration"], "RetentionPeriodInDays": 5}}
    outcome = run_ship_for_target(loaded, broken, PROD_WEB_1, "us-east-1", True, aws_session=session)
    assert outcome.status == INVALID
    assert "DefaultConfiguration.RetentionPeriodInDays" in (outcome.error or "")

    # af-south-1 is in the template (ALL) but not enabled for prod-web-1: the orchestrator never sends it,
    # and the ship, which reads the index for the Sandbox override anyway, refuses it too.
    outside = run_ship_for_target(loaded, raw, PROD_WEB_1, "af-south-1", True, aws_session=session)
    assert outside.status == FAILED
    assert "region af-south-1 is not enabled for account 100000000001" in (outside.error or "")
    assert untouched(aws_config_state(session, PROD_WEB_1, "af-south-1"))


def test_account_index_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "accountIndex.json"
    organisation = sample_organisation()
    path.write_text(json.dumps(organisation))
    location = parse_location(str(path))
    session = boto3.Session(region_name="us-east-1")

    first = cached_account_index(location, session, include_inactive=False)
    assert cached_account_index(location, session, include_inactive=False) is first

    del organisation["accounts"][PROD_WEB_1]
    path.write_text(json.dumps(organisation))
    second = cached_account_index(location, session, include_inactive=False)
    assert second is not first
    assert PROD_WEB_1 in first.accounts
    assert PROD_WEB_1 not in second.accounts


# --------------------------------------------------------------------------------------------------
# SQS delivery: the bodies the DAG sends, consumed by the SQS-fed Lambda
# --------------------------------------------------------------------------------------------------


def test_sqs_fed_lambda_runs_the_sample_template_unchanged(
    session: boto3.Session, index: AccountIndex, configuration: Configuration, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Lambda handler gets the SQS delivery's bodies as records; STARFLEET_COMMIT decides dry run or commit."""
    from starfleet_airflow.core.render import BodyRenderer
    from starfleet_airflow.lambda_worker import handler as lambda_handler

    monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(configuration.config_dir))
    monkeypatch.setenv("STARFLEET_SHIP", "AwsConfigWorkerShip")
    monkeypatch.delenv("STARFLEET_COMMIT", raising=False)
    lambda_handler._LOADED.clear()

    raw = yaml.safe_load((REPO / "templates" / "AwsConfigWorkerShip" / "enable_aws_config.yaml").read_text())
    chosen = [Target(PROD_WEB_1, "us-east-1"), Target(SANDBOX_ALICE, "eu-west-1")]  # default / Sandbox override
    assert set(chosen) <= set(targets(raw, index))  # both are targets the orchestrator would send
    bodies = BodyRenderer(raw).bodies(chosen)
    records = [{"messageId": f"message-{n}", "body": body, "eventSource": "aws:sqs"} for n, body in enumerate(bodies)]
    malformed = {"messageId": "message-malformed", "body": bodies[0][:-1], "eventSource": "aws:sqs"}
    event = {"Records": [*records, malformed]}

    try:
        # STARFLEET_COMMIT unset: a dry run changes nothing; only the malformed body fails.
        assert lambda_handler.handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "message-malformed"}]}
        assert all(untouched(aws_config_state(session, *t)) for t in chosen)

        monkeypatch.setenv("STARFLEET_COMMIT", "true")
        assert lambda_handler.handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "message-malformed"}]}
        for account_id, region in chosen:
            state = aws_config_state(session, account_id, region)
            assert [r["name"] for r in state["recorders"]] == ["default"], (account_id, region)
            assert state["status"][0]["recording"] is True
            (channel,) = state["channels"]
            assert channel["s3BucketName"] == "example-org-aws-config"
            # Sandbox-Alice is in the Sandbox OU: the override found with the configured index applies there.
            expected_prefix = "aws-config-sandbox" if account_id == SANDBOX_ALICE else "aws-config"
            assert channel["s3KeyPrefix"] == expected_prefix
        untargeted = aws_config_state(session, PROD_WEB_1, "eu-west-1")
        assert untouched(untargeted)
    finally:
        lambda_handler._LOADED.clear()
