"""What a ship says it would change (dry run) or changed (commit) for one target: optional, per target.

Starfleet's ships only log what they would do. A ship here may also *say* it, so a reviewed run can
show an approver which targets would change and how, and apply exactly those:

    def execute(self, commit: bool = False):
        changes = self.plan()                                   # the ship's own comparison
        self.report_changes(bool(changes), summary=plural(len(changes), "change"), diff=render(changes))
        if commit and changes:
            self.apply(changes)

``report_changes`` is a method of ``StarfleetWorkerShip``; calling it is optional and changes nothing
else: ``execute``'s return value is still the target's outcome detail. A ship that never calls it is
taken to change every target it runs for (nobody can tell otherwise), which is the safe reading for a
review: every such target is shown as "would change (the ship does not say)" and applied when approved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUMMARY_LIMIT = 300  # characters of the one-line summary kept with the outcome
DIFF_LIMIT = 4_000  # characters of the diff kept with the outcome (the ship's log has all of it)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + f"… ({len(text) - limit + 1} more characters in the task log)"


@dataclass(frozen=True)
class ChangeSummary:
    """One target's change: does it differ from the template, a one-line summary, a short readable diff.

    ``fingerprint`` identifies the change itself (computed from the full summary and diff, before they
    are cut for XCom), so the apply step of a reviewed run can tell whether a target still needs exactly
    the change that was approved.
    """

    changed: bool
    summary: str = ""
    diff: str = ""

    @property
    def fingerprint(self) -> str:
        text = json.dumps([self.changed, self.summary, self.diff], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able record kept with the target's outcome (summary and diff cut to their limits)."""
        return {
            "changed": self.changed,
            "summary": _cut(self.summary, SUMMARY_LIMIT),
            "diff": _cut(self.diff, DIFF_LIMIT),
            "fingerprint": self.fingerprint,
        }


def make_change_summary(changed: Any, summary: Any = "", diff: Any = "") -> ChangeSummary:
    """A ``ChangeSummary`` from what a ship passed, refusing what a reviewer could misread.

    ``changed`` must be a real bool (``report_changes([])`` is a mistake, not "unchanged"); summary and
    diff are text (``None`` is empty).
    """
    if not isinstance(changed, bool):
        raise TypeError(f"report_changes: changed must be True or False, got {type(changed).__name__} {changed!r}")
    for name, value in (("summary", summary), ("diff", diff)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"report_changes: {name} must be text, got {type(value).__name__}")
    return ChangeSummary(changed, summary or "", diff or "")


def would_change(changes: Mapping[str, Any] | None) -> bool:
    """The review's reading of a recorded change: a ship that said nothing would change the target."""
    return True if changes is None else bool(changes.get("changed", True))
