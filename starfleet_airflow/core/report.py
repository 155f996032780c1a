"""The run's report: what happened to every target, and whether the run passes the ship's tolerance.

The deliver tasks return compact results (counts, failures as positions, inline outcomes); the report
turns them back into rows naming template, account id, account name, region, outcome and error. Target
lists are re-derived from the run snapshot (``targets_of``), never carried through XCom.

Every failure gets a row, always. Successes get a row each when the run has at most ``row_limit``
targets; above that (a 100,000-message SQS run), they are summarised per template.

What counts against ``Airflow.FailureTolerance`` (``{"count": n}`` or ``{"percent": p}``, default 0):
failed targets, invalid templates (one each), and targets of a deliver task that crashed. A crashed
deliver task fails the run whatever the tolerance: nobody knows what it delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow.core.outcomes import FAILED, SENT, SUCCEEDED, TIMED_OUT, UnitResult
from starfleet_airflow.core.resolve import Target
from starfleet_airflow.core.text import plural

DEFAULT_ROW_LIMIT = 1_000
INVALID_TEMPLATE = "invalid template"
UNDELIVERED = "unknown"
COLUMNS = ("template", "account_id", "account_name", "region", "outcome", "error")


@dataclass
class Report:
    """Rows, per-template counts and the verdict; ``to_dict`` is the report task's XCom."""

    ship: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    templates: dict[str, dict[str, int]] = field(default_factory=dict)
    targets: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0  # of ``failed``: inline targets still running at their time limit
    invalid_templates: int = 0
    undelivered: int = 0
    crashed_units: list[str] = field(default_factory=list)
    successes_listed: bool = True
    tolerance: dict[str, Any] = field(default_factory=lambda: {"count": 0})
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        """What the tolerance is measured against."""
        return self.failed + self.invalid_templates + self.undelivered

    @property
    def allowed_failures(self) -> float:
        if "percent" in self.tolerance:
            return (self.targets + self.invalid_templates) * float(self.tolerance["percent"]) / 100
        return float(self.tolerance.get("count", 0))

    @property
    def ok(self) -> bool:
        return not self.crashed_units and self.failures <= self.allowed_failures

    def verdict(self) -> str:
        """One sentence for the task log and the failure message."""
        counts = (
            f"{plural(self.targets, 'target')}: {self.succeeded} succeeded, {self.failed} failed"
            + (f" ({self.timed_out} timed out)" if self.timed_out else "")
            + (f", {self.undelivered} with unknown outcome" if self.undelivered else "")
            + (f"; {plural(self.invalid_templates, 'invalid template')}" if self.invalid_templates else "")
        )
        tolerance = (
            f"{self.tolerance['percent']}%" if "percent" in self.tolerance else str(self.tolerance.get("count", 0))
        )
        if self.crashed_units:
            crashed = plural(len(self.crashed_units), "deliver task")
            return f"{self.ship}: FAILED, {crashed} failed ({', '.join(self.crashed_units)}); {counts}"
        failures = plural(self.failures, "failure")
        if not self.ok:
            exceed = "exceeds" if self.failures == 1 else "exceed"
            return f"{self.ship}: FAILED, {failures} {exceed} the tolerance ({tolerance}); {counts}"
        return f"{self.ship}: OK ({failures} within the tolerance of {tolerance}); {counts}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ship": self.ship,
            "ok": self.ok,
            "verdict": self.verdict(),
            "targets": self.targets,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "timed_out": self.timed_out,
            "invalid_templates": self.invalid_templates,
            "undelivered": self.undelivered,
            "crashed_units": self.crashed_units,
            "tolerance": self.tolerance,
            "templates": self.templates,
            "successes_listed": self.successes_listed,
            "rows": self.rows,
            "notes": self.notes,
        }

    def table(self, max_error: int = 160) -> str:
        """The rows as a fixed-width text table, then a per-template summary."""
        lines: list[str] = []
        if self.rows:
            cells = [
                [str(row.get(column) if row.get(column) is not None else "-") for column in COLUMNS]
                for row in self.rows
            ]
            for line in cells:
                if len(line[-1]) > max_error:
                    line[-1] = line[-1][: max_error - 1] + "…"
            widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(COLUMNS)]
            lines.append("  ".join(column.upper().ljust(widths[i]) for i, column in enumerate(COLUMNS)).rstrip())
            lines.append("  ".join("-" * width for width in widths))
            lines.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in cells)
        if not self.successes_listed:
            lines.append(
                f"({plural(self.targets, 'target')}: successes are summarised per template below,"
                " every failure is listed)"
            )
        lines.append("")
        lines.append("per template:")
        for template, counts in self.templates.items():
            lines.append("  " + template + ": " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        lines.extend(f"note: {note}" for note in self.notes)
        lines.append(self.verdict())
        return "\n".join(lines)


def build_report(
    summary: Mapping[str, Any],
    units: Sequence[Mapping[str, Any]],
    results: Sequence[Mapping[str, Any]],
    *,
    tolerance: Mapping[str, Any],
    targets_of: Callable[[str], Sequence[Target]] | None,
    name_of: Callable[[str], str],
    row_limit: int = DEFAULT_ROW_LIMIT,
    snapshot_problem: str | None = None,
) -> Report:
    """Combine the plan's summary and units and the deliver tasks' results into a ``Report``.

    ``targets_of(template_key)`` gives the template's full target list from the run snapshot and
    ``name_of(account_id)`` the account's name; units are matched to results by their ``unit`` number.
    Without the snapshot (``targets_of`` None, ``snapshot_problem`` saying why) every target is still
    counted: a unit's targets are one row, a failure names its position in its unit.
    """
    report = Report(ship=str(summary.get("ship", "")), tolerance=dict(tolerance), notes=list(summary.get("notes", [])))
    report.targets = int(summary.get("total_targets", 0))
    report.successes_listed = report.targets <= row_limit
    by_unit = {int(r["unit"]): UnitResult.from_dict(dict(r)) for r in results if r}
    if targets_of is None:
        report.notes.insert(0, f"{snapshot_problem}: targets are counted per work unit, not listed one by one")

    def row(template: str, target: Target | None, outcome: str, error: str | None, detail: Any = None) -> None:
        account_id = target.account_id if target else None
        entry = {
            "template": template,
            "account_id": account_id,
            "account_name": name_of(account_id) if account_id else None,
            "region": target.region if target else None,
            "outcome": outcome,
            "error": error,
        }
        if detail is not None:
            entry["detail"] = detail
        report.rows.append(entry)

    for invalid in summary.get("invalid", []):
        report.invalid_templates += 1
        report.templates.setdefault(invalid["key"], {})["invalid"] = 1
        row(invalid["key"], None, INVALID_TEMPLATE, "; ".join(invalid.get("errors", [])))

    for planned in summary.get("templates", []):
        report.templates.setdefault(planned["key"], {"targets": planned.get("targets", 0)})

    for unit in units:
        key = unit["template"]
        counts = report.templates.setdefault(key, {})
        result = by_unit.get(int(unit["unit"]))
        if result is None:
            size = int(unit["stop"]) - int(unit["start"])
            report.undelivered += size
            report.crashed_units.append(str(unit.get("label") or unit["unit"]))
            counts[UNDELIVERED] = counts.get(UNDELIVERED, 0) + size
            if targets_of is None:
                why = f"the deliver task for this unit failed; {snapshot_problem}"
                row(key, None, UNDELIVERED, f"{plural(size, 'target')} ({unit.get('label')}): {why}")
                continue
            targets = targets_of(key)[int(unit["start"]) : int(unit["stop"])]
            for target in targets:
                row(key, target, UNDELIVERED, "the deliver task for this unit failed; see its log")
            continue
        failed_at = {position: error for error, positions in result.failures.items() for position in positions}
        report.failed += len(failed_at)
        report.succeeded += result.succeeded
        if failed_at:
            counts[FAILED] = counts.get(FAILED, 0) + len(failed_at)
        success = SENT if result.mode == "SQS" else SUCCEEDED
        counts[success] = counts.get(success, 0) + result.succeeded
        if result.outcomes is not None:  # inline: every target's outcome is in the result
            for outcome in result.outcomes:
                status = outcome["status"]
                report.timed_out += status == TIMED_OUT
                if status == SUCCEEDED and not report.successes_listed:
                    continue
                target = Target(outcome.get("account_id"), outcome.get("region"))
                row(key, target, status, outcome.get("error"), outcome.get("detail"))
            continue
        if not failed_at and not report.successes_listed:
            continue
        if targets_of is None:
            for position, error in sorted(failed_at.items()):
                row(key, None, FAILED, f"target {position} of unit {result.unit} ({result.label}): {error}")
            continue
        targets = targets_of(key)[result.start : result.stop]
        for position, target in enumerate(targets):
            if position in failed_at:
                row(key, target, FAILED, failed_at[position])
            elif report.successes_listed:
                row(key, target, success, None)
    return report
