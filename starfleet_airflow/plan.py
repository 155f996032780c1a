"""Plan a run: the ship's templates against the account index, narrowed, cut into work units.

Pure functions over already-loaded inputs (no Airflow, no AWS): the factory's ``plan`` task reads the
index and the templates, calls ``plan_run``, stores the returned snapshot, and hands the mapped
``deliver`` tasks the work units, which are small descriptors (template key and a slice of its target
list), never the targets themselves. Each deliver task calls ``unit_targets`` to re-derive its slice
from the snapshot; plan and deliver share ``SnapshotView.targets``, so they cannot disagree.

Work units keep the number of mapped task instances bounded:

* never more than ``max_units`` (Airflow's ``core.max_map_length``, read when the run starts);
* inline delivery: one unit per (template, account) when that fits, so the grid shows a row per
  account; otherwise contiguous chunks of the target list;
* SQS delivery: chunks of ``TargetsPerUnit`` targets (default 10,000), grown when needed to fit;
* SINGLE_INVOCATION: one unit per template.

Narrowing (manual trigger params) only ever removes targets: every account, region and template the
trigger names must be one the run would reach anyway, or the plan is refused with a message saying
which value and why.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import Any

from starfleet_airflow.account_index import AccountIndex
from starfleet_airflow.render import BodyRenderer, RenderError
from starfleet_airflow.resolve import Target, resolve_accounts, resolve_targets, unmatched_selectors, wanted_regions
from starfleet_airflow.schemas import check_regions
from starfleet_airflow.ship import DeliveryMode, FanOutStrategy, StarfleetWorkerShip
from starfleet_airflow.snapshot import RunSnapshot
from starfleet_airflow.templates import LoadedTemplate, select_templates, validate_template

log = logging.getLogger(__name__)

DEFAULT_SQS_TARGETS_PER_UNIT = 10_000
LABEL_LIMIT = 250  # Airflow stores rendered map indexes in a 250-character column


class PlanRefused(Exception):
    """The trigger asked for something the plan must not do (a user error: retrying will not help)."""


class PlanError(Exception):
    """The run cannot be planned as configured (e.g. more templates than Airflow can map)."""


# --------------------------------------------------------------------------------------------------
# Narrowing
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Narrowing:
    """What a manual trigger restricts the run to; empty tuples mean "no restriction"."""

    templates: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Narrowing:
        """Read the DAG params ``templates``, ``accounts``, ``regions`` (lists of strings, or None)."""
        values: dict[str, tuple[str, ...]] = {}
        for name in ("templates", "accounts", "regions"):
            raw = params.get(name)
            if raw is None:
                raw = []
            if isinstance(raw, str):  # "a, b" or one per line, as a form field may send it
                raw = raw.replace("\n", ",").split(",")
            if not isinstance(raw, (list, tuple)):
                raise PlanRefused(f"param {name!r}: expected a list of strings, got {type(raw).__name__}")
            cleaned: list[str] = []
            for item in raw:
                if not isinstance(item, (str, int)) or isinstance(item, bool):
                    raise PlanRefused(f"param {name!r}: expected strings, got {item!r}")
                text = str(item).strip()
                if text and text not in cleaned:
                    cleaned.append(text)
            values[name] = tuple(cleaned)
        return cls(**values)

    @property
    def empty(self) -> bool:
        return not (self.templates or self.accounts or self.regions)


# --------------------------------------------------------------------------------------------------
# Targets from a snapshot
# --------------------------------------------------------------------------------------------------


class SnapshotView:
    """A snapshot with its account index built and each template's targets derived once.

    Both the plan (before the snapshot is stored) and every deliver task (after reading it) go
    through ``targets``: the same function over the same data gives the same list, in the same order.
    """

    def __init__(
        self,
        snapshot: RunSnapshot,
        ship_class: type[StarfleetWorkerShip],
        *,
        source: str,
        index: AccountIndex | None = None,
        payloads: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        """``index`` and ``payloads`` let the plan pass what it has already built from the same data."""
        self.snapshot = snapshot
        self.ship_class = ship_class
        self.strategy: FanOutStrategy = ship_class.fan_out_strategy
        self.index = index or AccountIndex.from_dict(
            snapshot.index, source=f"{source} (account index)", include_inactive=snapshot.include_inactive
        )
        self._payloads: dict[str, dict[str, Any]] = dict(payloads or {})
        self._targets: dict[str, list[Target]] = {}
        self._lock = threading.Lock()

    def payload(self, template_key: str) -> dict[str, Any]:
        """The template loaded by the ship's payload schema."""
        with self._lock:
            payload = self._payloads.get(template_key)
            if payload is None:
                raw = self.snapshot.templates.get(template_key)
                if raw is None:
                    raise PlanError(f"template {template_key!r} is not part of this run's snapshot")
                payload, errors = validate_template(self.ship_class, raw)
                if payload is None:
                    raise PlanError(f"template {template_key!r} no longer validates: {'; '.join(errors)}")
                self._payloads[template_key] = payload
            return payload

    def targets(self, template_key: str) -> list[Target]:
        """Every target of one template after the narrowing, sorted by (account, region)."""
        cached = self._targets.get(template_key)
        if cached is not None:
            return cached
        payload = self.payload(template_key)
        targets = resolve_targets(payload, self.index, self.strategy, self.snapshot.scope_to_regions)
        if self.snapshot.accounts:
            accounts = set(self.snapshot.accounts)
            targets = [t for t in targets if t.account_id in accounts]
        if self.snapshot.regions:
            regions = set(self.snapshot.regions)
            targets = [t for t in targets if t.region in regions]
        with self._lock:
            self._targets[template_key] = targets
        return targets


