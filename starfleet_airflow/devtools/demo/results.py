"""Read the demo's runs back from the metadata DB, in a child process with the demo's environment.

``python -m starfleet_airflow.devtools.demo.results results DAG_ID=RUN_ID[=LOG] ...`` prints JSON on
stdout; with ``=LOG`` (the run's ``airflow dags test`` output) it also writes the run's task logs where the
UI reads them (``task_logs``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from starfleet_airflow.devtools.stand_in.ports import DemoError


def collect_results(
    runs: Iterable[tuple[str, str, Path | None]], env: Mapping[str, str], log_path: Path
) -> dict[str, Any]:
    """``{run_id: {...}}`` for ``(dag_id, run_id, dags test output)``, read by a child with the demo's environment."""
    pairs = [f"{dag_id}={run_id}" + (f"={output}" if output else "") for dag_id, run_id, output in runs]
    if not pairs:
        return {}
    command = [sys.executable, "-m", "starfleet_airflow.devtools.demo.results", "results", *pairs]
    completed = subprocess.run(command, env=dict(env), capture_output=True, text=True, timeout=300, check=False)
    log_path.write_text(completed.stderr, encoding="utf-8")
    if completed.returncode != 0:
        raise DemoError(f"reading the runs back from the metadata DB failed; see {log_path}")
    return json.loads(completed.stdout)


def read_runs(pairs: Sequence[tuple[str, ...]]) -> dict[str, Any]:
    """In the child: each run's state, task states and the plan/report XComs (Airflow's own models)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    def xcom(session: Any, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        row = session.scalars(
            XComModel.get_many(run_id=run_id, key=key, task_ids=task_id, dag_ids=dag_id, map_indexes=-1)
        ).first()
        return None if row is None else XComModel.deserialize_value(row)

    from starfleet_airflow.devtools.demo.task_logs import write_task_logs

    found: dict[str, Any] = {}
    with create_session() as session:
        for dag_id, run_id, *_ in pairs:
            run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one_or_none()
            if run is None:
                found[run_id] = {"dag_id": dag_id, "state": "missing"}
                continue
            tasks: dict[str, dict[str, int]] = {}
            for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id):
                state = str(getattr(ti.state, "value", ti.state))
                tasks.setdefault(ti.task_id, {})
                tasks[ti.task_id][state] = tasks[ti.task_id].get(state, 0) + 1
            seconds = (run.end_date - run.start_date).total_seconds() if run.end_date and run.start_date else None
            found[run_id] = {
                "dag_id": dag_id,
                "state": str(getattr(run.state, "value", run.state)),
                "conf": run.conf,
                "seconds": seconds,
                "tasks": tasks,
                "summary": xcom(session, dag_id, run_id, "plan", "summary"),
                "report": xcom(session, dag_id, run_id, "report", "return_value")
                or xcom(session, dag_id, run_id, "report", "report"),
                "note": run.note,
            }
    for dag_id, run_id, *output in pairs:
        if output and run_id in found and found[run_id]["state"] != "missing":
            found[run_id]["task_logs"] = write_task_logs(dag_id, run_id, Path(output[0]))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m starfleet_airflow.devtools.demo.results results DAG_ID=RUN_ID ...`` (JSON on stdout)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "results":
        print(
            "usage: python -m starfleet_airflow.devtools.demo.results results DAG_ID=RUN_ID[=LOG] ...", file=sys.stderr
        )
        return 2
    pairs = [tuple(arg.split("=", 2)) for arg in args[1:]]
    if any(len(pair) < 2 for pair in pairs):
        print("expected DAG_ID=RUN_ID[=LOG] arguments", file=sys.stderr)
        return 2
    json.dump(read_runs(pairs), sys.stdout, default=str)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":  # pragma: no cover - command-line entry
    raise SystemExit(main())
