"""The report of a reviewed run: every target's outcome, the decision (who, when, why) and what was applied.

Outcomes per target: ``applied`` (approved, and the apply succeeded), ``unchanged`` (the dry run found
nothing to do: never touched), ``not applied`` (it would change, but the review was rejected or timed
out, or the run was a dry run), ``failed`` (the dry run or the apply failed; the error says which),
``unknown`` (the task that ran it failed), ``invalid template``.

The verdict fails the run when the review was rejected or timed out (nothing was changed, and the run
must not look green-and-applied), when the approval never finished, when a task crashed, or when the
failures exceed ``Airflow.FailureTolerance`` (counted as in an ordinary run: failed targets, invalid
templates and targets of crashed tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow.core.outcomes import SUCCEEDED, UnitResult
from starfleet_airflow.core.report import DEFAULT_ROW_LIMIT, INVALID_TEMPLATE
from starfleet_airflow.core.review.decision import TIMED_OUT, Decision
from starfleet_airflow.core.review.summary import (
    DRY_RUN_FAILED,
    UNCHANGED,
    UNKNOWN,
    WOULD_CHANGE,
    ApplyUnit,
    ReviewedTarget,
    review_dry_run,
)
from starfleet_airflow.core.text import listed, plural

APPLIED = "applied"
NOT_APPLIED = "not applied"
FAILED = "failed"
NOTHING_TO_CHANGE = "nothing to change"
DRY_RUN_ONLY = "dry run only"
NO_DECISION = "no decision"


@dataclass
class ReviewedReport:
    """Rows, counts, the review record and the verdict; ``to_dict`` keeps the keys of ``Report.to_dict``."""

    ship: str
    outcome: str  # APPROVED / REJECTED / TIMED_OUT (the decision), NOTHING_TO_CHANGE, DRY_RUN_ONLY, NO_DECISION
    decision: Decision | None = None
    targets: int = 0
    would_change: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    templates: dict[str, dict[str, int]] = field(default_factory=dict)
    applied: list[dict[str, Any]] = field(default_factory=list)
    crashed_units: list[str] = field(default_factory=list)
    tolerance: dict[str, Any] = field(default_factory=lambda: {"count": 0})
    notes: list[str] = field(default_factory=list)
    rows_limited: bool = False
    snapshot: str | None = None

    def count(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)

    @property
    def failures(self) -> int:
        return self.count(FAILED) + self.count(INVALID_TEMPLATE) + self.count(UNKNOWN)

    @property
    def within_tolerance(self) -> bool:
        if "percent" in self.tolerance:
            allowed = (self.targets + self.count(INVALID_TEMPLATE)) * float(self.tolerance["percent"]) / 100
        else:
            allowed = float(self.tolerance.get("count", 0))
        return self.failures <= allowed

    @property
    def decided(self) -> bool:
        """Nothing needed a decision, or the approver approved."""
        return self.outcome in (NOTHING_TO_CHANGE, DRY_RUN_ONLY) or bool(self.decision and self.decision.approved)

    @property
    def ok(self) -> bool:
        return self.decided and not self.crashed_units and self.within_tolerance

    def verdict(self) -> str:
        """One sentence: what was decided and what happened."""
        counts = (
            f"{self.would_change} of {plural(self.targets, 'target')} would change: {self.count(APPLIED)} applied,"
            f" {self.count(NOT_APPLIED)} not applied; {self.count(UNCHANGED)} unchanged, {self.count(FAILED)} failed"
            + (f", {self.count(UNKNOWN)} unknown" if self.count(UNKNOWN) else "")
            + (f", {plural(self.count(INVALID_TEMPLATE), 'invalid template')}" if self.count(INVALID_TEMPLATE) else "")
        )
        if self.decision is not None and not self.decision.approved and self.outcome not in (DRY_RUN_ONLY,):
            head = "REVIEW TIMED OUT" if self.decision.outcome == TIMED_OUT else "REJECTED"
            return f"{self.ship}: {head}, nothing was changed: {self.decision.sentence()}; {counts}"
        if self.outcome == NO_DECISION:
            return f"{self.ship}: FAILED, the approval did not finish, nothing was applied; {counts}"
        if self.outcome == DRY_RUN_ONLY:
            head = "dry run reviewed (commit=false), nothing was asked or applied"
        elif self.outcome == NOTHING_TO_CHANGE:
            head = "nothing to change, no approval needed"
        else:
            head = f"applied after review, {self.decision.sentence() if self.decision else ''}"
        if self.crashed_units:
            crashed = ", ".join(self.crashed_units)
            return f"{self.ship}: FAILED, {listed(self.crashed_units, 'task')} failed ({crashed}); {head}; {counts}"
        if not self.within_tolerance:
            return f"{self.ship}: FAILED, {plural(self.failures, 'failure')} exceed the tolerance; {head}; {counts}"
        return f"{self.ship}: OK, {head}; {counts}"

    def review_record(self) -> dict[str, Any]:
        """The audit record: the decision, the snapshot reviewed, and exactly what was applied."""
        decision = self.decision.to_dict() if self.decision else {}
        return {
            "outcome": self.outcome,
            "by": decision.get("by"),
            "at": decision.get("at"),
            "comment": decision.get("comment"),
            "snapshot": self.snapshot,
            "would_change": self.would_change,
            "applied": list(self.applied),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "ship": self.ship,
            "ok": self.ok,
            "verdict": self.verdict(),
            "targets": self.targets,
            "succeeded": self.count(APPLIED) + self.count(UNCHANGED),
            "failed": self.count(FAILED),
            "invalid_templates": self.count(INVALID_TEMPLATE),
            "undelivered": self.count(UNKNOWN),
            "crashed_units": list(self.crashed_units),
            "tolerance": self.tolerance,
            "templates": self.templates,
            "successes_listed": not self.rows_limited,
            "rows": self.rows,
            "notes": self.notes,
            "counts": dict(self.counts),
            "review": self.review_record(),
        }

    def table(self) -> str:
        """The rows as a fixed-width table, the per-template counts, the review record, the verdict."""
        from starfleet_airflow.core.review.table import render_table

        return render_table(self)


def build_reviewed_report(
    summary: Mapping[str, Any],
    units: Sequence[Mapping[str, Any]],
    dry_results: Sequence[Mapping[str, Any]],
    *,
    commit: bool,
    apply_units: Sequence[Mapping[str, Any]] | None,
    apply_results: Sequence[Mapping[str, Any]],
    decision: Decision | None,
    tolerance: Mapping[str, Any],
    name_of: Callable[[str], str],
    row_limit: int = DEFAULT_ROW_LIMIT,
) -> ReviewedReport:
    """Combine the plan, the dry run, the decision and the apply into one ``ReviewedReport``."""
    review = review_dry_run(units, dry_results)
    if not commit:
        outcome = DRY_RUN_ONLY
    elif review.would_change == 0:
        outcome = NOTHING_TO_CHANGE
    else:
        outcome = decision.outcome if decision else NO_DECISION
    report = ReviewedReport(
        ship=str(summary.get("ship", "")),
        outcome=outcome,
        decision=decision,
        targets=int(summary.get("total_targets", 0)),
        would_change=review.would_change,
        tolerance=dict(tolerance),
        notes=list(summary.get("notes", [])),
        rows_limited=int(summary.get("total_targets", 0)) > row_limit,
        snapshot=summary.get("snapshot"),
        crashed_units=[f"dry_run: {label}" for label in review.crashed_units],
    )
    approved = outcome == getattr(decision, "outcome", None) and bool(decision and decision.approved)
    applied = _apply_outcomes(apply_units or [], apply_results, report) if approved else {}
    if outcome == DRY_RUN_ONLY:
        not_applied_because = "commit=false: a dry run"
    elif outcome == NO_DECISION:
        not_applied_because = "the approval did not finish"
    else:
        not_applied_because = decision.sentence() if decision else outcome

    def add(target: ReviewedTarget | None, template: str, outcome_name: str, **extra: Any) -> None:
        report.counts[outcome_name] = report.counts.get(outcome_name, 0) + 1
        per_template = report.templates.setdefault(template, {"targets": 0})
        per_template[outcome_name] = per_template.get(outcome_name, 0) + 1
        if report.rows_limited and outcome_name == UNCHANGED:
            return  # a large run lists every change and failure, and counts what already matched
        account_id = target.account_id if target else None
        report.rows.append(
            {
                "template": template,
                "account_id": account_id,
                "account_name": name_of(account_id) if account_id else None,
                "region": target.region if target else None,
                "outcome": outcome_name,
                "change": (target.summary or None) if target else None,
            }
            | extra
        )

    for invalid in summary.get("invalid", []):
        add(None, invalid["key"], INVALID_TEMPLATE, error="; ".join(invalid.get("errors", [])))
    for key, template in review.templates.items():
        report.templates.setdefault(key, {})["targets"] = template.targets
        checked = sorted(template.would_change + template.unchanged + template.failed, key=lambda t: t.position)
        for target in checked:
            if target.status == UNCHANGED:
                add(target, key, UNCHANGED)
            elif target.status == DRY_RUN_FAILED:
                add(target, key, FAILED, error=f"dry run: {target.error}")
            elif target.status == WOULD_CHANGE and not approved:
                add(target, key, NOT_APPLIED, error=not_applied_because)
            else:
                result = applied.get((key, target.position))
                if result is None:
                    add(target, key, UNKNOWN, error="the apply task for this target failed; see its log")
                elif result.get("status") == SUCCEEDED:
                    add(target, key, APPLIED, detail=result.get("detail"))
                    report.applied.append(
                        {
                            "template": key,
                            "account_id": target.account_id,
                            "account_name": name_of(target.account_id) if target.account_id else None,
                            "region": target.region,
                        }
                    )
                else:
                    add(target, key, FAILED, error=f"apply: {result.get('error')}")
        if template.unknown:
            report.counts[UNKNOWN] = report.counts.get(UNKNOWN, 0) + template.unknown
            report.templates[key][UNKNOWN] = template.unknown
    return report


def _apply_outcomes(
    apply_units: Sequence[Mapping[str, Any]], apply_results: Sequence[Mapping[str, Any]], report: ReviewedReport
) -> dict[tuple[str, int], dict[str, Any]]:
    """(template, snapshot position) -> the apply outcome; a unit without a result is a crashed task."""
    by_unit = {int(r["unit"]): UnitResult.from_dict(dict(r)) for r in apply_results if r}
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for data in apply_units:
        unit = ApplyUnit.from_dict(data)
        result = by_unit.get(unit.unit)
        if result is None or result.outcomes is None:
            report.crashed_units.append(f"apply: {unit.label}")
            continue
        for position, outcome in zip(unit.positions, result.outcomes, strict=True):
            found[(unit.template, position)] = outcome
    return found
