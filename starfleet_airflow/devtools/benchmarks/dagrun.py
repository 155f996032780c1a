"""Real runs for the benchmarks: a throw-away deployment and Airflow home, ``airflow dags test``, timings.

``Bench`` writes a configuration, templates and an account index into a temporary folder (the no-op
ships are stack/benchmark/ships), migrates a SQLite metadata DB once, then runs ``airflow dags test`` in a child
process and reads the run back from the DB: the run's wall time, and the span from the first deliver
task's start to the last one's end.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]

SHIPS_DIR = REPO / "stack" / "benchmark" / "ships"  # the no-op ships (bench_noop), shared with the stack's profile


@dataclass
class RunTimes:
    wall: float  # the `airflow dags test` process, start to exit
    run: float  # the DAG run, start to end (metadata DB)
    deliver_span: float  # first deliver task start to last deliver task end
    deliver_tasks: int
    state: str


class Bench:
    """One deployment folder with its own Airflow home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "airflow"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "STARFLEET_CONFIG_DIR": str(root / "config"),
            "STARFLEET_SHIPS_DIR": str(SHIPS_DIR),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        self._migrated = False

    def airflow(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(Path(sys.executable).with_name("airflow")), *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=True, timeout=1800)

    def deploy(self, index: dict[str, Any], ships: dict[str, dict[str, Any]], template: dict[str, Any]) -> None:
        """Write the configuration (local templates, index and snapshots), one template per ship."""
        (self.root / "config").mkdir(exist_ok=True)
        (self.root / "accountIndex.json").write_text(json.dumps(index))
        sections: dict[str, Any] = {
            "STARFLEET": {
                "DeploymentRegion": "us-east-1",
                "TemplateLocation": str(self.root / "templates"),
                "AccountIndexLocation": str(self.root / "accountIndex.json"),
                "SnapshotLocation": str(self.root / "snapshots"),
            },
            **ships,
        }
        (self.root / "config" / "configuration.yaml").write_text(yaml.safe_dump(sections, sort_keys=False))
        for name in ships:
            folder = self.root / "templates" / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "bench.yaml").write_text(yaml.safe_dump(template, sort_keys=False))

    def run(self, dag_id: str, connection: dict[str, Any] | None = None) -> RunTimes:
        """``airflow dags test DAG_ID`` in a child process; timings read back from the metadata DB."""
        self.env["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
            {"conn_type": "aws", "extra": {"region_name": "us-east-1", **(connection or {})}}
        )
        if not self._migrated:
            self.airflow("db", "migrate")
            self._migrated = True
        started = time.perf_counter()
        self.airflow("dags", "test", dag_id)
        wall = time.perf_counter() - started
        with sqlite3.connect(self.home / "airflow.db") as db:
            run_id, state, run_start, run_end = db.execute(
                "SELECT run_id, state, start_date, end_date FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
                (dag_id,),
            ).fetchone()
            spans = db.execute(
                "SELECT start_date, end_date FROM task_instance"
                " WHERE dag_id = ? AND run_id = ? AND task_id = 'deliver'",
                (dag_id, run_id),
            ).fetchall()
        first = min(_when(start) for start, _ in spans)
        last = max(_when(end) for _, end in spans)
        return RunTimes(wall, _when(run_end) - _when(run_start), last - first, len(spans), state)


def _when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
