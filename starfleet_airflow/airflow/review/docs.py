"""The "Reviewed runs" part of a ship DAG's documentation."""

from __future__ import annotations

from starfleet_airflow.airflow.review.tasks import duration_text
from starfleet_airflow.core.registry import LoadedShip


def review_doc_lines(loaded: LoadedShip) -> list[str]:
    """One line when reviewed mode is off; the flow, the timeout and the reviewers when it is on."""
    options = loaded.airflow_options
    if not options["review"]:
        return [
            "* **Reviewed runs:** off (`Airflow.Review: true` makes every run a dry run, a human approval and an"
            " apply of exactly what the dry run found; INLINE ships on Airflow 3.1+)",
        ]
    reviewers = ", ".join(f"`{user}`" for user in options["reviewers"]) or "any user allowed to act on this DAG"
    timeout = duration_text(int(options["review_timeout_seconds"]))
    return [
        "* **Reviewed runs:** on. Every run: `plan` -> `dry_run` (every target, commit=false) -> `review` (per"
        " template: which targets would change, and how) -> `approve` (Approve / Reject with an optional comment,"
        f" in the UI's Required Actions or the REST API; no answer {timeout}"
        " rejects) -> `apply` (commit of exactly the targets that would change, from the same snapshot, each"
        " checked again first) -> `report` (who decided, when, the comment, what was applied). A rejected or"
        " timed-out review changes nothing and fails the run. `commit=false` stops after the review."
        f" Reviewers: {reviewers}.",
    ]
