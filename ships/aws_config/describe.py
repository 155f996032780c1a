"""AWS Config changes as a reviewer reads them: a one-line summary and a ``- current`` / ``+ desired`` diff."""

from __future__ import annotations

import json

from ships.aws_config.state import Change


def summarise_changes(changes: list[Change], source: str) -> str:
    """One line for a reviewer: the calls a commit makes, and which configuration of the template applies."""
    if not changes:
        return f"AWS Config matches {source}"
    calls = ", ".join(f"{change.action} {change.resource} {change.name!r}" for change in changes)
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''} ({source}): {calls}"


def describe_changes(changes: list[Change]) -> str:
    """Each change with its fields as ``- current`` / ``+ desired`` lines (a readable diff)."""
    lines: list[str] = []
    for change in changes:
        lines.append(f"{change.action} {change.resource} {change.name!r}:")
        for path, values in change.changes.items():
            lines.append(f"- {path}: {json.dumps(values.get('current'), sort_keys=True, default=str)}")
            lines.append(f"+ {path}: {json.dumps(values.get('desired'), sort_keys=True, default=str)}")
    return "\n".join(lines)
