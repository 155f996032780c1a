"""A reviewed run's report as text: the table in the report task's log, read by whoever audits the run."""

from __future__ import annotations

from typing import Any

COLUMNS = ("template", "account_id", "account_name", "region", "outcome", "change", "error")
CELL_LIMIT = 160


def _cell(value: object) -> str:
    text = "-" if value is None else " ".join(str(value).split())
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


def render_table(report: Any) -> str:
    """A ``ReviewedReport``: rows, per-template counts, the review record (decision, what was applied), verdict."""
    lines: list[str] = []
    if report.rows:
        cells = [[_cell(row.get(column)) for column in COLUMNS] for row in report.rows]
        widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(COLUMNS)]
        lines.append("  ".join(column.upper().ljust(widths[i]) for i, column in enumerate(COLUMNS)).rstrip())
        lines.append("  ".join("-" * width for width in widths))
        lines.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in cells)
    if report.rows_limited:
        lines.append(f"({report.targets} targets: unchanged ones are counted below, every other one is listed)")
    lines += ["", "per template:"]
    for template, counts in report.templates.items():
        lines.append("  " + template + ": " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    record = report.review_record()
    lines += ["", f"review: {report.decision.sentence() if report.decision else report.outcome}"]
    lines.append(f"  snapshot reviewed and applied: {record['snapshot']}")
    applied = ", ".join(
        "/".join(str(part) for part in (entry["account_name"], entry["account_id"], entry["region"]) if part)
        for entry in record["applied"]
    )
    lines.append(f"  applied to: {applied or 'nothing'}")
    lines.extend(f"note: {note}" for note in report.notes)
    lines.append(report.verdict())
    return "\n".join(lines)
