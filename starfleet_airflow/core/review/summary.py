"""Read a reviewed run's dry run: per template, which targets would change and how; what to apply.

The dry run is the ordinary inline delivery with ``commit=False``: one ``UnitResult`` per work unit,
each with one outcome per target (in the unit's order) carrying what the ship said with
``report_changes``. A target would change when the ship said so, or said nothing (nobody can tell
otherwise); it is unchanged only when the ship said ``changed=False``. A target whose dry run failed
is never applied: nobody reviewed what it would do.

The apply units are cut from the dry-run units: one per dry-run unit with at least one target that
would change, holding the positions of exactly those targets in the template's target list of the
run snapshot (so the apply re-derives the very same targets) and the fingerprint of each reviewed
change. There are never more apply units than dry-run units, so they fit ``max_map_length`` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from starfleet_airflow.core.changes import would_change
from starfleet_airflow.core.outcomes import SUCCEEDED, UnitResult

WOULD_CHANGE = "would change"
UNCHANGED = "unchanged"
DRY_RUN_FAILED = "failed"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReviewedTarget:
    """One target as the dry run found it."""

    template: str
    position: int  # in the template's target list of the run snapshot
    account_id: str | None
    region: str | None
    status: str  # WOULD_CHANGE, UNCHANGED, DRY_RUN_FAILED
    summary: str = ""
    diff: str = ""
    fingerprint: str | None = None  # None: the ship did not report its changes
    error: str | None = None

    @property
    def reported(self) -> bool:
        return self.fingerprint is not None


@dataclass
class TemplateReview:
    """One template's dry run: what would change, how many match already, what could not be checked."""

    key: str
    targets: int = 0
    would_change: list[ReviewedTarget] = field(default_factory=list)
    unchanged: list[ReviewedTarget] = field(default_factory=list)
    failed: list[ReviewedTarget] = field(default_factory=list)
    unknown: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "targets": self.targets,
            WOULD_CHANGE: len(self.would_change),
            UNCHANGED: len(self.unchanged),
            DRY_RUN_FAILED: len(self.failed),
            UNKNOWN: self.unknown,
        }


@dataclass(frozen=True)
class ApplyUnit:
    """One mapped apply task: the targets of one dry-run unit that would change, by snapshot position."""

    unit: int
    template: str
    dry_run_unit: int
    positions: tuple[int, ...]
    fingerprints: tuple[str | None, ...]
    label: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["positions"], data["fingerprints"] = list(self.positions), list(self.fingerprints)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApplyUnit:
        positions = tuple(int(p) for p in data["positions"])
        fingerprints = tuple(data.get("fingerprints") or (None,) * len(positions))
        if len(fingerprints) != len(positions):
            raise ValueError(
                f"apply unit {data.get('unit')}: {len(positions)} positions but {len(fingerprints)} fingerprints"
            )
        return cls(
            int(data["unit"]),
            str(data["template"]),
            int(data["dry_run_unit"]),
            positions,
            fingerprints,
            str(data["label"]),
        )


@dataclass
class DryRunReview:
    """The whole dry run, per template, and the units that apply what would change."""

    templates: dict[str, TemplateReview] = field(default_factory=dict)
    apply_units: list[ApplyUnit] = field(default_factory=list)
    crashed_units: list[str] = field(default_factory=list)

    def total(self, what: str) -> int:
        return sum(review.counts()[what] for review in self.templates.values())

    @property
    def targets(self) -> int:
        return self.total("targets")

    @property
    def would_change(self) -> int:
        return self.total(WOULD_CHANGE)

    def to_dict(self) -> dict[str, Any]:
        """Counts only (the review task's XCom); targets and diffs stay in the dry run's results."""
        return {
            "targets": self.targets,
            "would_change": self.would_change,
            "unchanged": self.total(UNCHANGED),
            "failed": self.total(DRY_RUN_FAILED),
            "unknown": self.total(UNKNOWN),
            "templates": {key: review.counts() for key, review in self.templates.items()},
            "crashed_units": list(self.crashed_units),
            "apply_units": len(self.apply_units),
        }


def _reviewed(template: str, position: int, outcome: Mapping[str, Any]) -> ReviewedTarget:
    account_id, region = outcome.get("account_id"), outcome.get("region")
    if outcome.get("status") != SUCCEEDED:
        error = outcome.get("error") or str(outcome.get("status"))
        return ReviewedTarget(template, position, account_id, region, DRY_RUN_FAILED, error=error)
    changes = outcome.get("changes")
    if changes is None:
        return ReviewedTarget(template, position, account_id, region, WOULD_CHANGE)
    status = WOULD_CHANGE if would_change(changes) else UNCHANGED
    return ReviewedTarget(
        template,
        position,
        account_id,
        region,
        status,
        summary=str(changes.get("summary") or ""),
        diff=str(changes.get("diff") or ""),
        fingerprint=changes.get("fingerprint"),
    )


def review_dry_run(units: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]) -> DryRunReview:
    """Read the dry-run results against the plan's units (matched by unit number).

    A unit with no result (its dry-run task failed) counts its targets as unknown: none of them is
    applied.
    """
    review = DryRunReview()
    by_unit = {int(r["unit"]): UnitResult.from_dict(dict(r)) for r in results if r}
    for unit in units:
        key, number = str(unit["template"]), int(unit["unit"])
        start, stop = int(unit["start"]), int(unit["stop"])
        template = review.templates.setdefault(key, TemplateReview(key))
        template.targets += stop - start
        result = by_unit.get(number)
        if result is None or result.outcomes is None:
            template.unknown += stop - start
            review.crashed_units.append(str(unit.get("label") or number))
            continue
        changing: list[ReviewedTarget] = []
        for offset, outcome in enumerate(result.outcomes):
            target = _reviewed(key, start + offset, outcome)
            if target.status == WOULD_CHANGE:
                changing.append(target)
            elif target.status == UNCHANGED:
                template.unchanged.append(target)
            else:
                template.failed.append(target)
        template.would_change.extend(changing)
        if changing:
            label = str(unit.get("label") or key)
            if len(changing) < stop - start:
                label = f"{label}: {len(changing)} of {stop - start} targets"
            review.apply_units.append(
                ApplyUnit(
                    len(review.apply_units),
                    key,
                    number,
                    tuple(t.position for t in changing),
                    tuple(t.fingerprint for t in changing),
                    label,
                )
            )
    return review
