"""A small client of Airflow 3's public REST API, and the stack's ``stack.env`` as an object.

Used by ``scripts/stack.sh`` (health), the end-to-end tests and the scripts that measure on the stack:
they all reach Airflow the way a user's tooling would, with a JWT from ``/auth/token``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from starfleet_airflow.devtools.stack.settings import StackError, read_env_file

TERMINAL_RUN_STATES = frozenset({"success", "failed"})
NO_PROXY = {"http": None, "https": None}  # the stack is on loopback: never through a proxy


class ApiError(StackError):
    """A REST call failed; the message has the method, path, status and Airflow's answer."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")
        self.status = status


class AirflowApi:
    """Token-authenticated calls to ``/api/v2``; the token is fetched once and renewed on a 401."""

    def __init__(self, url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False
        self._token: str | None = None

    def token(self) -> str:
        response = self._session.post(
            f"{self.url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=self.timeout,
        )
        if response.status_code not in (200, 201):
            raise ApiError("POST", "/auth/token", response.status_code, response.text)
        self._token = response.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """``method path`` (relative to the API root, e.g. ``/api/v2/dags``); returns the decoded JSON."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._token or self.token()}"}
            response = self._session.request(method, self.url + path, headers=headers, timeout=self.timeout, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self._token = None
                continue
            if response.status_code >= 400:
                raise ApiError(method, path, response.status_code, response.text)
            return response.json() if response.content else None
        raise AssertionError("unreachable")  # pragma: no cover

    # Read ---------------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``/api/v2/monitor/health`` (no authentication)."""
        response = self._session.get(f"{self.url}/api/v2/monitor/health", timeout=self.timeout)
        if response.status_code != 200:
            raise ApiError("GET", "/api/v2/monitor/health", response.status_code, response.text)
        return response.json()

    def dags(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/v2/dags", params={"limit": 1000})["dags"]

    def import_errors(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/v2/importErrors", params={"limit": 1000})["import_errors"]

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def dag_runs(self, dag_id: str, **params: Any) -> list[dict[str, Any]]:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 1000, **params})["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return self.call("GET", path, params={"limit": 1000})["task_instances"]

    def task_tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries"
        if map_index < 0:
            path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        return self.call("GET", path)["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.call("GET", path, params={"map_index": map_index, "deserialize": True})["value"]

    # Write --------------------------------------------------------------------------------------------

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.call("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf or {})}
        return self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)

    def create_backfill(self, dag_id: str, from_date: str, to_date: str, max_active_runs: int = 3) -> dict[str, Any]:
        body = {
            "dag_id": dag_id,
            "from_date": from_date,
            "to_date": to_date,
            "run_backwards": False,
            "dag_run_conf": {},
            "reprocess_behavior": "none",
            "max_active_runs": max_active_runs,
        }
        return self.call("POST", "/api/v2/backfills", json=body)

    # Wait ---------------------------------------------------------------------------------------------

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600.0, interval: float = 2.0) -> dict[str, Any]:
        """Poll the run until it succeeds or fails; ``TimeoutError`` names its last state and tasks."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                states = sorted({ti["state"] or "none" for ti in self.task_instances(dag_id, run_id)})
                raise TimeoutError(f"{dag_id} {run_id}: still {run['state']} after {timeout:.0f} s (tasks: {states})")
            time.sleep(interval)


@dataclass(frozen=True)
class StackEnv:
    """What ``scripts/stack.sh up`` wrote to ``stack.env``: how scripts and tests reach the stack."""

    values: Mapping[str, str]
    path: Path

    @classmethod
    def load(cls, path: Path) -> StackEnv:
        values = read_env_file(path)
        if not values:
            raise StackError(f"{path}: no stack.env; start the stack first: scripts/stack.sh up")
        return cls(values, path)

    def __getitem__(self, key: str) -> str:
        try:
            return self.values[key]
        except KeyError:
            raise StackError(f"{self.path}: no {key}; written by an older scripts/stack.sh? run it again") from None

    def api(self) -> AirflowApi:
        return AirflowApi(self["AIRFLOW_API_URL"], self["AIRFLOW_USERNAME"], self["AIRFLOW_PASSWORD"])

    def aws_client(self, service: str, **config: Any) -> Any:
        """A boto3 client on the stand-in with its credentials, never the environment's (nor a proxy)."""
        import boto3
        from botocore.config import Config

        session = boto3.Session(
            aws_access_key_id=self["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self["AWS_SECRET_ACCESS_KEY"],
            region_name=self["AWS_DEFAULT_REGION"],
        )
        endpoint = self["AWS_ENDPOINT_URL"]
        return session.client(service, endpoint_url=endpoint, config=Config(proxies={"http": endpoint}, **config))
