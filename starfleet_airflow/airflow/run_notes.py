"""The run's note says why: a refused trigger's reason, or the report's verdict, where the UI shows it first.

A task cannot write a DAG run's note (the execution API has no such call), so the tasks push the sentence
as an XCom (``RUN_NOTE_KEY``: the plan on a refusal or a plan error, the report with its verdict) and
this listener copies it into the run's note when the run finishes. Airflow calls DAG-run listeners in
the process that decides the run's state (the scheduler; ``dags test`` and ``dag.test()`` in process),
inside its database session; the UI shows the note at the top of the run's page and the REST API returns
it (``GET /api/v2/dags/{dag_id}/dagRuns/{run_id}``, field ``note``). A note someone already wrote is kept.

Registered as an Airflow plugin through the ``airflow.plugins`` entry point of this package, so every
Airflow component of an installation that pip-installed the project loads it. Without the plugin (a
bundle copied into a DAGs folder, such as MWAA's), runs simply have no note: the failed task's first log
line says the same.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

from starfleet_airflow.airflow.naming import DAG_ID_PREFIX, RUN_NOTE_KEY

log = logging.getLogger(__name__)
NOTE_LIMIT = 1_000  # the dag_run_note.content column


def note_for(dag_run: Any, session: Any) -> str | None:
    """The sentence the run's tasks left for its note (the report's over the plan's), or None."""
    from airflow.models.xcom import XComModel

    rows = session.scalars(
        XComModel.get_many(run_id=dag_run.run_id, key=RUN_NOTE_KEY, dag_ids=dag_run.dag_id, map_indexes=-1)
    ).all()
    notes = {row.task_id: XComModel.deserialize_value(row) for row in rows}
    text = notes.get("report") or notes.get("plan")
    if not text:
        return None
    text = str(text)
    return text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1] + "…"


def write_note(dag_run: Any) -> None:
    """Copy the tasks' sentence into the run's note, unless the run has one already.

    The scheduler hands the run bound to its session: the note joins that transaction (a second session
    would wait on the scheduler's row lock). ``dag.test()`` hands it detached: a short session of its own.
    """
    from sqlalchemy.orm import object_session

    if not str(dag_run.dag_id).startswith(DAG_ID_PREFIX):
        return
    session = object_session(dag_run)
    if session is not None:
        _note_in(session, dag_run)
        return
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as own:
        bound = own.get(DagRun, dag_run.id)
        if bound is not None:
            _note_in(own, bound)


def _note_in(session: Any, dag_run: Any) -> None:
    if dag_run.note:
        return
    text = note_for(dag_run, session)
    if text:
        dag_run.note = text  # committed with the session's transaction


class RunNoteListener:
    """DAG-run listener: the note is written when a starfleet run finishes, failed or not."""

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        self._safely(dag_run)

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        self._safely(dag_run)

    @staticmethod
    def _safely(dag_run: Any) -> None:
        try:
            write_note(dag_run)
        except Exception:  # a note is a convenience: it must never disturb the scheduler
            log.exception("starfleet-airflow: could not write the note of %s", getattr(dag_run, "run_id", "?"))


class StarfleetAirflowPlugin(AirflowPlugin):
    """starfleet-airflow's Airflow plugin: the run-note listener."""

    name = "starfleet_airflow"
    listeners = [RunNoteListener()]
