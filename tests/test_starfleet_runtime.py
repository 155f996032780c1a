"""Starfleet's runtime pieces here: log levels where ships run, the secret, index plugins, the import hook."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.secrets import SECRETS_MANAGER, SecretsConfigurationMissingError, SecretsError
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from tests.airflow_fixtures import Deployment, run_dag
from tests.starfleet_fixtures import STARFLEET_SHIPS, RecordingHandler, put_secret
from tests.test_starfleet_ships import (
    INDEX,
    PASSWORD_ACCOUNTS,
    PASSWORD_TEMPLATE,
    SECRET_ID,
    aws_world,
    password_policy,
    starfleet_deployment,
)

pytestmark = pytest.mark.usefixtures("airflow_db", "clean_starfleet_state")
REPO = Path(__file__).resolve().parent.parent
INDEX_PLUGINS = Path(__file__).resolve().parent / "fixtures" / "index_plugins"
CHECKING = "[🔍] Checking the password policy of"  # the ship's LOGGER.debug line


def debug_lines(log: RecordingHandler) -> list[tuple[str, int]]:
    """(message, botocore's level at that moment) of the ship's DEBUG lines."""
    return [(message, botocore) for level, message, botocore in log.records if level == "DEBUG" and CHECKING in message]


LEVELS = {"LogLevel": "DEBUG", "ThirdPartyLoggerLevels": {"botocore": "CRITICAL"}}


# -- LogLevel and ThirdPartyLoggerLevels ---------------------------------------------------------------------------


def test_log_levels_apply_in_airflow_tasks(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, starfleet_log: RecordingHandler
) -> None:
    starfleet_deployment(deployment, monkeypatch)
    before = logging.getLogger("starfleet").level
    with mock_aws():
        aws_world()
        assert run_dag("starfleet_password_policy_ship").state == "success"
        assert debug_lines(starfleet_log) == [], "LogLevel defaults to INFO: the ship's DEBUG lines stay out"
        starfleet_deployment(deployment, monkeypatch, **LEVELS)
        assert run_dag("starfleet_password_policy_ship").state == "success"

    lines = debug_lines(starfleet_log)
    assert sorted(message for message, _ in lines) == sorted(
        f"{CHECKING} {INDEX.name_of(a)} ({a})..." for a in PASSWORD_ACCOUNTS
    )
    assert {botocore for _, botocore in lines} == {logging.CRITICAL}
    assert logging.getLogger("starfleet").level == before, "the task put the previous level back"


def test_log_levels_apply_in_the_lambda_handler(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, starfleet_log: RecordingHandler
) -> None:
    from starfleet_airflow.lambda_worker import handler

    starfleet_deployment(deployment, monkeypatch, **LEVELS)
    monkeypatch.setattr(handler, "_LOADED", {})
    monkeypatch.setenv("STARFLEET_SHIP", "PasswordPolicyShip")
    monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(deployment.config_dir))
    account = PASSWORD_ACCOUNTS[0]
    body = {**yaml.safe_load(PASSWORD_TEMPLATE), "StarbaseAssignedAccount": account}
    with mock_aws():
        answer = handler.handler({"Records": [{"messageId": "1", "body": json.dumps(body)}]})

    assert answer == {"batchItemFailures": []}
    assert debug_lines(starfleet_log) == [(f"{CHECKING} {INDEX.name_of(account)} ({account})...", logging.CRITICAL)]
    assert logging.getLogger("starfleet").level == logging.DEBUG  # a Lambda process keeps them, as in Starfleet


def test_log_levels_apply_in_the_cli(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, starfleet_log: RecordingHandler
) -> None:
    from starfleet_airflow.tools.cli.main import main

    starfleet_deployment(deployment, monkeypatch, **LEVELS)
    with mock_aws():
        assert main(["run", "PasswordPolicyShip", "--template", "strong", "--account", "prod-web-1"]) == 0

    account = next(iter(INDEX.by_names(["prod-web-1"])))
    assert debug_lines(starfleet_log) == [(f"{CHECKING} prod-web-1 ({account})...", logging.CRITICAL)]


# -- the secret ----------------------------------------------------------------------------------------------------


def test_the_secret_is_read_once_and_errors_name_it(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    starfleet_deployment(deployment, monkeypatch)
    configuration = load_configuration(deployment.config_dir)
    with mock_aws(), STARFLEET_CONFIGURATION.serving(configuration):
        put_secret(SECRET_ID, {"STARFLEET": {"SlackToken": "t"}, "SomeWorker": {"nested": [1, 2]}})
        assert SECRETS_MANAGER.secrets["SomeWorker"] == {"nested": [1, 2]}
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.put_secret_value(SecretId=SECRET_ID, SecretString="not json")
        assert SECRETS_MANAGER.secrets["SomeWorker"] == {"nested": [1, 2]}, "cached for the process, as in Starfleet"
        SECRETS_MANAGER.reset()
        with pytest.raises(SecretsError, match=rf"the secret {SECRET_ID} in us-east-1 is not JSON"):
            SECRETS_MANAGER.load_secrets()
        client.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True)
        with pytest.raises(SecretsError, match=rf"cannot read the secret {SECRET_ID} in us-east-1: ResourceNotFound"):
            SECRETS_MANAGER.load_secrets()

    del deployment.starfleet["SecretsManager"]
    deployment.write()
    missing = pytest.raises(SecretsConfigurationMissingError, match=r"STARFLEET\.SecretsManager: expected SecretId")
    with STARFLEET_CONFIGURATION.serving(load_configuration(deployment.config_dir)), missing:
        SECRETS_MANAGER.secrets  # noqa: B018


def test_tasks_read_the_secret_through_the_ships_airflow_connection(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The census ship's task fetches the secret with SecretsManagerHook and the ship's ``Airflow.AwsConnId``:
    pointed at a connection whose endpoint refuses, the read fails (boto3's default chain would have found it)."""
    refusing = {"conn_type": "aws", "extra": {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REFUSING", json.dumps(refusing))
    starfleet_deployment(deployment, monkeypatch)
    deployment.ships["AccountCensusShip"]["Airflow"]["AwsConnId"] = "aws_refusing"
    deployment.ships["AccountCensusShip"]["Airflow"]["Retries"] = 0
    deployment.write()
    with mock_aws():
        aws_world()
        result = run_dag("starfleet_account_census_ship", conf={"commit": True})

    assert result.state == "failed"
    [row] = result.report["rows"]
    assert row["outcome"] == "failed"
    assert row["error"].startswith(
        f"SecretsError: cannot read the secret {SECRET_ID} in us-east-1: EndpointConnectionError"
    )


# -- account-index plugins -----------------------------------------------------------------------------------------


@pytest.fixture
def index_plugins(tmp_path: Path) -> Iterator[None]:
    """A distribution registering the fixture plugins in the starfleet_airflow.account_indexes group."""
    site = tmp_path / "site"
    dist_info = site / "index_plugins-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: index-plugins\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[starfleet_airflow.account_indexes]\ncmdb = cmdb_index:CmdbAccountIndex\ntesting = testing_index\n"
    )
    sys.path[:0] = [str(site), str(INDEX_PLUGINS)]
    try:
        yield
    finally:
        for path in (str(site), str(INDEX_PLUGINS)):
            sys.path.remove(path)
        for name in ("cmdb_index", "testing_index"):
            sys.modules.pop(name, None)


@pytest.mark.usefixtures("index_plugins")
def test_a_dag_run_resolves_through_an_account_index_plugin(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    starfleet_deployment(deployment, monkeypatch, AccountIndex="CmdbAccountIndex")
    deployment.starfleet["AccountIndexLocation"] = None  # the plugin is the index
    deployment.add_template(
        "PasswordPolicyShip/strong.yaml",
        {
            "TemplateName": "Payments",
            "TemplateDescription": "d",
            "IncludeAccounts": {"ByOrgUnits": ["Payments"]},
            "MinimumPasswordLength": 12,
        },
    )
    deployment.write()
    with mock_aws():
        aws_world()
        result = run_dag("starfleet_password_policy_ship", conf={"commit": True})
        policies = {a: password_policy(a) for a in ("200000000001", "200000000002", "200000000003")}

    assert result.state == "success"
    rows = {row["account_id"]: row["account_name"] for row in result.report["rows"]}
    assert rows == {"200000000001": "payments-prod", "200000000002": "payments-dev"}  # the plugin's OU and names
    assert policies["200000000001"]["MinimumPasswordLength"] == 12 and policies["200000000002"] is not None
    assert policies["200000000003"] is None


@pytest.mark.usefixtures("index_plugins")
def test_cli_with_starfleets_testing_plugin_and_validate_names_an_unknown_plugin(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from starfleet_airflow.tools.cli.main import main

    starfleet_deployment(deployment, monkeypatch, AccountIndex="TestingAccountIndexPlugin")
    deployment.starfleet["AccountIndexLocation"] = None  # the plugin is the index
    deployment.write()
    assert main(["plan", "PasswordPolicyShip", "--format", "json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    # index_small.json: Production holds Prod-Web, Prod-Data and a SUSPENDED account (left out: ours).
    assert [t["account_name"] for t in entry["targets"]] == ["Prod-Web", "Prod-Data"]

    deployment.starfleet["AccountIndex"] = "NoSuchIndex"
    deployment.write()
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "STARFLEET.AccountIndex: no account-index plugin named 'NoSuchIndex'" in err
    assert "CmdbAccountIndex" in err and "TestingAccountIndexPlugin" in err  # what was found

    deployment.starfleet["AccountIndexLocation"] = "accountIndex.json"
    deployment.write()
    problems = [str(p) for p in load_configuration(deployment.config_dir).errors]
    assert any("STARFLEET.AccountIndexLocation: is read by StarfleetDefaultAccountIndex only" in p for p in problems)


# -- the import hook -----------------------------------------------------------------------------------------------


def test_starfleet_names_are_this_projects_objects() -> None:
    import starfleet_airflow
    from starfleet_airflow.core.alerts import ALERTS
    from starfleet_airflow.starfleet_compat import loader
    from starfleet_airflow.starfleet_compat.runtime import activate

    assert activate(STARFLEET_SHIPS)
    from starfleet.account_index.loader import ACCOUNT_INDEX
    from starfleet.utils.logging import LOGGER
    from starfleet.utils.niceties import get_all_regions
    from starfleet.worker_ships import plugins
    from starfleet.worker_ships.ship_schematics import StarfleetWorkerShip, WorkerShipPayloadBaseTemplate

    assert StarfleetWorkerShip is starfleet_airflow.StarfleetWorkerShip
    assert WorkerShipPayloadBaseTemplate is starfleet_airflow.WorkerShipPayloadBaseTemplate
    assert ACCOUNT_INDEX is loader.ACCOUNT_INDEX and LOGGER is logging.getLogger("starfleet")
    assert plugins.__path__ == [str(STARFLEET_SHIPS)]
    regions = get_all_regions(service="config")
    regions.discard("us-east-1")
    assert "us-east-1" in get_all_regions(service="config"), "every call is a new set"
    assert ALERTS is not None
    # This project installs no top-level 'starfleet' distribution (PyPI's 'starfleet' is another project).
    assert "starfleet" not in packages_distributions()


def test_a_real_starfleet_is_never_shadowed(tmp_path: Path) -> None:
    real = tmp_path / "site" / "starfleet"
    real.mkdir(parents=True)
    (real / "__init__.py").write_text("REAL = True\n")
    probe = textwrap.dedent(
        """
        import importlib, sys
        from starfleet_airflow.starfleet_compat.runtime import activate
        print("activated", activate())
        import starfleet
        print("real", getattr(starfleet, "REAL", False))
        try:
            importlib.import_module("starfleet.worker_ships.ship_schematics")
        except ModuleNotFoundError as exc:
            print("missing", exc.name)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    assert done.stdout.split("\n")[:3] == ["activated False", "real True", "missing starfleet.worker_ships"]
    assert f"a 'starfleet' package is installed ({real / '__init__.py'})" in done.stderr


def test_starfleet_ships_inline_use_the_default_credential_chain_not_the_connection(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Starfleet ship builds its own boto3 clients: the ship's Airflow connection (here one whose endpoint
    refuses every call) is not what it uses; the worker's environment credentials are."""
    refusing = {"conn_type": "aws", "extra": {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REFUSING", json.dumps(refusing))
    starfleet_deployment(deployment, monkeypatch)
    deployment.ships["PasswordPolicyShip"]["Airflow"]["AwsConnId"] = "aws_refusing"
    deployment.write()
    with mock_aws():
        result = run_dag("starfleet_password_policy_ship", conf={"commit": True})
        changed = [password_policy(a) is not None for a in PASSWORD_ACCOUNTS]

    assert result.state == "success" and all(changed)