_VIEWS: OrderedDict[tuple[str, str], SnapshotView] = OrderedDict()
_VIEWS_LOCK = threading.Lock()
_VIEWS_SIZE = 4


def snapshot_view(snapshot: RunSnapshot, ship_class: type[StarfleetWorkerShip], *, source: str) -> SnapshotView:
    """A cached ``SnapshotView`` per (snapshot location, ship): mapped tasks in one process share it."""
    key = (source, ship_class.get_worker_ship_name())
    with _VIEWS_LOCK:
        view = _VIEWS.get(key)
        if view is not None and view.snapshot is snapshot:
            _VIEWS.move_to_end(key)
            return view
    view = SnapshotView(snapshot, ship_class, source=source)
    with _VIEWS_LOCK:
        _VIEWS[key] = view
        while len(_VIEWS) > _VIEWS_SIZE:
            _VIEWS.popitem(last=False)
    return view


# --------------------------------------------------------------------------------------------------
# Work units
# --------------------------------------------------------------------------------------------------


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


def unit_targets(view: SnapshotView, unit: WorkUnit) -> list[Target]:
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


def _clip(label: str) -> str:
    return label if len(label) <= LABEL_LIMIT else label[: LABEL_LIMIT - 1] + "…"


def _account_label(index: AccountIndex, account_id: str) -> str:
    return f"{index.name_of(account_id)} ({account_id})"


def _chunk_label(name: str, index: AccountIndex, targets: Sequence[Target]) -> str:
    first, last = targets[0].account_id, targets[-1].account_id
    where = _account_label(index, str(first)) if first == last else f"accounts {first}..{last}"
    noun = "target" if len(targets) == 1 else "targets"
    return f"{name}: {where} ({len(targets)} {noun})"


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
        units.append(WorkUnit(len(units), key, start, stop, _clip(label)))

    populated = [(key, name, targets) for key, name, targets in templates if targets]
    if strategy is FanOutStrategy.SINGLE_INVOCATION:
        if len(populated) > max_units:
            _fit_chunk_size([1] * len(populated), 1, max_units)  # raises with the explanation
        for key, name, targets in populated:
            add(key, 0, len(targets), name)
        return units

    if delivery_mode is DeliveryMode.INLINE and not targets_per_unit:
        per_account = [
            (key, name, [(account, len(list(group))) for account, group in groupby(t.account_id for t in targets)])
            for key, name, targets in populated
        ]
        if sum(len(accounts) for _, _, accounts in per_account) <= max_units:
            for key, name, accounts in per_account:
                start = 0
                for account_id, count in accounts:
                    regions = f", {count} regions" if strategy is FanOutStrategy.ACCOUNT_REGION else ""
                    add(key, start, start + count, f"{name}: {_account_label(index, str(account_id))}{regions}")
                    start += count
            return units

    wanted = targets_per_unit or (DEFAULT_SQS_TARGETS_PER_UNIT if delivery_mode is DeliveryMode.SQS else 1)
    size = _fit_chunk_size([len(targets) for _, _, targets in populated], wanted, max_units)
    for key, name, targets in populated:
        for start in range(0, len(targets), size):
            stop = min(start + size, len(targets))
            add(key, start, stop, _chunk_label(name, index, targets[start:stop]))
    return units


