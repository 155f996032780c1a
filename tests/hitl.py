"""Answer a reviewed run's approval while ``dag.test()`` waits for it: through Airflow's own REST API, or
by running the scheduler's timeout sweep.

``dag.test()`` must run in the main thread (the task runner installs signal handlers), so the answer
comes from a background thread. It is deterministic: the thread acts only once ``dag.test()`` has logged
"Waiting for Human-in-the-loop input", which it does after the approval task parked and its state was
written (answering earlier can be overwritten by ``dag.test()``'s own state write-back and leave the run
waiting forever). Nothing sleeps to wait for anything: every wait is on an event with a bound, and a
responder that fails marks the waiting task failed so the run ends and the test reports why.

The REST API is the real api-server application (``create_app("all")``) in process, on the test's
metadata DB, with JWTs from ``/auth/token`` for users of the simple auth manager.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

WAITING = "Waiting for Human-in-the-loop input"
USERS = {"alice": "alice-password", "bob": "bob-password"}


@pytest.fixture
def airflow_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Users of the simple auth manager (role ``user``: may answer required actions), with known passwords."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps(USERS), encoding="utf-8")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", ",".join(f"{user}:user" for user in USERS))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-only-" + "j" * 64)  # a key of the recommended length
    return dict(USERS)


class _Waiting(logging.Handler):
    """Set an event each time ``dag.test()`` logs that it waits for human input (once a second)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(WAITING):
            self.event.set()


@dataclass
class Responder:
    """What the background thread did: its API answers, and the exception that stopped it, if any."""

    waited: bool = False
    answers: list[tuple[str, int, Any]] = field(default_factory=list)
    error: BaseException | None = None


def awaiting_task(dag_id: str) -> tuple[str, str, int]:
    """(run_id, task_id, map_index) of the one task instance of ``dag_id`` waiting for input."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, state=TaskInstanceState.AWAITING_INPUT).one()
        return ti.run_id, ti.task_id, ti.map_index


def _fail_waiting(dag_id: str) -> None:
    """End a run whose responder failed: the waiting task becomes failed, so ``dag.test()`` returns."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, state=TaskInstanceState.AWAITING_INPUT):
            ti.state = TaskInstanceState.FAILED


class Api:
    """The api-server app in process; ``answer`` PATCHes the waiting task's human-in-the-loop detail."""

    def __init__(self) -> None:
        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        self.client = TestClient(create_app("all"))

    def token(self, user: str) -> str:
        response = self.client.post("/auth/token", json={"username": user, "password": USERS[user]})
        assert response.status_code == 201, response.text
        return response.json()["access_token"]

    def answer(self, dag_id: str, user: str, choice: str, comment: str | None) -> tuple[int, Any]:
        run_id, task_id, map_index = awaiting_task(dag_id)
        response = self.client.patch(
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails",
            headers={"Authorization": f"Bearer {self.token(user)}"},
            json={"chosen_options": [choice], "params_input": {"comment": comment}},
        )
        return response.status_code, response.json()

    def get(self, path: str, user: str = "alice") -> Any:
        response = self.client.get(path, headers={"Authorization": f"Bearer {self.token(user)}"})
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def answering(dag_id: str, act: Callable[[Api], list[tuple[str, int, Any]] | None]) -> Iterator[Responder]:
    """Run ``act(api)`` in a thread once ``dag.test()`` waits for input (at most 120 s after it starts)."""
    waiting = _Waiting()
    logger = logging.getLogger("airflow.sdk.definitions.dag")  # the stdlib logger dag.test() uses
    previous_level = logger.level
    logger.addHandler(waiting)
    logger.setLevel(logging.INFO)  # works under AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING too
    done = Responder()
    closing = threading.Event()

    def run() -> None:
        if not waiting.event.wait(120) or closing.is_set():
            return  # the run never asked (nothing to approve): nothing to answer
        done.waited = True
        try:
            done.answers.extend(act(Api()) or [])
        except BaseException as exc:  # reported by the test; the run must end
            done.error = exc
            _fail_waiting(dag_id)

    thread = threading.Thread(target=run, name="hitl-responder", daemon=True)
    thread.start()
    try:
        yield done
    finally:
        closing.set()
        waiting.event.set()  # a responder still waiting for a request that never came stops now
        thread.join(30)
        logger.removeHandler(waiting)
        logger.setLevel(previous_level)


@contextmanager
def timing_out(dag_id: str) -> Iterator[Responder]:
    """Apply the review's timeout as the scheduler does (``dag.test()`` runs no scheduler)."""
    waiting = _Waiting()
    logger = logging.getLogger("airflow.sdk.definitions.dag")
    previous_level = logger.level
    logger.addHandler(waiting)
    logger.setLevel(logging.INFO)
    done = Responder()
    stop = threading.Event()

    def run() -> None:
        from airflow.jobs.job import Job
        from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

        if not waiting.event.wait(120) or stop.is_set():
            return
        done.waited = True
        try:
            runner = SchedulerJobRunner(job=Job())
            # The deadline is wall-clock time (the task's trigger_timeout); each dag.test() loop (once a
            # second) wakes this one to sweep again, until the waiting task is resolved or the run ends.
            while not stop.is_set():
                runner.check_awaiting_input_timeouts()
                waiting.event.clear()
                if not waiting.event.wait(60):
                    break
        except BaseException as exc:  # reported by the test; the run must end
            done.error = exc
            _fail_waiting(dag_id)

    thread = threading.Thread(target=run, name="hitl-timeout-sweep", daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        waiting.event.set()
        thread.join(30)
        logger.removeHandler(waiting)
        logger.setLevel(previous_level)
