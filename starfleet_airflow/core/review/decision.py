"""The answer to a review, as the audit keeps it: approved or rejected (or timed out), by whom, when, why.

Airflow's human-in-the-loop task records who responded (the authenticated user; nobody when the
timeout's default answered), when, the chosen option and the form's fields. ``Decision`` is that
record in the shape the report and the XCom carry it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

APPROVE = "Approve"
REJECT = "Reject"

APPROVED = "approved"
REJECTED = "rejected"
TIMED_OUT = "timed out"


@dataclass(frozen=True)
class Decision:
    """``outcome`` is APPROVED, REJECTED or TIMED_OUT; ``by`` is ``{"id", "name"}`` (None on a timeout)."""

    outcome: str
    at: str | None
    by: dict[str, str] | None = None
    comment: str | None = None

    @property
    def approved(self) -> bool:
        return self.outcome == APPROVED

    @property
    def who(self) -> str:
        if self.by is None:
            return "nobody (the review timed out)"
        name, user_id = self.by.get("name"), self.by.get("id")
        return str(name) if not user_id or name == user_id else f"{name} ({user_id})"

    def sentence(self) -> str:
        """``rejected by alice at 2026-01-01T10:00:00+00:00 ("not today")``."""
        when = f" at {self.at}" if self.at else ""
        said = f' ("{self.comment}")' if self.comment else ""
        if self.outcome == TIMED_OUT:
            return f"timed out{when}: no answer in time, so rejected{said}"
        return f"{self.outcome} by {self.who}{when}{said}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        by = data.get("by")
        return cls(str(data["outcome"]), data.get("at"), dict(by) if by else None, data.get("comment"))

    @classmethod
    def from_response(
        cls,
        chosen_options: Sequence[str],
        params_input: Mapping[str, Any] | None,
        responded_at: datetime | str | None,
        responded_by: Mapping[str, Any] | None,
        *,
        timed_out: bool = False,
    ) -> Decision:
        """From the human-in-the-loop response (the event handed to the approval task when it resumes).

        Only an explicit Approve approves; a timeout is recorded as such whatever the default option.
        """
        at = responded_at.isoformat() if isinstance(responded_at, datetime) else responded_at
        comment = (params_input or {}).get("comment")
        comment = str(comment).strip() or None if comment is not None else None
        by = {"id": str(responded_by.get("id")), "name": str(responded_by.get("name"))} if responded_by else None
        if timed_out or by is None:
            return cls(TIMED_OUT, at, None, comment)
        outcome = APPROVED if list(chosen_options) == [APPROVE] else REJECTED
        return cls(outcome, at, by, comment)
