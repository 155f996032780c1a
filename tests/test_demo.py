"""The demo's building blocks for real: the port check, the seeded stand-in, and a small demo end to end.

The end-to-end test runs ``run_demo`` as ``scripts/demo.sh`` does (moto server in this process, real
``airflow dags test`` children on a SQLite DB of their own) with a 5-account organisation and two of the
four ships; the full demo is measured by hand (docs/demo.md).
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import socket
from pathlib import Path

import boto3
import pytest
import yaml

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.devtools.demo import DemoOptions, Printer, run_demo
from starfleet_airflow.devtools.stand_in.ports import DemoError, ensure_port_free, free_port, proxy_environment
from starfleet_airflow.devtools.stand_in.server import environment, stand_in_process_environment, start_stand_in

REPO = Path(__file__).resolve().parent.parent


def _deployment(tmp_path: Path, starfleet_changes: dict | None = None) -> Path:
    """A copy of the embedded default (config/ and templates/), so its relative paths land in tmp."""
    root = tmp_path / "deployment"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "templates", root / "templates")
    if starfleet_changes:
        path = root / "config" / "starfleet.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["STARFLEET"].update(starfleet_changes)
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return root / "config"


def _configured_queue_names(config_dir: Path) -> set[str]:
    """Queue names of the sections that deliver to SQS (the default when ``Airflow.DeliveryMode`` is absent)."""
    names = set()
    for path in config_dir.glob("*.yaml"):
        for section in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).values():
            mode = ((section or {}).get("Airflow") or {}).get("DeliveryMode", "SQS")
            if section.get("InvocationQueueUrl") and mode.upper() == "SQS":
                names.add(section["InvocationQueueUrl"].rstrip("/").rsplit("/", 1)[-1])
    return names


def test_a_taken_port_is_reported_with_its_holder() -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(DemoError) as raised:
            ensure_port_free("127.0.0.1", port)
    message = str(raised.value)
    assert f"127.0.0.1:{port} is already in use" in message
    assert f"pid {os.getpid()}" in message
    assert "--port" in message  # not moto: how to avoid the port


def _time_wait_on(port_holder: socket.socket) -> int:
    """Accept one connection on ``port_holder`` and close it server side first: the port is left in TIME_WAIT."""
    port = port_holder.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = port_holder.accept()
    accepted.close()  # the side that closes first keeps TIME_WAIT (60 s on Linux) on the server's port
    client.close()
    port_holder.close()
    return port


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free() -> None:
    """Re-running the demo right after a ``--serve`` session: nothing listens, connections linger in TIME_WAIT."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = _time_wait_on(server)
    with socket.socket() as naive:  # the situation is real: a bind without SO_REUSEADDR is refused
        with pytest.raises(OSError) as refused:
            naive.bind(("127.0.0.1", port))
        assert refused.value.errno == errno.EADDRINUSE
    ensure_port_free("127.0.0.1", port)  # no DemoError: moto's server binds with SO_REUSEADDR too


def test_a_listening_server_that_reuses_addresses_still_holds_its_port() -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(DemoError, match=f"pid {os.getpid()}"):
            ensure_port_free("127.0.0.1", port)


