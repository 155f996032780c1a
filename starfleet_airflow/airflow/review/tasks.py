"""The bodies of a reviewed run's own tasks: ``review``, ``apply`` (mapped) and the reviewed ``report``.

``dry_run`` is the ordinary deliver body with ``commit=False``; ``approve`` is an operator
(``starfleet_airflow.airflow.review.approval``). Everything a task needs comes from the plan's XComs
and the run snapshot, never from the DAG file's state.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from starfleet_airflow.airflow.connections import aws_session_factory, ship_conn_id
from starfleet_airflow.airflow.naming import UNIT_LABEL_KEY
from starfleet_airflow.airflow.review.docs import duration_text
from starfleet_airflow.airflow.review.keys import APPROVE_TASK, DECISION_KEY, REVIEW_KEY, REVIEW_TASK
from starfleet_airflow.airflow.tasks.context import commit_of, run_context_from, view_of_snapshot
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.review import ApplyUnit, Decision, build_reviewed_report, review_dry_run
from starfleet_airflow.core.review.body import approval_body, approval_subject
from starfleet_airflow.delivery.reviewed import apply_reviewed_unit
from starfleet_airflow.starfleet_compat.loader import ACCOUNT_INDEX

log = logging.getLogger(__name__)


def _plan_outputs(loaded: LoadedShip, ti: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from starfleet_airflow.airflow.compat import AirflowFailException

    summary, units = ti.xcom_pull(task_ids="plan", key="summary"), ti.xcom_pull(task_ids="plan")
    if summary is None or units is None:
        raise AirflowFailException(f"{loaded.name}: the plan task did not finish; its log says why")
    return summary, list(units)


def review_task(loaded: LoadedShip, configuration: Configuration, dry_results: Any, context: Any) -> list[dict]:
    """Summarise the dry run for the approver; return the apply units (none when there is nothing to ask)."""
    ti = context["ti"]
    summary, units = _plan_outputs(loaded, ti)
    review = review_dry_run(units, [r for r in (list(dry_results[:]) if dry_results is not None else []) if r])
    view = view_of_snapshot(loaded, configuration, summary["snapshot"]) if units else None
    commit = commit_of(context, loaded)
    ask = commit and review.would_change > 0
    why_not = None
    if not commit:
        why_not = f"commit=false: a dry run only; {review.would_change} of {review.targets} targets would change"
    elif not review.would_change:
        why_not = f"nothing would change: the dry run found all {review.targets} targets as the templates want them"
    options = loaded.airflow_options
    body = approval_body(
        loaded.name,
        review,
        run_id=str(context.get("run_id")),
        snapshot=str(summary["snapshot"]),
        timeout=duration_text(int(options["review_timeout_seconds"])),
        name_of=view.index.name_of if view else (lambda account_id: account_id),
        template_names={t["key"]: t["name"] for t in summary.get("templates", [])},
    )
    log.info("%s review (%s)\n%s", loaded.name, why_not or "approval requested", body)
    ti.xcom_push(
        key=REVIEW_KEY,
        value={
            "ask": ask,
            "why_not": why_not,
            "subject": approval_subject(loaded.name, review),
            "body": body,
            "counts": review.to_dict(),
        },
    )
    # Each apply unit names the run's snapshot, as the plan's units do: the apply reads the very same one.
    return [{**unit.to_dict(), "snapshot": str(summary["snapshot"])} for unit in review.apply_units] if ask else []


def apply_task(loaded: LoadedShip, configuration: Configuration, unit: dict[str, Any], context: Any) -> dict[str, Any]:
    """Commit one apply unit's reviewed targets (re-checked first); returns its ``UnitResult`` as a dict."""
    work = ApplyUnit.from_dict(unit)
    context[UNIT_LABEL_KEY] = work.label  # rendered by map_index_template
    view = view_of_snapshot(loaded, configuration, str(unit["snapshot"]))
    conn_id = ship_conn_id(loaded)
    # As in deliver: Starfleet ships consult the very index the plan resolved with (none for SINGLE_INVOCATION).
    single = loaded.fan_out_strategy is FanOutStrategy.SINGLE_INVOCATION
    with nullcontext() if single else ACCOUNT_INDEX.serving(view.index):
        result = apply_reviewed_unit(
            loaded,
            work,
            view,
            run_context=run_context_from(context, account_index=view.index, template=work.template, reviewed=True),
            session_factory=aws_session_factory(conn_id, configuration.starfleet.get("deployment_region")),
        )
    log.info("%s: %d applied, %d not applied or failed", work.label, result.succeeded, result.failed)
    for error, positions in result.failures.items():
        log.error("%s: %d targets: %s", work.label, len(positions), error)
    return result.to_dict()


def reviewed_report_task(
    loaded: LoadedShip, configuration: Configuration, dry_results: Any, apply_results: Any, context: Any
) -> dict[str, Any]:
    """The reviewed run's report; fails the task (after pushing the table) unless it was approved and OK."""
    from starfleet_airflow.airflow.compat import AirflowFailException

    ti = context["ti"]
    summary, units = _plan_outputs(loaded, ti)
    decision = ti.xcom_pull(task_ids=APPROVE_TASK, key=DECISION_KEY)
    view = view_of_snapshot(loaded, configuration, summary["snapshot"]) if units else None
    report = build_reviewed_report(
        summary,
        units,
        [r for r in (list(dry_results[:]) if dry_results is not None else []) if r],
        commit=commit_of(context, loaded),
        apply_units=ti.xcom_pull(task_ids=REVIEW_TASK) or [],
        apply_results=[r for r in (list(apply_results[:]) if apply_results is not None else []) if r],
        decision=Decision.from_dict(decision) if decision else None,
        tolerance=loaded.airflow_options["failure_tolerance"],
        name_of=view.index.name_of if view else (lambda account_id: account_id),
    )
    log.info("%s report\n%s", loaded.name, report.table())
    if not report.ok:
        ti.xcom_push(key="report", value=report.to_dict())
        raise AirflowFailException(report.verdict())
    return report.to_dict()
