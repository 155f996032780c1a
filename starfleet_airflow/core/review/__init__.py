"""Reviewed runs, Airflow-free: read a dry run, cut what to apply, describe it, report the outcome.

A reviewed run (``Airflow.Review: true``) is plan -> dry run of every target -> review -> approval ->
apply of exactly the targets the dry run said would change, from the same snapshot -> report. This
package holds the parts that need no Airflow:

* ``summary``: the dry run read per template (would change / unchanged / failed) and the apply units;
* ``body``: what the approver reads (subject and Markdown body of the approval request);
* ``decision``: the approver's answer as recorded for the audit;
* ``report``: the reviewed run's report (who decided, when, with what comment, what was applied).
"""

from __future__ import annotations

from starfleet_airflow.core.review.decision import Decision
from starfleet_airflow.core.review.report import ReviewedReport, build_reviewed_report
from starfleet_airflow.core.review.summary import (
    ApplyUnit,
    DryRunReview,
    ReviewedTarget,
    TemplateReview,
    review_dry_run,
)

__all__ = [
    "ApplyUnit",
    "Decision",
    "DryRunReview",
    "ReviewedReport",
    "ReviewedTarget",
    "TemplateReview",
    "build_reviewed_report",
    "review_dry_run",
]
