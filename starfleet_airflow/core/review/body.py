"""What the approver reads: the subject and the Markdown body of a reviewed run's approval request.

Airflow's UI renders the body as Markdown in the task's "Required Action" tab (tables included). It is
a summary on purpose: counts per template, then the first targets that would change with their
diffs, then what could not be checked. Everything else is in the dry run's results and log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starfleet_airflow.core.review.summary import DryRunReview, ReviewedTarget

LISTED_TARGETS = 25  # targets shown with their diff in the body
DIFF_LINES = 40  # lines of one target's diff shown in the body


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _where(target: ReviewedTarget, name_of: Callable[[str], str]) -> str:
    if target.account_id is None:
        return "the single invocation"
    where = f"{name_of(target.account_id)} ({target.account_id})"
    return f"{where} {target.region}" if target.region else where


def _fenced(diff: str) -> list[str]:
    lines = diff.splitlines()
    shown = lines[:DIFF_LINES]
    if len(lines) > DIFF_LINES:
        shown.append(f"... {len(lines) - DIFF_LINES} more lines in the dry_run task's log")
    fence = "````" if any(line.startswith("```") for line in shown) else "```"
    return [f"{fence}diff", *shown, fence]


def approval_subject(ship: str, review: DryRunReview) -> str:
    """One line: what approving does."""
    return f"{ship}: apply the changes to {review.would_change} of {_plural(review.targets, 'target')}?"


def approval_body(
    ship: str,
    review: DryRunReview,
    *,
    run_id: str,
    snapshot: str,
    timeout: str,
    name_of: Callable[[str], str],
    template_names: Mapping[str, str] | None = None,
) -> str:
    """The Markdown body; ``timeout`` says when silence rejects (e.g. ``within 24 hours``).

    ``template_names`` maps template keys to their ``TemplateName`` (the deliver labels' names).
    """
    names = dict(template_names or {})

    def title(key: str) -> str:
        return f"{names[key]} (`{key}`)" if names.get(key) and names[key] != key else f"`{key}`"

    unchanged = review.total("unchanged")
    lines = [
        f"Reviewed run `{run_id}` of **{ship}**. The dry run of every target found:",
        "",
        "| template | targets | would change | unchanged | dry run failed |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, template in review.templates.items():
        counts = template.counts()
        lines.append(
            f"| {title(key)} | {counts['targets']} | {counts['would change']} | {counts['unchanged']}"
            f" | {counts['failed'] + counts['unknown']} |"
        )
    lines += [
        "",
        f"**Approve** applies exactly the {_plural(review.would_change, 'target')} below, from the same snapshot"
        f" (`{snapshot}`); the {unchanged} that already match are not touched. Before each change the ship"
        " checks the target again, and a target that no longer needs exactly the reviewed change is left alone"
        " and reported.",
        "",
        f"**Reject**, or no answer {timeout}, changes nothing.",
    ]
    listed = 0
    for key, template in review.templates.items():
        if not template.would_change:
            continue
        lines += ["", f"### {title(key)}: {_plural(len(template.would_change), 'target')} would change", ""]
        for target in template.would_change:
            if listed >= LISTED_TARGETS:
                break
            listed += 1
            said = target.summary or (
                "the ship does not report its changes" if not target.reported else "changes (no summary)"
            )
            lines.append(f"**{_where(target, name_of)}**: {said}")
            if target.diff:
                lines += ["", *_fenced(target.diff)]
            lines.append("")
    if review.would_change > listed:
        lines.append(
            f"... and {review.would_change - listed} more (each with its diff in the dry_run task's results and log)"
        )
    failed = [t for template in review.templates.values() for t in template.failed]
    if failed or review.crashed_units:
        lines += ["", "### Could not be checked (never applied)", ""]
        lines += [f"- {_where(t, name_of)}: {t.error}" for t in failed[:LISTED_TARGETS]]
        if len(failed) > LISTED_TARGETS:
            lines.append(f"- ... and {len(failed) - LISTED_TARGETS} more")
        lines += [f"- dry-run task failed: {label}" for label in review.crashed_units]
    return "\n".join(lines).rstrip() + "\n"
