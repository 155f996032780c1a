"""docker-compose.yaml: structure checked against the repository and the installed Airflow.

No Docker engine runs here, so the file is parsed (``yaml.safe_load``, which also resolves the anchors and
merge keys compose uses) and every claim it makes is checked against something real: image tags against
the pinned requirements, commands against Airflow's own CLI parser, ``AIRFLOW__*`` variables against
Airflow's configuration reference, the API server health path against the installed FastAPI routes, the
AWS connection through Airflow's connection parser, and mounts against the folders in the repository.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / "docker" / "Dockerfile.dockerignore"

AIRFLOW_SERVICES = {
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-triggerer": ["airflow", "triggerer"],
}
JOB_CHECKED_SERVICES = {
    "airflow-scheduler": "airflow.jobs.scheduler_job_runner.SchedulerJobRunner",
    "airflow-dag-processor": "airflow.jobs.dag_processor_job_runner.DagProcessorJobRunner",
    "airflow-triggerer": "airflow.jobs.triggerer_job_runner.TriggererJobRunner",
}
PROJECT_MOUNTS = ("dags", "ships", "config", "templates")
ONE_SHOT_SERVICES = ("airflow-init", "aws-seed")


def _pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, names lower-cased."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def airflow_parser():
    from airflow.cli.cli_parser import get_parser

    return get_parser()


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def _healthcheck_argv(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), f"healthcheck.test must be exec form: {test}"
    return test[1:] if test[0] == "CMD" else shlex.split(test[1])


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """target -> source of the service's short-syntax volumes (``source:target[:mode]``)."""
    mounts = {}
    for entry in service.get("volumes", []):
        source, target, *_ = entry.split(":")
        mounts[target] = source
    return mounts


def test_services_are_the_full_stack(services):
    assert set(services) == {"postgres", "moto", *ONE_SHOT_SERVICES, *AIRFLOW_SERVICES}
    assert services["aws-seed"]["profiles"] == ["seed"], "seeding runs on demand, not with every `up`"


