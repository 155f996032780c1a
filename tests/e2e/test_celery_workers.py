"""Two Celery workers that share nothing but the database, the broker and S3: one run spans both, and a
worker that dies mid-task has its task retried on the other.

The full AwsConfigWorkerShip run (every account x enabled region of the seeded organisation) is cut into
work units of 100 targets (stack/config/aws_config.yaml), twelve deliver tasks, more than one worker's
four Celery processes can take at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from starfleet_airflow.devtools.stack import processes
from starfleet_airflow.devtools.stack.api import AirflowApi, StackEnv
from starfleet_airflow.devtools.stack.settings import REPO
from tests.e2e.conftest import drain_queue, expected_targets

AWS_CONFIG = "starfleet_aws_config_worker_ship"
AWS_CONFIG_QUEUE = "starfleet-aws-config-worker"
AWS_CONFIG_TEMPLATE = "AwsConfigWorkerShip/enable_aws_config.yaml"


def _delivers(api: AirflowApi, run_id: str) -> list[dict[str, Any]]:
    return [ti for ti in api.task_instances(AWS_CONFIG, run_id) if ti["task_id"] == "deliver"]


def _assert_report_accounts_for(report: dict[str, Any], targets: int) -> None:
    assert report["targets"] == targets
    assert report["succeeded"] + report["failed"] + report["undelivered"] == targets
    assert report["crashed_units"] == []


def test_one_run_delivers_on_both_workers_and_the_report_accounts_for_every_target(
    stack: StackEnv, api: AirflowApi, index: dict[str, Any], unpaused, run_id: str
) -> None:
    expected = expected_targets(index, "AwsConfigWorkerShip", AWS_CONFIG_TEMPLATE)
    drain_queue(stack, AWS_CONFIG_QUEUE)
    unpaused(AWS_CONFIG)

    api.trigger(AWS_CONFIG, run_id)
    run = api.wait_for_run(AWS_CONFIG, run_id, timeout=600)

    assert run["state"] == "success"
    delivers = _delivers(api, run_id)
    assert len(delivers) == -(-len(expected) // 100)
    assert {ti["hostname"] for ti in delivers} == set(stack["STARFLEET_STACK_WORKERS"].split(","))
    report = api.xcom(AWS_CONFIG, run_id, "report")
    _assert_report_accounts_for(report, len(expected))
    assert report["failed"] == 0 and report["ok"] is True
    bodies = drain_queue(stack, AWS_CONFIG_QUEUE)[run_id]
    assert sorted((b["StarbaseAssignedAccount"], b["StarbaseAssignedRegion"]) for b in bodies) == sorted(expected)


def _freeze_a_running_deliver(api: AirflowApi, run_dir: Any, run_id: str, timeout: float) -> tuple[str, int]:
    """Freeze (SIGSTOP) the worker of a deliver task that is running, and return (worker, map index).

    Frozen, the worker can neither finish the task nor report on it, so the task seen running after the
    freeze is certainly in flight; if it finished just before, the worker is thawed and the next running
    task is taken.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ti in _delivers(api, run_id):
            if ti["state"] != "running" or not ti["hostname"]:
                continue
            worker = processes.find(run_dir, ti["hostname"])
            assert worker is not None, f"{ti['hostname']}: not a worker of this stack"
            processes.freeze_tree(worker.pid)
            again = next(t for t in _delivers(api, run_id) if t["map_index"] == ti["map_index"])
            if again["state"] == "running" and again["try_number"] == ti["try_number"]:
                return ti["hostname"], ti["map_index"]
            processes.signal_tree(worker.pid, signal.SIGCONT)
        time.sleep(0.5)
    raise AssertionError(f"no deliver task of {run_id} was seen running within {timeout:.0f} s")


def test_a_killed_worker_s_deliver_task_is_retried_on_the_other_worker(
    stack: StackEnv, api: AirflowApi, index: dict[str, Any], unpaused, run_id: str
) -> None:
    # Four regions enabled everywhere: three work units, all running at once (none left queued on the victim).
    regions = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1"]
    expected = [t for t in expected_targets(index, "AwsConfigWorkerShip", AWS_CONFIG_TEMPLATE) if t[1] in regions]
    run_dir = stack.path.parent / "run"
    workers = set(stack["STARFLEET_STACK_WORKERS"].split(","))
    drain_queue(stack, AWS_CONFIG_QUEUE)
    unpaused(AWS_CONFIG)
    api.trigger(AWS_CONFIG, run_id, {"regions": regions})
    try:
        victim, map_index = _freeze_a_running_deliver(api, run_dir, run_id, timeout=300)
        killed = processes.kill_tree(run_dir, victim)  # SIGKILL: the machine is gone, nothing cleans up
        assert killed, f"{victim}: nothing was killed"

        run = api.wait_for_run(AWS_CONFIG, run_id, timeout=600)
    finally:
        # Bring the killed worker back for the tests after this one (up starts only what is missing).
        subprocess.run(
            [sys.executable, "-m", "starfleet_airflow.devtools.stack", "up"],
            cwd=REPO,
            env={**os.environ, "STARFLEET_STACK_DIR": stack["STARFLEET_STACK_DIR"]},
            check=True,
            stdout=subprocess.DEVNULL,
        )

    tries = api.task_tries(AWS_CONFIG, run_id, "deliver", map_index)
    first, last = tries[0], tries[-1]
    assert first["hostname"] == victim and first["state"] == "failed"
    assert last["state"] == "success" and last["hostname"] in workers - {victim}
    assert run["state"] == "success"
    report = api.xcom(AWS_CONFIG, run_id, "report")
    _assert_report_accounts_for(report, len(expected))
    # Every target ends delivered (the retried unit was sent again: SQS is at-least-once).
    bodies = drain_queue(stack, AWS_CONFIG_QUEUE)[run_id]
    assert {(b["StarbaseAssignedAccount"], b["StarbaseAssignedRegion"]) for b in bodies} == set(expected)
