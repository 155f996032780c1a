"""A misspelt key never passes silently: validate fails naming it (with a "did you mean"), the DAG docs show it.

Starfleet's own keys (its ``STARFLEET`` schema and its ship base schema) are known, so a Starfleet file
still loads without a word.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from starfleet_airflow.airflow.dags import build_dags
from starfleet_airflow.tools.cli import main
from tests.airflow_fixtures import FACTORY_SHIPS, Deployment


def typo_deployment(deployment: Deployment) -> Path:
    deployment.write_index({"accounts": {}})
    deployment.starfleet["ScopeToRegion"] = ["us-east-1"]  # ScopeToRegions, misspelt: the guard is off
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "InvocationSource": ["EVENTBRIDGE_TIMED_EVENT"],
        "Airflow": {"DeliveryMode": "INLINE", "Concurency": 2},
    }
    return deployment.write()


def validate(config: Path, capsys: Any) -> tuple[int, list[str]]:
    """``validate`` with the recorder ships only (not the factory tests' deliberately broken package)."""
    ships = config.parent / "ships"
    if not ships.exists():
        shutil.copytree(FACTORY_SHIPS / "recorders", ships / "recorders")
    code = main(["validate", "--config-dir", str(config), "--ships-dir", str(ships), "--no-entry-points"])
    return code, capsys.readouterr().err.splitlines()


def test_validate_names_each_misspelt_key_with_a_suggestion(deployment: Deployment, capsys: Any) -> None:
    config = typo_deployment(deployment)
    code, lines = validate(config, capsys)
    assert code == 1
    assert (
        f"{config / 'starfleet.yaml'}: STARFLEET.ScopeToRegion: unknown key; did you mean ScopeToRegions?"
        " (nothing reads ScopeToRegion)" in lines
    )
    ship_file = config / "AccountRecorderShip.yaml"
    assert (
        f"{ship_file}: AccountRecorderShip.InvocationSource: unknown key; did you mean InvocationSources?"
        " (nothing reads InvocationSource)" in lines
    )
    assert (
        f"{ship_file}: AccountRecorderShip.Airflow.Concurency: unknown key; did you mean Concurrency?"
        " (nothing reads Concurency)" in lines
    )


def test_the_dag_docs_show_keys_that_nothing_reads(deployment: Deployment) -> None:
    deployment.write_index({"accounts": {}})
    deployment.starfleet["ScopeToRegion"] = ["us-east-1"]
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "InvocationSource": ["EVENTBRIDGE_TIMED_EVENT"],
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.write()
    doc = build_dags()["starfleet_account_recorder_ship"].doc_md
    assert "## Configuration warnings" in doc
    assert "STARFLEET.ScopeToRegion: unknown key; did you mean ScopeToRegions?" in doc
    assert "AccountRecorderShip.InvocationSource: unknown key; did you mean InvocationSources?" in doc


STARFLEET_FILE = """\
STARFLEET:
  DeploymentRegion: us-east-1
  TemplateBucket: starfleet-templates
  FanOutQueueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/starbase-fanout
  AccountIndex: StarfleetDefaultAccountIndex
  ScopeToRegions: [us-east-1]
  SecretsManager: {SecretId: starfleet, SecretRegion: us-east-1}
  SlackEnabled: false
  LogLevel: INFO
  ThirdPartyLoggerLevels: {botocore: CRITICAL}
StarfleetDefaultAccountIndex:
  IndexBucket: starfleet-index
  BucketRegion: us-east-1
  IndexObjectPath: accountIndex.json
AccountRecorderShip:
  Enabled: true
  TemplatePrefix: AccountRecorderShip/
  InvocationQueueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/recorder
  InvocationSources: [EVENTBRIDGE_TIMED_EVENT]
  EventBridgeTimedFrequency: DAILY
  StarbaseInvocationTopicArn: arn:aws:sns:us-east-1:123456789012:starbase
  AlertConfiguration: {ChannelId: C123, AlertPriority: PROBLEM}
"""


@pytest.mark.usefixtures("mock_s3_templates")
def test_a_starfleet_file_with_every_starfleet_key_raises_no_unknown_key(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "starfleet.yaml").write_text(STARFLEET_FILE)
    code, lines = validate(config, capsys)
    assert [line for line in lines if "unknown key" in line] == []
    assert code == 0, lines


@pytest.fixture
def mock_s3_templates() -> Any:
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="starfleet-templates")
        yield


def test_an_undeclared_ship_key_that_is_no_typo_is_a_warning_not_a_failure(deployment: Deployment, capsys: Any) -> None:
    # Starfleet's ship schema keeps unknown keys: a Starfleet ship may read one of its section's keys straight
    # from STARFLEET_CONFIGURATION.config without declaring it, so only a near miss of a declared key fails.
    deployment.write_index({"accounts": {}})
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "OrganisationName": "Example Corp",  # read raw by the ship, never declared
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    code, err = validate(deployment.write(), capsys)
    assert code == 0, err
    [warning] = [line for line in err if "OrganisationName" in line]
    assert warning.startswith("warning: ") and "not declared by the ship's configuration schema" in warning