def test_airflow_image_matches_the_pinned_airflow(services):
    airflow_version = _pins(ROOT / "requirements.txt")["apache-airflow"]
    expected_base = f"apache/airflow:{airflow_version}-python3.11"
    dockerfile_default = re.search(r"^ARG AIRFLOW_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert dockerfile_default and dockerfile_default.group(1) == expected_base
    assert re.search(r"^FROM \$\{AIRFLOW_IMAGE\}$", DOCKERFILE.read_text(), re.MULTILINE)
    for name in (*ONE_SHOT_SERVICES, *AIRFLOW_SERVICES):
        build = services[name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        assert build["args"]["AIRFLOW_IMAGE"] == expected_base, name
        assert services[name]["image"].endswith(f":{airflow_version}-python3.11"), name


def test_dockerfile_installs_the_package_from_files_the_build_context_keeps():
    dockerfile = DOCKERFILE.read_text()
    copied = set()
    for sources in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, re.MULTILINE):
        copied.update(sources.split())
    assert {"requirements.txt", "pyproject.toml", "README.md", "starfleet_airflow", "ships"} <= copied
    kept = {line[1:].rstrip("/") for line in DOCKERIGNORE.read_text().splitlines() if line.startswith("!")}
    assert copied <= kept, f"COPY sources excluded from the build context: {copied - kept}"
    for source in copied:
        assert (ROOT / source).exists(), source
    assert 'pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r requirements.txt' in dockerfile
    assert "pip install --no-cache-dir --no-deps -e ." in dockerfile


def test_moto_image_matches_the_pinned_moto(services):
    moto_version = _pins(ROOT / "requirements-dev.txt")["moto"]
    assert services["moto"]["image"] == f"motoserver/moto:{moto_version}"
    assert "127.0.0.1:5000:5000" in services["moto"]["ports"]


def test_airflow_services_run_real_airflow_commands(services, airflow_parser):
    for name, expected in AIRFLOW_SERVICES.items():
        command = _command(services[name])
        assert command == expected, name
        airflow_parser.parse_args(command[1:])  # argparse exits on an unknown command
    init_script = _command(services["airflow-init"])[-1]
    assert "airflow db migrate" in init_script
    airflow_parser.parse_args(["db", "migrate"])


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            assert service["restart"] == "no"
            assert "healthcheck" not in service
            continue
        check = service["healthcheck"]
        for key in ("interval", "timeout", "retries"):
            assert key in check, f"{name}: healthcheck.{key}"


def test_postgres_healthcheck_uses_pg_isready_for_the_airflow_database(services):
    argv = _healthcheck_argv(services["postgres"])
    assert argv[0] == "pg_isready"
    env = services["postgres"]["environment"]
    assert argv[argv.index("-U") + 1] == env["POSTGRES_USER"]
    assert argv[argv.index("-d") + 1] == env["POSTGRES_DB"]


def test_apiserver_healthcheck_path_is_airflow_health_endpoint(services):
    from airflow.api_fastapi.core_api.routes.public import public_router

    argv = _healthcheck_argv(services["airflow-apiserver"])
    assert argv[0] == "curl" and "--fail" in argv
    url = urlsplit(argv[-1])
    assert url.hostname == "localhost" and url.port == 8080
    assert url.path in {route.path for route in public_router.routes}
    assert url.path.endswith("/monitor/health")
    assert "127.0.0.1:8080:8080" in services["airflow-apiserver"]["ports"]


def test_job_healthchecks_name_each_components_job_type(services, airflow_parser):
    import importlib

    for name, runner_path in JOB_CHECKED_SERVICES.items():
        module_name, class_name = runner_path.rsplit(".", 1)
        job_type = getattr(importlib.import_module(module_name), class_name).job_type
        argv = _healthcheck_argv(services[name])
        assert argv[:3] == ["airflow", "jobs", "check"], name
        parsed = airflow_parser.parse_args(argv[1:])
        assert parsed.job_type == job_type, name
        assert parsed.local, f"{name}: check the job of this container (--local), not any host's"


def test_moto_healthcheck_requests_the_moto_api(services):
    argv = _healthcheck_argv(services["moto"])
    assert argv[:2] == ["python3", "-c"]
    assert "http://localhost:5000/moto-api/" in argv[2]


def test_depends_on_waits_for_healthy_dependencies(services):
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            if dependency == "airflow-init":
                assert spec["condition"] == "service_completed_successfully", name
            else:
                assert spec["condition"] == "service_healthy", f"{name} -> {dependency}"
                assert "healthcheck" in services[dependency], f"{dependency} cannot become healthy"
    for name in AIRFLOW_SERVICES:
        needs = set(services[name]["depends_on"])
        assert {"postgres", "moto", "airflow-init"} <= needs, name
    assert set(services["airflow-init"]["depends_on"]) == {"postgres"}
    assert set(services["aws-seed"]["depends_on"]) == {"moto"}
    assert "airflow-apiserver" in services["airflow-scheduler"]["depends_on"]


def test_depends_on_has_no_cycle(services):
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert state.get(name) != "visiting", f"dependency cycle: {' -> '.join((*path, name))}"
        if state.get(name) == "done":
            return
        state[name] = "visiting"
        for dependency in services[name].get("depends_on", {}):
            visit(dependency, (*path, name))
        state[name] = "done"

    for name in services:
        visit(name, ())


def test_project_folders_are_mounted_where_the_environment_points(services):
    for name in AIRFLOW_SERVICES:
        service = services[name]
        mounts = _mounts(service)
        env = service["environment"]
        for folder in PROJECT_MOUNTS:
            target = f"/opt/starfleet/{folder}"
            assert mounts.get(target) == f"./{folder}", f"{name}: {folder}/ not mounted at {target}"
            assert (ROOT / folder).is_dir(), f"{folder}/ missing from the repository"
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/starfleet/dags"
        assert env["STARFLEET_CONFIG_DIR"] == "/opt/starfleet/config"
        assert mounts.get("/opt/airflow/logs") == "airflow-logs", f"{name}: logs must be shared with the API server"
    assert _mounts(services["airflow-apiserver"])["/opt/airflow/auth"] == "airflow-auth"
    assert _mounts(services["airflow-init"])["/opt/airflow/auth"] == "airflow-auth"


def test_named_volumes_are_declared(compose, services):
    declared = set(compose["volumes"])
    for name, service in services.items():
        for target, source in _mounts(service).items():
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} (at {target}) is not declared"


