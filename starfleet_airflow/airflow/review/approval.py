"""The approval task of a reviewed run: Airflow's ``ApprovalOperator``, asked only when there is something to
approve, and keeping the decision for the report.

* It asks (a "required action" in the UI and the REST API, with Approve / Reject and an optional comment)
  only when the review found targets that would change and the run commits; otherwise it skips, and so
  does the apply.
* Reject, or no answer within ``Airflow.ReviewTimeoutSeconds`` (the timeout's default is Reject), skips
  the apply task: nothing is changed.
* ``ApprovalOperator`` pushes no XCom on Reject (its skip drops the return value), so the decision (who,
  when, which option, the comment, timed out or not) is pushed under the key ``decision`` first, for every
  answer. Airflow itself records the responding user in the task's human-in-the-loop detail and its audit
  log (``update_hitl_detail``).

Imported only when ``review_unavailable()`` said the operators exist (Airflow 3.1+).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from starfleet_airflow.airflow.review.keys import DECISION_KEY, REVIEW_KEY
from starfleet_airflow.core.review import Decision


class ReviewApproval(ApprovalOperator):
    """Approve or reject the changes the ``review`` task summarised (subject and body come from its XCom)."""

    def __init__(self, *, review_task_id: str, **kwargs: Any) -> None:
        self.review_task_id = review_task_id
        super().__init__(**kwargs)

    def execute(self, context: Any) -> Any:
        from starfleet_airflow.airflow.compat import AirflowSkipException

        review = context["ti"].xcom_pull(task_ids=self.review_task_id, key=REVIEW_KEY) or {}
        if not review.get("ask"):
            raise AirflowSkipException(review.get("why_not") or "the review found nothing to approve")
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if "error" not in event:
            decision = Decision.from_response(
                event.get("chosen_options") or [],
                event.get("params_input"),
                event.get("responded_at"),
                event.get("responded_by_user"),
                timed_out=bool(event.get("timedout")),
            )
            self.log.info("review %s", decision.sentence())
            context["ti"].xcom_push(key=DECISION_KEY, value=decision.to_dict())
        return super().execute_complete(context=context, event=event)


def build_approval(
    *, task_id: str, review_task_id: str, timeout_seconds: int, reviewers: list[str], doc_md: str
) -> ReviewApproval:
    """The approval task, inside the DAG being built."""
    from airflow.sdk import Param

    pull = "{{ ti.xcom_pull(task_ids='" + review_task_id + "', key='" + REVIEW_KEY + "')"
    return ReviewApproval(
        task_id=task_id,
        review_task_id=review_task_id,
        subject=pull + "['subject'] }}",
        body=pull + "['body'] }}",
        defaults=ReviewApproval.REJECT,  # silence rejects
        response_timeout=timedelta(seconds=timeout_seconds),
        # Optional: the UI keeps the buttons disabled until a *required* field is filled.
        params={
            "comment": Param(
                None,
                type=["null", "string"],
                title="Comment",
                description="Why you approve or reject; kept in the run's report and Airflow's audit log.",
            )
        },
        assigned_users=[{"id": user, "name": user} for user in reviewers] or None,
        retries=0,  # a retry would ask again and lose the first answer from the live record
        execution_timeout=None,  # the wait is bounded by response_timeout, not by a task timeout
        doc_md=doc_md,
    )
