"""Nothing can hang: task and run timeouts on every ship DAG, a time limit per inline target.

A target that hangs is the ship blocking on ``recorders.HANG``, an event nothing sets while the run
lasts: the limit must fire, the target be reported as timed out, the other targets finish, and the
process that ran them exit although the hung thread never returns.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.delivery.inline import run_targets
from tests.airflow_fixtures import FACTORY_SHIPS, REPO, Deployment
from tests.fixtures.factory_ships import recorders

TEMPLATE = {
    "TemplateName": "Hang",
    "TemplateDescription": "one account hangs",
    "IncludeAccounts": {"AllAccounts": True},
    "HangFor": ["100000000002"],
}
TARGETS = [("100000000001", None), ("100000000002", None), ("100000000003", None)]


@pytest.fixture
def released() -> Iterator[None]:
    """Release the threads a test left blocked on HANG once it is over (the event is never set during it)."""
    yield
    recorders.HANG.set()
    recorders.HANG.clear()


def inline_ship(deployment: Deployment, **airflow: Any) -> Any:
    deployment.write_index({"accounts": {}})
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE", **airflow},
    }
    configuration = load_configuration(deployment.write())
    registry = load_ships(configuration, FACTORY_SHIPS, use_entry_points=False)
    return configuration, registry


def test_ship_dags_carry_task_and_run_timeouts(deployment: Deployment) -> None:
    from starfleet_airflow.airflow.ship_dag import build_ship_dag

    configuration, registry = inline_ship(deployment)
    dag = build_ship_dag(registry.ships["AccountRecorderShip"], configuration)
    assert dag.dagrun_timeout == timedelta(hours=6)
    assert {t.task_id: t.execution_timeout for t in dag.tasks} == {
        "plan": timedelta(minutes=10),
        "deliver": timedelta(hours=1),
        "report": timedelta(minutes=10),
    }

    configuration, registry = inline_ship(
        deployment,
        PlanTimeoutSeconds=60,
        DeliverTimeoutSeconds=120,
        ReportTimeoutSeconds=30,
        RunTimeoutSeconds=600,
        TargetTimeoutSeconds=100,
    )
    dag = build_ship_dag(registry.ships["AccountRecorderShip"], configuration)
    assert dag.dagrun_timeout == timedelta(minutes=10)
    assert [t.execution_timeout.total_seconds() for t in dag.tasks] == [60, 120, 30]


def test_a_target_limit_must_be_below_the_deliver_task_limit(deployment: Deployment) -> None:
    _, registry = inline_ship(deployment, TargetTimeoutSeconds=600, DeliverTimeoutSeconds=600)
    [problem] = [p for p in registry.errors if p.ship == "AccountRecorderShip"]
    assert problem.key == "Airflow.TargetTimeoutSeconds"
    assert problem.message == (
        "expected less than Airflow.DeliverTimeoutSeconds (600), got 600: a target that hangs must time out"
        " before its deliver task does, or the task loses every outcome of its unit"
    )


@pytest.mark.usefixtures("released")
def test_a_hung_target_times_out_and_the_others_finish(deployment: Deployment) -> None:
    _, registry = inline_ship(deployment, TargetTimeoutSeconds=1, Concurrency=2)
    outcomes = run_targets(
        registry.ships["AccountRecorderShip"],
        TEMPLATE,
        "AccountRecorderShip/hang.yaml",
        TARGETS,
        commit=False,
        run_context=RunContext(),
        session_factory=None,
        concurrency=2,
        target_timeout=1,
    )
    assert [(o.account_id, o.status) for o in outcomes] == [
        ("100000000001", "succeeded"),
        ("100000000002", "timed out"),
        ("100000000003", "succeeded"),
    ]
    assert outcomes[1].error == (
        "timed out after 1 s (Airflow.TargetTimeoutSeconds); the ship may have made some of its changes"
    )


CHILD = """
import json, sys
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.delivery.inline import run_targets

registry = load_ships(load_configuration(sys.argv[1]), use_entry_points=False)
outcomes = run_targets(
    registry.ships["AccountRecorderShip"], json.loads(sys.argv[2]), "hang.yaml", json.loads(sys.argv[3]),
    commit=False, run_context=RunContext(), session_factory=None, concurrency=1, target_timeout=1,
)
print(json.dumps([o.status for o in outcomes]), flush=True)
"""


def test_the_process_exits_although_the_hung_thread_never_returns(deployment: Deployment) -> None:
    """What a deliver task's process does after its last target: return, and exit (Airflow's task runner)."""
    inline_ship(deployment, TargetTimeoutSeconds=1)
    arguments = [str(deployment.config_dir), json.dumps(TEMPLATE), json.dumps(TARGETS)]
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), *arguments],
        cwd=REPO,
        env={**_environment(), "STARFLEET_SHIPS_DIR": str(FACTORY_SHIPS)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = child.communicate(timeout=120)  # a safety net: the fixed code exits in about a second
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail("the process is still alive two minutes later: a thread blocked on HANG keeps it running")
    assert child.returncode == 0, err
    assert json.loads(out) == ["succeeded", "timed out", "succeeded"]


def _environment() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")} | {"PYTHONPATH": str(Path(REPO))}


class BlockedSqs:
    """An SQS stand-in whose calls block until ``gate`` opens (the network stalls)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
        self.gate.wait()
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class TaskTimeout(Exception):
    """What Airflow raises in the task's main thread when execution_timeout fires (SIGALRM)."""


def test_a_task_timeout_during_sqs_sends_stops_them_at_once() -> None:
    from starfleet_airflow.delivery.sqs import SqsSender

    def alarm(signum: int, frame: Any) -> None:
        raise TaskTimeout

    fake = BlockedSqs()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.2)  # while the two first calls are blocked on the gate
    try:
        with pytest.raises(TaskTimeout):
            SqsSender(fake, "https://sqs.us-east-1.amazonaws.com/1/q", concurrency=2).send(["{}"] * 60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        fake.gate.set()
    for thread in threading.enumerate():
        if thread.name.startswith("sqs-send"):
            thread.join(timeout=30)
    assert fake.calls == 2, "the four queued batches were cancelled, not sent after the timeout"
