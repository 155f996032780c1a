"""The "Reviewed runs" part of a ship DAG's documentation (read at parse time: it imports no task body)."""

from __future__ import annotations

from starfleet_airflow.core.registry import LoadedShip


def duration_text(seconds: int) -> str:
    """``within 24 hours``, ``within 90 minutes``, ``within 1 second``."""
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            if unit == "day" and count == 1:
                return "within 24 hours"
            return f"within {count} {unit}{'s' if count != 1 else ''}"
    return f"within {seconds} second{'s' if seconds != 1 else ''}"


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