# --------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------


@dataclass
class InvalidTemplate:
    """A template left out of the run; it counts as a failure in the report."""

    key: str
    errors: list[str]


@dataclass
class PlannedTemplate:
    """A template the run delivers."""

    key: str
    name: str
    targets: int
    accounts: int
    units: int = 0


@dataclass
class RunPlan:
    """What ``plan_run`` decided: the snapshot to store, the units to map, and what to report."""

    ship: str
    snapshot: RunSnapshot
    view: SnapshotView
    templates: list[PlannedTemplate]
    invalid: list[InvalidTemplate]
    units: list[WorkUnit]
    notes: list[str] = field(default_factory=list)

    @property
    def total_targets(self) -> int:
        return sum(t.targets for t in self.templates)

    def summary(self, snapshot_location: str, **extra: Any) -> dict[str, Any]:
        """The JSON-able summary the plan task returns (no target lists: it goes through XCom)."""
        return {
            "ship": self.ship,
            "snapshot": snapshot_location,
            "strategy": self.view.strategy.value,
            "templates": [asdict(t) for t in self.templates],
            "invalid": [asdict(t) for t in self.invalid],
            "narrowing": {"accounts": list(self.snapshot.accounts), "regions": list(self.snapshot.regions)},
            "total_targets": self.total_targets,
            "total_units": len(self.units),
            "notes": list(self.notes),
            **extra,
        }


def _json_safe(raw: dict[str, Any]) -> str | None:
    """Why the template cannot travel as JSON (Starfleet's message format), or None when it can."""
    try:
        renderer = BodyRenderer(raw)
    except RenderError as exc:
        return str(exc)
    if json.loads(renderer.template_json) != raw:
        return "the template does not survive JSON encoding unchanged (non-string mapping keys?)"
    return None


def _resolve_account_values(values: Iterable[str], index: AccountIndex) -> tuple[list[str], list[str]]:
    """Trigger values (ids or names) -> account ids; and the values the index does not know."""
    ids: set[str] = set()
    unknown: list[str] = []
    for value in values:
        found = index.by_ids([value]) or index.by_names([value])
        if found:
            ids |= found
        else:
            unknown.append(value)
    return sorted(ids), unknown


