"""Cut each template's target list into work units: one mapped deliver task each, always within bounds.

* never more than ``max_units`` (Airflow's ``core.max_map_length``, read when the run starts);
* inline delivery: whole accounts per unit, one account each for up to ``INLINE_UNITS_PER_TEMPLATE``
  (32) accounts of a template (the grid shows a row per account, in the order of account names), then
  groups of accounts so that a template never maps more than 32 inline tasks (500 accounts: 32 tasks of
  15-16 accounts); labels name the first and last account of a group. Beyond ``max_units``: contiguous
  chunks of targets;
* SQS delivery: chunks of ``TargetsPerUnit`` targets (default 10,000), grown when needed to fit;
* SINGLE_INVOCATION: one unit per template.

A unit is a small descriptor (template key, slice bounds, label), never the targets themselves. What
a label says is ``labels.unit_label``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.plan.errors import PlanError
from starfleet_airflow.core.plan.labels import account_label, clip, unit_label
from starfleet_airflow.core.plan.view import SnapshotView
from starfleet_airflow.core.resolve import Target, TargetList

DEFAULT_SQS_TARGETS_PER_UNIT = 10_000
INLINE_UNITS_PER_TEMPLATE = 32  # inline: one account per unit up to 32 accounts, then groups of accounts


@dataclass(frozen=True)
class WorkUnit:
    """One mapped deliver task: targets ``[start:stop]`` of one template's target list."""

    unit: int
    template: str
    start: int
    stop: int
    label: str

    @property
    def size(self) -> int:
        return self.stop - self.start

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkUnit:
        return cls(int(data["unit"]), str(data["template"]), int(data["start"]), int(data["stop"]), str(data["label"]))


def unit_targets(view: SnapshotView, unit: WorkUnit) -> TargetList:
    """The targets one deliver task handles, re-derived from the snapshot."""
    targets = view.targets(unit.template)
    if unit.stop > len(targets):
        raise PlanError(
            f"unit {unit.unit} ({unit.label}) covers targets {unit.start}..{unit.stop} but template"
            f" {unit.template!r} has {len(targets)} in the snapshot"
        )
    return targets[unit.start : unit.stop]


def _fit_chunk_size(counts: Sequence[int], wanted: int, max_units: int) -> int:
    """The smallest chunk size >= ``wanted`` whose units (sum of ceil(n/size)) fit in ``max_units``."""

    def units(size: int) -> int:
        return sum(math.ceil(n / size) for n in counts)

    if units(wanted) <= max_units:
        return wanted
    low, high = wanted, max(max(counts), wanted)
    if units(high) > max_units:
        raise PlanError(
            f"{sum(1 for n in counts if n)} templates with targets need at least as many mapped tasks, more"
            f" than Airflow's max_map_length ({max_units}); split the ship's templates or raise core.max_map_length"
        )
    while low < high:
        middle = (low + high) // 2
        if units(middle) <= max_units:
            high = middle
        else:
            low = middle + 1
    return low


def _account_counts(targets: Sequence[Target]) -> list[tuple[str | None, int]]:
    """``(account, number of its targets)`` in order: from the groups of a ``TargetList`` directly."""
    if isinstance(targets, TargetList):
        return [(account, len(regions)) for account, regions in targets.groups()]
    return [(account, len(list(group))) for account, group in groupby(t.account_id for t in targets)]


def _accounts_label(
    name: str, index: AccountIndex, group: Sequence[tuple[str | None, int]], strategy: FanOutStrategy
) -> str:
    """``T: name (id), 3 regions`` for one account; ``T: first (id) .. last (id), 16 accounts`` for several."""
    targets = sum(n for _, n in group)
    if len(group) == 1:
        regions = f", {targets} regions" if strategy is FanOutStrategy.ACCOUNT_REGION else ""
        return f"{name}: {account_label(index, str(group[0][0]))}{regions}"
    regions = f", {targets} targets" if strategy is FanOutStrategy.ACCOUNT_REGION else ""
    first, last = account_label(index, str(group[0][0])), account_label(index, str(group[-1][0]))
    return f"{name}: {first} .. {last}, {len(group)} accounts{regions}"


def cut_units(
    templates: Sequence[tuple[str, str, Sequence[Target]]],
    index: AccountIndex,
    *,
    strategy: FanOutStrategy,
    delivery_mode: DeliveryMode,
    max_units: int,
    targets_per_unit: int | None = None,
) -> list[WorkUnit]:
    """Cut each template's target list into work units (see the module docstring for the rules).

    ``templates`` holds ``(key, display name, targets)`` in run order; templates without targets
    get no unit.
    """
    if max_units < 1:
        raise PlanError(f"max_map_length must be at least 1, got {max_units}")
    units: list[WorkUnit] = []

    def add(key: str, start: int, stop: int, label: str) -> None:
        units.append(WorkUnit(len(units), key, start, stop, label))

    populated = [(key, name, targets) for key, name, targets in templates if targets]
    if strategy is FanOutStrategy.SINGLE_INVOCATION:
        if len(populated) > max_units:
            _fit_chunk_size([1] * len(populated), 1, max_units)  # raises with the explanation
        for key, name, targets in populated:
            add(key, 0, len(targets), clip(name))
        return units

    if delivery_mode is DeliveryMode.INLINE and not targets_per_unit:
        per_account = [(key, name, _account_counts(targets)) for key, name, targets in populated]
        # Whole accounts per unit: one each up to INLINE_UNITS_PER_TEMPLATE accounts, then as many as it
        # takes to stay at that many units (each task instance costs Airflow ~0.4 s; see the README).
        sizes = [max(1, math.ceil(len(accounts) / INLINE_UNITS_PER_TEMPLATE)) for _, _, accounts in per_account]
        planned = sum(
            math.ceil(len(accounts) / size) for (_, _, accounts), size in zip(per_account, sizes, strict=True)
        )
        if planned <= max_units:
            for (key, name, accounts), size, (_, _, targets) in zip(per_account, sizes, populated, strict=True):
                slices, start = [], 0
                for first in range(0, len(accounts), size):
                    group = accounts[first : first + size]
                    count = sum(n for _, n in group)
                    if size == 1:  # one account: its name orders the grid's rows
                        slices.append((index.name_of(str(group[0][0])).lower(), str(group[0][0]), start, start + count))
                    else:  # groups are contiguous ranges of the target list (by account id)
                        add(key, start, start + count, _accounts_label(name, index, group, strategy))
                    start += count
                for _, _, first, last in sorted(slices):  # the grid's rows read by account name
                    add(key, first, last, unit_label(name, index, targets[first:last]))
            return units

    wanted = targets_per_unit or (DEFAULT_SQS_TARGETS_PER_UNIT if delivery_mode is DeliveryMode.SQS else 1)
    size = _fit_chunk_size([len(targets) for _, _, targets in populated], wanted, max_units)
    for key, name, targets in populated:
        for start in range(0, len(targets), size):
            stop = min(start + size, len(targets))
            add(key, start, stop, unit_label(name, index, targets[start:stop]))
    return units
