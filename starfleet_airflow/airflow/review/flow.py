"""The DAG shape of a reviewed ship: plan -> dry_run -> review -> approve -> apply -> report.

* ``dry_run`` (mapped over the plan's work units, labelled like ``deliver``): the ship for every target
  with ``commit=False``; each target's outcome carries what the ship said it would change.
* ``review``: the dry run per template (how many targets would change, which, and how); its XCom holds
  the approval's subject and Markdown body and the apply units.
* ``approve``: Airflow's human-in-the-loop approval (Approve / Reject, an optional comment); no answer
  within ``Airflow.ReviewTimeoutSeconds`` rejects. Asked only when something would change and the run
  commits. Reject skips ``apply``.
* ``apply`` (mapped over the apply units, labelled like ``deliver``): commit of exactly the targets that
  would change, from the same snapshot, each re-checked first.
* ``report``: every target's outcome and the decision (who, when, comment, what was applied); it fails
  the run when the review was rejected or timed out, so such a run never looks green-and-applied.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starfleet_airflow.airflow.naming import UNIT_LABEL_KEY
from starfleet_airflow.airflow.review.availability import require_review
from starfleet_airflow.airflow.review.docs import duration_text
from starfleet_airflow.airflow.review.keys import APPLY_TASK, APPROVE_TASK, DRY_RUN_TASK, REVIEW_TASK
from starfleet_airflow.airflow.starfleet_task import starfleet_task
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.registry import LoadedShip

if TYPE_CHECKING:  # pragma: no cover - typing only
    from airflow.sdk import XComArg

COMMIT_DESCRIPTION = (
    "Apply the reviewed changes once approved (true), or stop after the dry run and its review (false)."
    " Every run is a dry run first: nothing changes without an approval."
)


def review_params(params: dict[str, Any]) -> dict[str, Any]:
    """The trigger form of a reviewed ship: what ``commit`` means there."""
    params["commit"].description = COMMIT_DESCRIPTION
    return params


def approver_doc(loaded: LoadedShip) -> str:
    """The approval task's documentation (Task Instance details)."""
    options = loaded.airflow_options
    reviewers = ", ".join(options["reviewers"]) or "any user allowed to act on this DAG's required actions"
    return "\n".join(
        [
            f"### Approve the changes of {loaded.name}",
            "",
            "The body above lists, per template, the targets the dry run found would change and how.",
            "**Approve** applies exactly those, from the run's snapshot; **Reject** changes nothing.",
            f"No answer {duration_text(int(options['review_timeout_seconds']))} rejects.",
            f"Who may answer: {reviewers}. Your answer, the time and your comment go into the run's report.",
        ]
    )


def build_reviewed_flow(loaded: LoadedShip, configuration: Configuration, units: XComArg) -> None:
    """Add the reviewed tasks after ``plan`` (inside the DAG being built)."""
    from airflow.sdk import get_current_context, task

    from starfleet_airflow.airflow.compat import TriggerRule

    require_review(loaded.name, loaded.source_file)
    from starfleet_airflow.airflow.review.approval import build_approval

    label = "{{ " + UNIT_LABEL_KEY + " }}"
    options = loaded.airflow_options
    # The time limits of the tasks they stand for (Airflow.DeliverTimeoutSeconds, ReportTimeoutSeconds); the
    # approval's wait is bounded by ReviewTimeoutSeconds instead.
    deliver_timeout = timedelta(seconds=options["deliver_timeout_seconds"])
    report_timeout = timedelta(seconds=options["report_timeout_seconds"])

    # multiple_outputs=False: one XCom per task (a "-> dict" annotation would make Airflow push each key too).
    @task(task_id=DRY_RUN_TASK, map_index_template=label, multiple_outputs=False, execution_timeout=deliver_timeout)
    def dry_run(unit: dict[str, Any]) -> dict[str, Any]:
        # Task bodies import what they run when they run: parsing the DAG file never pays for them.
        from starfleet_airflow.airflow.tasks.deliver import deliver_task

        with starfleet_task(loaded, configuration):
            return deliver_task(loaded, configuration, unit, get_current_context(), commit=False)

    # Reads whatever the dry run got done (a crashed unit's targets are "unknown", never applied); not
    # after a failed plan, which leaves nothing to review.
    @task(
        task_id=REVIEW_TASK,
        trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,
        retries=0,
        execution_timeout=report_timeout,
    )
    def review(results: Any) -> list[dict[str, Any]]:
        from starfleet_airflow.airflow.review.tasks import review_task

        with starfleet_task(loaded, configuration):
            return review_task(loaded, configuration, results, get_current_context())

    @task(task_id=APPLY_TASK, map_index_template=label, multiple_outputs=False, execution_timeout=deliver_timeout)
    def apply(unit: dict[str, Any]) -> dict[str, Any]:
        from starfleet_airflow.airflow.review.tasks import apply_task

        with starfleet_task(loaded, configuration):
            return apply_task(loaded, configuration, unit, get_current_context())

    @task(
        task_id="report",
        trigger_rule=TriggerRule.ALL_DONE,
        retries=0,
        multiple_outputs=False,
        execution_timeout=report_timeout,
    )
    def report(dry_results: Any, applied: Any) -> dict[str, Any]:
        from starfleet_airflow.airflow.review.tasks import reviewed_report_task

        with starfleet_task(loaded, configuration):
            return reviewed_report_task(loaded, configuration, dry_results, applied, get_current_context())

    dry_results = dry_run.expand(unit=units)
    apply_units = review(dry_results)
    approve = build_approval(
        task_id=APPROVE_TASK,
        review_task_id=REVIEW_TASK,
        timeout_seconds=int(options["review_timeout_seconds"]),
        reviewers=list(options["reviewers"]),
        doc_md=approver_doc(loaded),
    )
    applied = apply.expand(unit=apply_units)
    apply_units >> approve >> applied  # approve's only direct downstream: a Reject skips exactly the apply
    report(dry_results, applied)
