"""The demo's options, its result, its progress printer and its log folders."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from starfleet_airflow.devtools.demo.airflow_env import DEFAULT_DAG_TIMEOUT
from starfleet_airflow.devtools.demo.summary import (
    RunRecord,
)

REPO = Path(__file__).resolve().parents[3]
DEFAULT_SHIPS = (
    "AccountIndexGeneratorShip",
    "AwsConfigWorkerShip",
    "IamRoleWorkerShip",
    "S3PublicAccessBlockWorkerShip",
)
LOG_DIRS_KEPT = 10


@dataclass
class DemoOptions:
    """Where and how the demo runs; the defaults are the README's command."""

    repo: Path = REPO
    config_dir: Path | None = None  # default: <repo>/config
    state_dir: Path | None = None  # default: <repo>/.starfleet (Airflow home, logs, env file)
    host: str = "127.0.0.1"
    port: int = 5000
    accounts: int = 60
    seed: int = 0
    ships: tuple[str, ...] = DEFAULT_SHIPS
    serve: bool = False
    skip_runs: bool = False
    dag_timeout: float = DEFAULT_DAG_TIMEOUT

    @property
    def config(self) -> Path:
        return (self.config_dir or self.repo / "config").resolve()

    @property
    def state(self) -> Path:
        return (self.state_dir or self.repo / ".starfleet").resolve()

    @property
    def airflow_home(self) -> Path:
        return self.state / "airflow"

    @property
    def env_file(self) -> Path:
        return self.state / "demo-env.sh"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class DemoResult:
    """What ``run_demo`` did; ``summary.json`` in the log folder holds the same."""

    log_dir: Path
    runs: list[RunRecord] = field(default_factory=list)
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    index: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(run.state == "success" for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "log_dir": str(self.log_dir),
            "runs": [asdict(run) | {"state": run.state} for run in self.runs],
            "queues": self.queues,
            "index": self.index,
        }


class Printer:
    """Progress lines prefixed with the time since the demo started."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self._lock = threading.Lock()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, text: str = "", *, stamp: bool = True) -> None:
        prefix = f"[{self.elapsed:6.1f}s] " if stamp else ""
        with self._lock:
            print(prefix + text, file=self.stream, flush=True)


def new_log_dir(state: Path) -> Path:
    """A fresh folder for this run's logs; only the latest ``LOG_DIRS_KEPT`` are kept."""
    root = state / "demo-logs"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    log_dir, suffix = root / stamp, 1
    while log_dir.exists():
        suffix += 1
        log_dir = root / f"{stamp}-{suffix}"
    log_dir.mkdir(parents=True)
    old = sorted(p for p in root.iterdir() if p.is_dir() and p != log_dir)
    for stale in old[: max(0, len(old) - (LOG_DIRS_KEPT - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return log_dir