def plan_run(
    ship_class: type[StarfleetWorkerShip],
    *,
    index_data: dict[str, Any],
    index_source: str,
    templates: Sequence[LoadedTemplate],
    template_prefix: str,
    delivery_mode: DeliveryMode,
    max_units: int,
    narrowing: Narrowing = Narrowing(),
    scope_to_regions: Collection[str] = (),
    include_inactive: bool = False,
    targets_per_unit: int | None = None,
    only_template_keys: Collection[str] | None = None,
) -> RunPlan:
    """Validate, narrow, resolve and cut; raises ``PlanRefused`` for a narrowing it must not honour.

    ``templates`` are every template under the ship's ``TemplatePrefix`` as listed at run start;
    ``only_template_keys`` restricts the run to those keys (an S3-triggered run names the templates
    that changed); keys it names that were not listed are noted and skipped.
    """
    ship = ship_class.get_worker_ship_name()
    strategy = ship_class.fan_out_strategy
    notes: list[str] = []
    chosen = list(templates)

    if only_template_keys is not None:
        wanted = set(only_template_keys)
        chosen = [t for t in chosen if t.key in wanted]
        missing = sorted(wanted - {t.key for t in chosen})
        if missing:
            notes.append(f"templates named by the trigger but not found under the prefix: {', '.join(missing)}")

    if narrowing.templates:
        chosen, unmatched = select_templates(chosen, list(narrowing.templates), template_prefix)
        if unmatched:
            names = ", ".join(t.name or t.key for t in templates) or "none"
            raise PlanRefused(
                f"templates {', '.join(map(repr, unmatched))} are not templates of {ship}"
                f" (under TemplatePrefix {template_prefix!r}: {names})"
            )
    if strategy is FanOutStrategy.SINGLE_INVOCATION and (narrowing.accounts or narrowing.regions):
        raise PlanRefused(f"{ship} runs once per template (SINGLE_INVOCATION): accounts and regions do not apply")
    if strategy is FanOutStrategy.ACCOUNT and narrowing.regions:
        raise PlanRefused(f"{ship} fans out per account (ACCOUNT): regions do not apply")

    invalid: list[InvalidTemplate] = []
    valid: dict[str, tuple[LoadedTemplate, dict[str, Any]]] = {}
    for template in chosen:
        if not template.ok or template.raw is None:
            invalid.append(InvalidTemplate(template.key, [template.error or "could not be loaded"]))
            continue
        problem = _json_safe(template.raw)
        if problem:
            invalid.append(InvalidTemplate(template.key, [problem]))
            continue
        payload, errors = validate_template(ship_class, template.raw)
        if payload is None:
            invalid.append(InvalidTemplate(template.key, errors))
            continue
        valid[template.key] = (template, payload)

    index = AccountIndex.from_dict(index_data, source=index_source, include_inactive=include_inactive)
    scope = sorted(scope_to_regions)

    account_ids: list[str] = []
    if narrowing.accounts:
        account_ids, unknown = _resolve_account_values(narrowing.accounts, index)
        if unknown:
            raise PlanRefused(
                f"accounts {', '.join(map(repr, unknown))} are not in the account index {index_source}"
                " (give 12-digit ids or account names)"
            )
        selected: set[str] = set()
        for _, payload in valid.values():
            selected |= resolve_accounts(payload, index)
        outside = [a for a in account_ids if a not in selected]
        if outside:
            raise PlanRefused(
                f"accounts {', '.join(_account_label(index, a) for a in outside)} are not selected by the"
                f" templates of this run ({', '.join(valid) or 'none valid'}); a trigger can only narrow a run"
            )
    if narrowing.regions:
        problems = check_regions(list(narrowing.regions))
        if problems:
            raise PlanRefused(f"param 'regions': {'; '.join(problems)}")
        selected_regions: set[str] = set()
        for _, payload in valid.values():
            selected_regions |= set(wanted_regions(payload, scope))
        outside_regions = [r for r in narrowing.regions if r not in selected_regions]
        if outside_regions:
            raise PlanRefused(
                f"regions {', '.join(outside_regions)} are not selected by the templates of this run"
                f" ({', '.join(valid) or 'none valid'}), or are outside STARFLEET.ScopeToRegions;"
                " a trigger can only narrow a run"
            )

    snapshot = RunSnapshot(
        ship=ship,
        index=index_data,
        templates={key: template.raw for key, (template, _) in valid.items() if template.raw is not None},
        accounts=account_ids,
        regions=sorted(narrowing.regions),
        scope_to_regions=scope,
        include_inactive=include_inactive,
    )
    view = SnapshotView(
        snapshot,
        ship_class,
        source=index_source,
        index=index,
        payloads={key: payload for key, (_, payload) in valid.items()},
    )

    planned: list[PlannedTemplate] = []
    cut_input: list[tuple[str, str, Sequence[Target]]] = []
    for key, (template, payload) in valid.items():
        targets = view.targets(key)
        name = template.name or key
        planned.append(PlannedTemplate(key, name, len(targets), len({t.account_id for t in targets})))
        cut_input.append((key, name, targets))
        if strategy is not FanOutStrategy.SINGLE_INVOCATION:
            notes.extend(f"{key}: {note}" for note in unmatched_selectors(payload, index))
        if not targets:
            notes.append(f"{key}: no targets (nothing selected{' after the narrowing' if account_ids else ''})")

    if not narrowing.empty and valid and not any(p.targets for p in planned):
        raise PlanRefused("the trigger's narrowing leaves no target to deliver to")

    units = cut_units(
        cut_input,
        index,
        strategy=strategy,
        delivery_mode=delivery_mode,
        max_units=max_units,
        targets_per_unit=targets_per_unit,
    )
    for item in planned:
        item.units = sum(1 for u in units if u.template == item.key)
    for note in notes:
        log.warning("%s: %s", ship, note)
    return RunPlan(ship, snapshot, view, planned, invalid, units, notes)
