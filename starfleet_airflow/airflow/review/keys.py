"""Task ids and XCom keys of a reviewed run, shared by the DAG builder, the task bodies and the tests."""

from __future__ import annotations

DRY_RUN_TASK = "dry_run"
REVIEW_TASK = "review"
APPROVE_TASK = "approve"
APPLY_TASK = "apply"

REVIEW_KEY = "review"  # pushed by the review task: ask?, why not, subject, body, counts
DECISION_KEY = "decision"  # pushed by the approval task: core.review.Decision.to_dict()
