"""The ``report`` task: one row per target, the XCom, and the run's verdict against the tolerance.

Target lists are re-derived from the run snapshot, never carried through XCom. It runs whatever the
deliver tasks did (trigger rule ``all_done``), so a crashed unit is accounted for rather than hidden.
"""

from __future__ import annotations

import logging
from typing import Any

from starfleet_airflow.airflow.tasks.context import view_of_snapshot
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.report import build_report

log = logging.getLogger(__name__)


def report_task(loaded: LoadedShip, configuration: Configuration, results: Any, context: Any) -> dict[str, Any]:
    """Build the report; fail the task (after pushing the table) when the run fails its tolerance."""
    from starfleet_airflow.airflow.compat import AirflowFailException

    ti = context["ti"]
    summary = ti.xcom_pull(task_ids="plan", key="summary")
    units = ti.xcom_pull(task_ids="plan")
    if summary is None or units is None:
        raise AirflowFailException(f"{loaded.name}: the plan task did not finish; its log says why")
    view = view_of_snapshot(loaded, configuration, summary["snapshot"]) if units else None
    # One slice request for every mapped result (iterating would ask item by item, then log an "error"
    # for the index past the end).
    values = list(results[:]) if results is not None else []
    report = build_report(
        summary,
        units,
        [r for r in values if r],
        tolerance=loaded.airflow_options["failure_tolerance"],
        targets_of=(lambda key: view.targets(key)) if view else (lambda key: []),
        name_of=(lambda account_id: view.index.name_of(account_id)) if view else (lambda account_id: account_id),
    )
    log.info("%s report\n%s", loaded.name, report.table())
    if not report.ok:
        # The XCom is pushed before failing, so the table stays available to the UI and callers.
        ti.xcom_push(key="report", value=report.to_dict())
        raise AirflowFailException(report.verdict())
    return report.to_dict()