def test_airflow_settings_are_real_options(services):
    from airflow.configuration import conf

    options = conf.configuration_description
    for name in ("airflow-init", *AIRFLOW_SERVICES):
        for variable in services[name]["environment"]:
            if not variable.startswith("AIRFLOW__"):
                continue
            section, key = variable[len("AIRFLOW__") :].lower().split("__", 1)
            assert key in options.get(section, {}).get("options", {}), f"{name}: {variable} is not an Airflow option"


def test_airflow_environment_runs_local_executor_on_the_postgres_service(services):
    postgres = services["postgres"]["environment"]
    for name in ("airflow-init", *AIRFLOW_SERVICES):
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        url = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert url.scheme == "postgresql+psycopg2"
        assert (url.hostname, url.port) == ("postgres", 5432)
        assert (url.username, url.password, url.path.lstrip("/")) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            postgres["POSTGRES_DB"],
        )
        execution_api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (execution_api.hostname, execution_api.port) == ("airflow-apiserver", 8080)
        assert execution_api.path == "/execution/"


def test_auth_manager_is_importable_and_the_init_writes_its_password_file(services):
    import importlib

    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager

    env = services["airflow-apiserver"]["environment"]
    module_name, class_name = env["AIRFLOW__CORE__AUTH_MANAGER"].rsplit(".", 1)
    assert issubclass(getattr(importlib.import_module(module_name), class_name), BaseAuthManager)
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith("/opt/airflow/auth/")
    init_env = services["airflow-init"]["environment"]
    assert {"ADMIN_USER", "ADMIN_PASSWORD"} <= set(init_env)
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in _command(services["airflow-init"])[-1]


def test_aws_default_connection_points_at_the_moto_service(services):
    from airflow.models.connection import Connection
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    moto_port = int(services["moto"]["ports"][0].rsplit(":", 1)[1])
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        raw = env["AIRFLOW_CONN_AWS_DEFAULT"]
        json.loads(raw)  # valid JSON, not only something Airflow might guess at
        wrapper = AwsConnectionWrapper(Connection.from_json(raw, conn_id="aws_default"))
        endpoint = urlsplit(wrapper.endpoint_url)
        assert (endpoint.hostname, endpoint.port) == ("moto", moto_port), name
        assert wrapper.region_name == env["AWS_DEFAULT_REGION"]
        assert env["AWS_ENDPOINT_URL"] == wrapper.endpoint_url, f"{name}: plain boto3 clients must hit moto too"


def _host_path(service: dict[str, Any], container_path: str) -> Path:
    """The repository path a container path of ``service`` comes from (through its bind mounts)."""
    for target, source in _mounts(service).items():
        if source.startswith(".") and (container_path == target or container_path.startswith(target + "/")):
            return ROOT / source / container_path[len(target) :].lstrip("/")
    raise AssertionError(f"{container_path} is not bind-mounted from the repository")


@pytest.fixture()
def moto_server(monkeypatch):
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_aws_seed_service_seeds_an_organisation_and_the_configured_queues(services, moto_server):
    import subprocess
    import sys

    import boto3

    from starfleet_airflow.core.config import load_configuration

    seed = services["aws-seed"]
    command = _command(seed)
    script = _host_path(seed, command[1])
    config_dir = _host_path(seed, seed["environment"]["STARFLEET_CONFIG_DIR"])
    assert command[0] == "python" and script.is_file() and config_dir == ROOT / "config"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STARFLEET_"))}
    env.update(
        AWS_ENDPOINT_URL=moto_server,  # the moto service, here on loopback
        STARFLEET_CONFIG_DIR=str(config_dir),
        SEED_ACCOUNTS="4",
        AWS_DEFAULT_REGION=seed["environment"]["AWS_DEFAULT_REGION"],
    )
    runs = [subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    assert "already seeded" in runs[1].stdout

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    organizations = session.client("organizations", endpoint_url=moto_server)
    accounts = organizations.list_accounts()["Accounts"]
    assert len(accounts) == 4 + 1, "the member accounts and the management account"
    expected_queues = {
        section["InvocationQueueUrl"].rsplit("/", 1)[1]
        for section in load_configuration(config_dir).raw.values()
        if isinstance(section, dict) and section.get("InvocationQueueUrl")
    }
    assert expected_queues, "the sample configuration names worker queues"
    queue_urls = session.client("sqs", endpoint_url=moto_server).list_queues().get("QueueUrls", [])
    assert {url.rsplit("/", 1)[1] for url in queue_urls} == expected_queues