def test_the_proxy_route_keeps_s3_control_and_spares_airflows_own_traffic(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore must send ``<account>.127.0.0.1`` through the stand-in; Airflow's log fetch and API go direct."""
    import botocore.utils
    import requests.utils

    for name, value in proxy_environment("http://127.0.0.1:5000").items():
        monkeypatch.setenv(name, value)
    assert not botocore.utils.should_bypass_proxies("http://123456789012.127.0.0.1:5000/v20180820/configuration")
    assert not botocore.utils.should_bypass_proxies("http://127.0.0.1:5000/")  # the stand-in itself: fine too
    served_log = f"http://{socket.getfqdn()}:8793/log/dag_id=x/run_id=y/task_id=z/attempt=1.log"
    for url in (served_log, f"http://{socket.gethostname()}:8793/log/x", "http://localhost:8080/execution/"):
        assert requests.utils.should_bypass_proxies(url, no_proxy=None), url  # Airflow fetches served logs so
    assert requests.utils.should_bypass_proxies("http://127.0.0.1:8793/log/x", no_proxy=None)


def test_a_moto_server_on_the_port_is_recognised() -> None:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with pytest.raises(DemoError, match="answers as a moto server"):
            ensure_port_free("127.0.0.1", port)
    finally:
        server.stop()


def test_the_stand_in_is_seeded_from_the_configuration_and_fresh_every_time(tmp_path: Path) -> None:
    config_dir = _deployment(tmp_path)
    configuration = load_configuration(config_dir)
    registry = load_ships(configuration)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    expected_queues = _configured_queue_names(config_dir)
    assert expected_queues, "the sample configuration has SQS ships"

    with environment(stand_in_process_environment(endpoint)):
        stand_in = start_stand_in(configuration, registry, port=port, n_accounts=6)
        try:
            sqs = stand_in.client("sqs")
            assert {url.rsplit("/", 1)[-1] for url in sqs.list_queues()["QueueUrls"]} == expected_queues
            assert len(stand_in.fixture.accounts) == 7 and stand_in.fixture.regions_varied
            # Every role a section names exists in member accounts (AwsConfigWorkerShip's differs from the rest).
            member = sorted(stand_in.fixture.member_account_ids())[0]
            credentials = stand_in.client("sts").assume_role(
                RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="test"
            )["Credentials"]
            iam = boto3.client(
                "iam",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
            roles = {role["RoleName"] for role in iam.list_roles()["Roles"]}
            assert {"starfleet-worker-role", "starfleet-worker-basic-test-role"} <= roles
            # The AWS-managed policies the sample templates attach exist, so `run IamRoleWorkerShip --commit` works.
            assert stand_in.managed_policies == ["SecurityAudit", "ViewOnlyAccess"]
            for arn in ("arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"):
                assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn
            sqs.create_queue(QueueName="left-over-from-the-first-run")
        finally:
            stand_in.stop()

        again = start_stand_in(configuration, registry, port=port, n_accounts=6)  # same port, no "already exists"
        try:
            urls = again.client("sqs").list_queues()["QueueUrls"]
            assert {url.rsplit("/", 1)[-1] for url in urls} == expected_queues
            assert again.fixture.accounts.keys() == stand_in.fixture.accounts.keys()  # same seed, same ids
        finally:
            again.stop()


def test_s3_locations_get_their_buckets_and_the_templates_are_uploaded(tmp_path: Path) -> None:
    config_dir = _deployment(
        tmp_path,
        {"TemplateLocation": "s3://demo-templates/starfleet/", "AccountIndexLocation": "s3://demo-index/i.json"},
    )
    configuration = load_configuration(config_dir)
    assert not configuration.errors
    port = free_port()
    with environment(stand_in_process_environment(f"http://127.0.0.1:{port}")):
        stand_in = start_stand_in(configuration, load_ships(configuration), port=port, n_accounts=2)
        try:
            s3 = stand_in.client("s3")
            assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"demo-templates", "demo-index"}
            keys = {o["Key"] for o in s3.list_objects_v2(Bucket="demo-templates")["Contents"]}
            local = {
                "starfleet/" + p.relative_to(REPO / "templates").as_posix()
                for p in (REPO / "templates").rglob("*.yaml")
            }
            assert keys == local and stand_in.uploaded_templates == len(local)
        finally:
            stand_in.stop()


def test_a_small_demo_runs_the_real_dags_end_to_end(tmp_path: Path) -> None:
    """Generator (commit), then an inline ship as dry run and commit: what the summary says is true.

    Three runs keep it under a minute (each ``airflow dags test`` costs ~9 s before any task runs); the
    SQS ships' fan-out is covered by the factory's tests and shown by the full demo.
    """
    config_dir = _deployment(tmp_path)
    output = io.StringIO()
    options = DemoOptions(
        config_dir=config_dir,
        state_dir=tmp_path / "state",
        port=free_port(),
        accounts=5,
        ships=("AccountIndexGeneratorShip", "S3PublicAccessBlockWorkerShip"),
    )
    index_path = config_dir.parent / ".starfleet" / "accountIndex.json"
    assert not index_path.exists()
    result = run_demo(options, Printer(output))
    printed = output.getvalue()

    assert [(run.ship, run.conf.get("commit"), run.state) for run in result.runs] == [
        ("AccountIndexGeneratorShip", True, "success"),
        ("S3PublicAccessBlockWorkerShip", False, "success"),
        ("S3PublicAccessBlockWorkerShip", True, "success"),
    ], printed
    generator, dry_run, commit = result.runs

    # The index: none existed before; this run's generator (which plans without one) wrote it, matching
    # the seeded organisation.
    assert result.index is not None and result.index["accounts"] == 6 and result.index["matches_seeded_organisation"]
    written = json.loads(index_path.read_text())
    assert len(written["accounts"]) == 6 and written["generated"] == result.index["generated"]
    assert generator.result["report"]["succeeded"] == 1

    # No SQS ship ran: the configured queues exist and are empty.
    assert result.queues == {name: {"visible": 0, "in_flight": 0} for name in _configured_queue_names(config_dir)}

    # Inline: the dry run changed nothing in the stand-in; the commit set every target account.
    targets = commit.result["summary"]["total_targets"]
    active = result.index["statuses"]["ACTIVE"]
    assert 0 < targets <= active
    assert dry_run.checks[0].startswith(f"0 of {active} active accounts")
    assert commit.checks[0].startswith(f"{targets} of {active} active accounts")
    assert commit.result["report"]["succeeded"] == targets

    # What the user sees: progress per step, where the logs are, how to open the UI.
    assert "plan     1 target in 1 work unit" in printed
    assert f"deliver  {targets}/{targets} work units done, 0 failed" in printed
    assert "source " in printed and "airflow standalone" in printed
    summary = json.loads((result.log_dir / "summary.json").read_text())
    assert summary["ok"] and len(summary["runs"]) == 3
    for run in result.runs:
        assert (Path.cwd() / run.log_path).is_file() and (Path.cwd() / str(run.report_path)).is_file()
    # The task logs are where the Airflow UI reads them (dags test writes none): one file per attempt.
    logs_root = tmp_path / "state" / "airflow" / "logs"
    for run in result.runs:
        written = [Path(p) for p in run.result["task_logs"]]
        tasks = run.result["tasks"]
        assert len(written) == sum(sum(states.values()) for states in tasks.values())
        assert all(p.is_file() and logs_root in p.parents for p in written)
        plan_log = next(p for p in written if "task_id=plan" in str(p))
        assert f"dag_id={run.dag_id}" in str(plan_log) and plan_log.name == "attempt=1.log"
        assert "[DAG TEST] starting task_id=plan" in plan_log.read_text()
    env_file = (tmp_path / "state" / "demo-env.sh").read_text()
    assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{options.port}" in env_file


def test_the_summary_names_the_file_of_an_invalid_template() -> None:
    from starfleet_airflow.devtools.demo.summary import RunRecord, render_run

    record = RunRecord("S3PublicAccessBlockWorkerShip", "starfleet_s3", {"commit": False}, "run inline", "x.log")
    location = str(REPO / "templates" / "S3PublicAccessBlockWorkerShip" / "broken.yaml")
    record.result = {
        "state": "failed",
        "summary": {
            "total_targets": 0,
            "strategy": "ACCOUNT",
            "delivery_mode": "INLINE",
            "invalid": [
                {"key": "S3PublicAccessBlockWorkerShip/broken.yaml", "errors": ["Bad: nope"], "location": location}
            ],
        },
        "report": {
            "rows": [
                {
                    "template": "S3PublicAccessBlockWorkerShip/broken.yaml",
                    "outcome": "invalid template",
                    "error": "Bad: nope",
                }
            ],
            "verdict": "FAILED",
        },
    }
    lines = render_run(1, record, {}, lambda path: str(Path(path).relative_to(REPO)))
    assert "   invalid   templates/S3PublicAccessBlockWorkerShip/broken.yaml: Bad: nope" in lines
    assert not any(line.startswith("   failed    - (-)") for line in lines)  # not a row without account or file


def test_impossible_options_are_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from starfleet_airflow.devtools.demo.main import parse_args

    for argv, message in (
        (["--port", "99999"], "--port: expected a TCP port number"),
        (["--accounts", "0"], "--accounts"),
    ):
        with pytest.raises(SystemExit) as stopped:
            parse_args(argv)
        assert stopped.value.code == 2
        assert message in capsys.readouterr().err and "Traceback" not in capsys.readouterr().err
