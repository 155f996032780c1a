"""The demo's task logs where the Airflow UI reads them.

``airflow dags test`` runs every task in its own process and prints the task's log to stdout; it writes
no task log file. The UI then finds no local file for a finished task and asks the worker's log server,
which does not exist for those runs ("Could not read served logs"). So after each run the demo cuts the
command's output into one log per task attempt (the lines between ``[DAG TEST] starting task_id=...``
and ``[DAG TEST] end task ...``) and writes each to the file Airflow's own ``FileTaskHandler`` would
have written, under ``[logging] base_log_folder``: the UI shows them like any other task log.

``split_attempts`` is plain text handling; ``write_task_logs`` runs in the results reader's child
process, which has Airflow and the demo's metadata DB.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_STARTING = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")
_ENDED = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")
HEADER = "(written by scripts/demo.sh from the output of `airflow dags test`, which prints task logs: {source})"


def split_attempts(lines: Iterable[str]) -> dict[tuple[str, int], list[list[str]]]:
    """``(task_id, map_index) -> [lines of attempt 1, lines of attempt 2, ...]``, in the order they ran."""
    attempts: dict[tuple[str, int], list[list[str]]] = {}
    current: list[str] | None = None
    for line in lines:
        if match := _STARTING.search(line):
            current = [line]
            attempts.setdefault((match["task"], int(match["index"])), []).append(current)
        elif current is not None:
            current.append(line)
            if _ENDED.search(line):
                current = None
    return attempts


def write_task_logs(dag_id: str, run_id: str, source: Path) -> list[str]:
    """Write the task logs of one ``dags test`` run from its output file; returns the files written.

    The path of each attempt is the one ``FileTaskHandler`` renders from ``[logging]
    log_filename_template`` for that task instance and try number, so the UI (and ``airflow tasks
    logs``) finds it.
    """
    from airflow.configuration import conf
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.log.file_task_handler import FileTaskHandler
    from airflow.utils.session import create_session

    attempts = split_attempts(source.read_text(encoding="utf-8", errors="replace").splitlines())
    base = Path(conf.get("logging", "base_log_folder"))
    handler = FileTaskHandler(base_log_folder=str(base))
    written: list[str] = []
    with create_session() as session:
        instances: Any = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id)
        for ti in instances:
            runs = attempts.get((ti.task_id, ti.map_index), [])
            # dags test counts tries from 1 up to the instance's try number; the last attempts are its own.
            first_try = max(1, (ti.try_number or len(runs)) - len(runs) + 1)
            for try_number, lines in enumerate(runs, start=first_try):
                path = base / handler._render_filename(ti, try_number, session=session)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join([HEADER.format(source=source), *lines]) + "\n", encoding="utf-8")
                written.append(str(path))
    return written
