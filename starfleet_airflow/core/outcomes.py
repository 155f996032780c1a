"""What happened to a target, and to a work unit: the names and records every layer reports with.

The runner records a ``TargetOutcome`` per target; a deliver task returns a ``UnitResult`` (its XCom);
the report reads them back. One definition, so the outcome names mean the same everywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SENT = "sent"  # an SQS target's outcome: the message is on the queue
SUCCEEDED = "succeeded"
FAILED = "failed"
INVALID = "invalid"
TIMED_OUT = "timed out"  # an inline target still running at Airflow.TargetTimeoutSeconds


@dataclass(frozen=True)
class TargetOutcome:
    """The result for one target: ``succeeded``, ``failed`` (the ship raised), ``invalid`` (payload refused)
    or ``timed out`` (still running at its time limit; what it changed is unknown).

    ``changes`` is what the ship said with ``report_changes`` (``ChangeSummary.to_dict()``), or None when
    it did not say.
    """

    template: str
    account_id: str | None
    region: str | None
    status: str
    error: str | None = None
    detail: Any = None
    changes: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UnitResult:
    """What one deliver task did; JSON-able, returned as the task's XCom.

    ``failures`` maps an error message to the positions (0-based, within the unit) of the targets that
    failed with it. ``outcomes`` (inline only) holds one entry per target of the unit, in order.
    """

    unit: int
    template: str
    start: int
    stop: int
    label: str
    mode: str
    succeeded: int = 0
    failures: dict[str, list[int]] = field(default_factory=dict)
    outcomes: list[dict[str, Any]] | None = None
    calls: int = 0
    retried: int = 0

    @property
    def failed(self) -> int:
        return sum(len(positions) for positions in self.failures.values())

    def add_failure(self, position: int, error: str) -> None:
        self.failures.setdefault(error, []).append(position)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = {error: sorted(positions) for error, positions in self.failures.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnitResult:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})
