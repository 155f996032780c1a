"""What the stack runs, in start order, and how each component is known to be ready.

A component is one process (started by ``processes.start``); ``ready`` is what ``up`` waits for and
``status`` reports. Airflow's scheduler, dag-processor and triggerer are ready when the api-server's
health endpoint says their heartbeat is recent; a Celery worker when it answers a Celery ping under its
own node name; PostgreSQL when it accepts a connection; Redis when it answers PING; the stand-in when it
has written its ready file (seeding done).
"""

from __future__ import annotations

import shutil
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starfleet_airflow.devtools.stack import postgres
from starfleet_airflow.devtools.stack.api import AirflowApi
from starfleet_airflow.devtools.stack.settings import (
    CELERY_QUEUE,
    HOST,
    WORKERS,
    StackError,
    StackSettings,
    worker_environment,
)

# In memory only: the broker's state goes with the stack.
REDIS_OPTS = ("--save", "", "--appendonly", "no", "--protected-mode", "yes")
# The api-server's health keys of the Airflow jobs.
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]
    env: Mapping[str, str]
    cwd: Path
    port: str | None = None  # key of StackSettings.ports it listens on
    user: str | None = None
    stop_signal: int = signal.SIGTERM
    startup_seconds: float = 120.0
    extra_ports: tuple[str, ...] = field(default=())


def celery_nodes(broker_url: str, timeout: float = 2.0) -> set[str]:
    """Node names of the Celery workers answering a ping on the broker (no Airflow import)."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        replies = app.control.ping(timeout=timeout) or []
    finally:
        app.close()
    return {node for reply in replies for node in reply}


def worker_node(worker: str) -> str:
    return f"celery@{worker}"


def redis_answers(settings: StackSettings) -> bool:
    import redis

    try:
        return bool(redis.Redis(host=HOST, port=settings.ports["redis"], socket_timeout=2).ping())
    except redis.RedisError:
        return False


def components(settings: StackSettings, airflow_env: Mapping[str, str]) -> list[Component]:
    """Every component, in start order (``down`` stops them in reverse)."""
    redis_server = shutil.which("redis-server")
    if not redis_server:
        raise StackError("redis-server not found on PATH; install it: apt-get install -y redis-server")
    # One spelling of the interpreter whoever runs ``up`` (python, python3): it is part of the fingerprint.
    python = str(Path(sys.prefix) / "bin" / "python")
    airflow = str(Path(python).parent / "airflow")
    state = settings.state
    redis_dir = state / "redis"
    redis_port = str(settings.ports["redis"])
    base_env = {k: v for k, v in airflow_env.items() if not k.startswith("AIRFLOW__")}
    found = [
        Component(
            "postgres",
            postgres.server_argv(settings),
            base_env,
            postgres.data_dir(settings).parent,
            port="postgres",
            user=postgres.run_as(),
            stop_signal=signal.SIGINT,  # PostgreSQL's "fast" shutdown
        ),
        Component(
            "redis",
            [redis_server, "--bind", HOST, "--port", redis_port, "--dir", str(redis_dir), *REDIS_OPTS],
            base_env,
            redis_dir,
            port="redis",
        ),
        Component(
            "stand-in",
            [
                python,
                "-m",
                "starfleet_airflow.devtools.stack.stand_in_process",
                "--config-dir",
                str(settings.config_dir),
                "--host",
                HOST,
                "--port",
                str(settings.ports["moto"]),
                "--ready-file",
                str(stand_in_ready(settings)),
            ],
            airflow_env,
            state / "stand-in",
            port="moto",
        ),
        Component("api-server", [airflow, "api-server"], airflow_env, state / "api-server", port="api"),
        Component("scheduler", [airflow, "scheduler"], airflow_env, state / "scheduler"),
        Component("dag-processor", [airflow, "dag-processor"], airflow_env, state / "dag-processor"),
        # No log servers (--skip-serve-logs): they listen on every interface, and the api-server reads finished
        # task logs from S3 (remote logging); the workers' host names are not resolvable anyway.
        Component("triggerer", [airflow, "triggerer", "--skip-serve-logs"], airflow_env, state / "triggerer"),
    ]
    for number, worker in enumerate(WORKERS, start=1):
        argv = [airflow, "celery", "worker", "--celery-hostname", worker, "--queues", CELERY_QUEUE, "--skip-serve-logs"]
        env = worker_environment(airflow_env, settings, number)
        folder = settings.worker_dir(worker)
        (folder / "tmp").mkdir(parents=True, exist_ok=True)
        found.append(Component(worker, argv, env, folder))
    return found


def stand_in_ready(settings: StackSettings) -> Path:
    return settings.run_dir / "stand-in.ready.json"


def readiness(settings: StackSettings, api: AirflowApi) -> Callable[[str], tuple[bool, str]]:
    """A function: component name -> (ready, one line saying why or why not). Caches per call site."""
    health: dict[str, object] = {}
    nodes: set[str] | None = None

    def check(name: str) -> tuple[bool, str]:
        nonlocal nodes
        if name == "postgres":
            ok = postgres.accepts_connections(settings)
            return ok, "accepts connections" if ok else "no connection"
        if name == "redis":
            ok = redis_answers(settings)
            return ok, "answers PING" if ok else "no PING answer"
        if name == "stand-in":
            ok = stand_in_ready(settings).is_file()
            return ok, "seeded" if ok else "seeding"
        if name == "api-server" or name in HEALTH_KEYS:
            if not health:
                try:
                    health.update(api.health())
                except Exception as exc:  # connection refused while starting, etc.
                    health["error"] = str(exc)
            if "error" in health:
                return False, f"health endpoint: {str(health['error'])[:120]}"
            if name == "api-server":
                database = health.get("metadatabase", {}).get("status")  # type: ignore[union-attr]
                return database == "healthy", f"health endpoint answers; metadatabase {database}"
            entry = health.get(HEALTH_KEYS[name]) or {}
            status = entry.get("status")  # type: ignore[union-attr]
            beat = entry.get(f"latest_{HEALTH_KEYS[name]}_heartbeat")  # type: ignore[union-attr]
            return status == "healthy", f"{status}, heartbeat {beat}"
        if name in WORKERS:
            if nodes is None:
                try:
                    nodes = celery_nodes(settings.broker_url)
                except Exception as exc:
                    return False, f"celery ping failed: {exc}"
            ok = worker_node(name) in nodes
            return ok, f"answers celery ping as {worker_node(name)}" if ok else "no celery ping answer"
        raise StackError(f"unknown component {name!r}")

    return check
