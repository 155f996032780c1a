"""The ``report`` task: one row per target, the XCom, and the run's verdict against the tolerance.

Target lists are re-derived from the run snapshot, never carried through XCom. It runs whatever the
deliver tasks did (trigger rule ``all_done``), so a crashed unit is accounted for rather than hidden.

When the plan task failed there is nothing to report: the task says so in one line (with the plan's
reason) and fails, which keeps the run failed. Airflow decides a run's state from its last task, so a
skipped report would turn a refused run green; the reason itself is the plan's first log line and the
run's note.
"""

from __future__ import annotations

import logging
from typing import Any

from starfleet_airflow.airflow.naming import RUN_NOTE_KEY
from starfleet_airflow.airflow.tasks.context import view_of_snapshot
from starfleet_airflow.airflow.tasks.stopping import stop_run
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.report import build_report
from starfleet_airflow.core.snapshot import SnapshotError

log = logging.getLogger(__name__)


def report_task(loaded: LoadedShip, configuration: Configuration, results: Any, context: Any) -> dict[str, Any]:
    """Build the report; fail the task (after pushing the table) when the run fails its tolerance."""
    ti = context["ti"]
    summary = ti.xcom_pull(task_ids="plan", key="summary")
    units = ti.xcom_pull(task_ids="plan")
    if summary is None or units is None:
        why = ti.xcom_pull(task_ids="plan", key=RUN_NOTE_KEY)
        nothing = "nothing to report: the plan task failed, so nothing was delivered" + (f" ({why})" if why else "")
        stop_run(context, nothing, logger=log, note=False)  # the run's note stays the plan's reason
    view, snapshot_problem = None, None
    if units:
        try:
            view = view_of_snapshot(loaded, configuration, summary["snapshot"])
        except SnapshotError as exc:  # deleted (retention, by hand) or unreadable: report without target lists
            snapshot_problem = str(exc)
            log.error("%s: %s; every target is still counted, per work unit", loaded.name, exc)
    # One slice request for every mapped result (iterating would ask item by item, then log an "error"
    # for the index past the end).
    values = list(results[:]) if results is not None else []
    report = build_report(
        summary,
        units,
        [r for r in values if r],
        tolerance=loaded.airflow_options["failure_tolerance"],
        targets_of=_targets_of(view, snapshot_problem),
        name_of=(lambda account_id: view.index.name_of(account_id)) if view else (lambda account_id: account_id),
        snapshot_problem=snapshot_problem,
    )
    log.info("%s report\n%s", loaded.name, report.table())
    ti.xcom_push(key=RUN_NOTE_KEY, value=report.verdict())  # the run's note (run_notes)
    if not report.ok:
        # The XCom is pushed before failing, so the table stays available to the UI and callers.
        ti.xcom_push(key="report", value=report.to_dict())
        stop_run(context, report.verdict(), logger=log, note=False)
    return report.to_dict()


def _targets_of(view: Any, snapshot_problem: str | None) -> Any:
    """Target lists from the snapshot; None when it is lost (the report then counts per unit)."""
    if view is not None:
        return view.targets
    return None if snapshot_problem else (lambda key: [])
