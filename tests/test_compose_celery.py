"""docker-compose.celery.yaml, the Celery variant: structure checked against the base file, Airflow and the
stack's settings (no Docker engine runs here), and its seeding run against moto."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import boto3
import pytest
import yaml
from moto import mock_aws

from starfleet_airflow.core.config import load_configuration
from tests.test_compose import AIRFLOW_SERVICES, ROOT

CELERY_FILE = ROOT / "docker-compose.celery.yaml"
AIRFLOW_WITH_WORKER = (*AIRFLOW_SERVICES, "airflow-worker")


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"]


@pytest.fixture(scope="module")
def celery() -> dict[str, Any]:
    return yaml.safe_load(CELERY_FILE.read_text())["services"]


def test_the_override_only_names_services_of_the_base_file_plus_redis_and_the_worker(base, celery) -> None:
    assert set(celery) - set(base) == {"redis", "airflow-worker"}
    extends = celery["airflow-worker"]["extends"]
    assert extends["file"] == "docker-compose.yaml" and extends["service"] in base
    assert celery["airflow-worker"]["deploy"]["replicas"] == 2


def test_every_airflow_service_runs_celery_on_the_redis_service(celery) -> None:
    for name in ("airflow-init", *AIRFLOW_WITH_WORKER):
        env = celery[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379)
        backend = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        assert (backend.scheme, backend.hostname) == ("db+postgresql+psycopg2", "postgres")
    assert celery["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert celery["airflow-worker"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_the_celery_settings_are_real_airflow_options(celery) -> None:
    from airflow.configuration import conf

    conf.load_providers_configuration()
    options = conf.configuration_description
    for name in AIRFLOW_WITH_WORKER:
        for variable in celery[name]["environment"]:
            if variable.startswith("AIRFLOW__"):
                section, key = variable[len("AIRFLOW__") :].lower().split("__", 1)
                assert key in options.get(section, {}).get("options", {}), f"{name}: {variable}"


def test_the_worker_runs_a_real_airflow_command(celery) -> None:
    from airflow.cli.cli_parser import get_parser

    command = celery["airflow-worker"]["command"]
    assert command[:3] == ["airflow", "celery", "worker"]
    args = get_parser().parse_args(command[1:])
    assert args.queues == celery["airflow-worker"]["environment"]["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]


def test_its_configuration_keeps_every_location_on_s3_and_is_mounted(celery) -> None:
    for name in AIRFLOW_WITH_WORKER:
        env, mounts = celery[name]["environment"], celery[name]["volumes"]
        config_dir = env["STARFLEET_CONFIG_DIR"]
        source = next(m.split(":")[0] for m in mounts if m.split(":")[1] == config_dir)
        configuration = load_configuration(ROOT / source)
        assert configuration.ok, configuration.errors
        for location in (
            configuration.template_location,
            configuration.account_index_location,
            configuration.snapshot_location,
        ):
            assert location is not None and location.is_s3, f"{name}: {location} is not on S3"
        assert env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"].startswith("s3://")


def _seed_module() -> Any:
    spec = importlib.util.spec_from_file_location("seed_stand_in", ROOT / "docker" / "seed_stand_in.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_the_seed_puts_templates_buckets_and_the_event_notification_in_s3(monkeypatch) -> None:
    monkeypatch.setenv("STARFLEET_TEMPLATES_DIR", str(ROOT / "templates"))
    configuration = load_configuration(ROOT / "stack" / "config")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        _seed_module().seed_s3(session, None, configuration)
        s3, sqs = session.client("s3"), session.client("sqs")
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="starfleet-templates")["Contents"])
        notification = s3.get_bucket_notification_configuration(Bucket="starfleet-templates")
        url = sqs.get_queue_url(QueueName="starfleet-template-events")["QueueUrl"]
        s3.put_object(Bucket="starfleet-templates", Key="IamRoleWorkerShip/new.yaml", Body=b"TemplateName: x\n")
        bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    expected = sorted(p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*.yaml"))
    assert keys == expected
    assert notification["QueueConfigurations"][0]["Events"] == ["s3:ObjectCreated:*"]
    created = [unquote_plus(r["s3"]["object"]["key"]) for b in bodies for r in b.get("Records", [])]  # URL-encoded
    assert created == ["IamRoleWorkerShip/new.yaml"]
    assert Path(ROOT / "stack" / "templates").resolve() == (ROOT / "templates").resolve()
