"""Runs on the stack's benchmark profile: bring it up, point its SQS connection at the loopback endpoint, time runs.

The profile is the production-shaped stack (``scripts/stack.sh``: PostgreSQL, Redis, the stand-in, Celery with
two workers) with its own state folder (``.starfleet/stack-benchmark``, so the default stack's state is never
touched) and the configuration ``stack/benchmark/config`` (two no-op ships, every location on the stand-in's S3).
The figures come from Airflow itself through the REST API, as a user's tooling would see them: a run's wall time
is ``queued_at`` to ``end_date``, its deliver span the first deliver task's start to the last one's end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starfleet_airflow.devtools.stack.api import AirflowApi, ApiError, StackEnv
from starfleet_airflow.devtools.stack.settings import CONFIG_DIR_ENV, STATE_BUCKET, STATE_DIR_ENV

REPO = Path(__file__).resolve().parents[3]
PROFILE_CONFIG = REPO / "stack" / "benchmark" / "config"
PROFILE_STATE = REPO / ".starfleet" / "stack-benchmark"
STACK_SCRIPT = REPO / "scripts" / "stack.sh"
SQS_CONN_ID = "benchmark_sqs"  # stack/benchmark/config/starfleet.yaml, NoOpRegionShip.Airflow.AwsConnId
INDEX_KEY = "benchmark/accountIndex.json"  # its STARFLEET.AccountIndexLocation
RUN_TIMEOUT = 900.0


@dataclass(frozen=True)
class StackRun:
    """One finished run as Airflow recorded it."""

    run_id: str
    state: str
    wall: float  # queued_at -> end_date
    deliver_span: float  # first deliver start -> last deliver end
    per_worker: Mapping[str, int]  # deliver task instances per worker host name
    labels: tuple[str, ...]  # each deliver task's rendered label (map_index_template)

    @property
    def deliver_tasks(self) -> int:
        return sum(self.per_worker.values())


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def summarise(run: Mapping[str, Any], task_instances: list[Mapping[str, Any]]) -> StackRun:
    """A run and its task instances (REST API shapes) as the figures the benchmark prints."""
    delivers = [ti for ti in task_instances if ti["task_id"] == "deliver"]
    if not delivers or any(not ti.get("start_date") or not ti.get("end_date") for ti in delivers):
        states = sorted(str(ti.get("state")) for ti in delivers)
        raise ValueError(f"run {run['dag_run_id']}: deliver tasks did not all start and end (states {states})")
    first = min(_when(ti["start_date"]) for ti in delivers)
    last = max(_when(ti["end_date"]) for ti in delivers)
    return StackRun(
        run_id=run["dag_run_id"],
        state=run["state"],
        wall=(_when(run["end_date"]) - _when(run["queued_at"])).total_seconds(),
        deliver_span=(last - first).total_seconds(),
        per_worker=dict(sorted(Counter(str(ti.get("hostname")) for ti in delivers).items())),
        labels=tuple(str(ti.get("rendered_map_index") or "") for ti in sorted(delivers, key=lambda t: t["map_index"])),
    )


def measure_run(api: AirflowApi, dag_id: str, timeout: float = RUN_TIMEOUT) -> StackRun:
    """Trigger ``dag_id`` at full scope through the REST API, wait for it, and summarise it."""
    run_id = f"benchmark-{uuid.uuid4().hex[:8]}"
    api.trigger(dag_id, run_id)
    run = api.wait_for_run(dag_id, run_id, timeout=timeout, interval=1.0)
    return summarise(run, api.task_instances(dag_id, run_id))


def put_aws_connection(api: AirflowApi, conn_id: str, endpoint_url: str, stack: StackEnv) -> None:
    """Create (or update) an AWS connection in the metadata DB, through the REST API."""
    extra = {"region_name": stack["AWS_DEFAULT_REGION"], "endpoint_url": endpoint_url}
    body = {
        "connection_id": conn_id,
        "conn_type": "aws",
        "login": stack["AWS_ACCESS_KEY_ID"],
        "password": stack["AWS_SECRET_ACCESS_KEY"],
        "extra": json.dumps(extra),
    }
    try:
        api.call("POST", "/api/v2/connections", json=body)
    except ApiError as exc:
        if exc.status != 409:
            raise
        api.call("PATCH", f"/api/v2/connections/{conn_id}", json=body)


def upload_index(stack: StackEnv, index: Mapping[str, Any]) -> None:
    """The profile's account index (read by the plan task when a run starts): replaced before each measurement."""
    body = json.dumps(index).encode()
    stack.aws_client("s3").put_object(Bucket=STATE_BUCKET, Key=INDEX_KEY, Body=body)


def profile_environment() -> dict[str, str]:
    return {**os.environ, STATE_DIR_ENV: str(PROFILE_STATE), CONFIG_DIR_ENV: str(PROFILE_CONFIG)}


def _stack(command: str, check: bool) -> int:
    """``scripts/stack.sh COMMAND`` on the profile; its progress goes to stderr, the figures stay on stdout."""
    done = subprocess.run([str(STACK_SCRIPT), command], env=profile_environment(), stdout=sys.stderr, check=check)
    return done.returncode


@contextmanager
def benchmark_stack() -> Iterator[tuple[StackEnv, float | None]]:
    """The profile's stack, up for the block: started (and afterwards stopped, by pid) unless it already ran.

    Yields its ``stack.env`` and the seconds ``up`` took (None when it was already up).
    """
    was_up = _stack("status", check=False) == 0
    took = None
    try:
        if not was_up:
            started = time.monotonic()
            _stack("up", check=True)
            took = time.monotonic() - started
        yield StackEnv.load(PROFILE_STATE / "stack.env"), took
    finally:
        if not was_up:
            _stack("down", check=False)


@contextmanager
def unpaused(api: AirflowApi, *dag_ids: str) -> Iterator[None]:
    for dag_id in dag_ids:
        api.set_paused(dag_id, False)
    try:
        yield
    finally:
        for dag_id in dag_ids:
            api.set_paused(dag_id, True)
