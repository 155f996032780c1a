"""Plan a run: validate the templates, apply the trigger's narrowing, resolve, snapshot, cut.

Pure functions over already-loaded inputs (no Airflow, no AWS): the Airflow layer's ``plan`` task
reads the index and the templates, calls ``plan_run``, stores the returned snapshot and hands the
work units to the mapped deliver tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.index_health import DEFAULT_MAX_AGE_HOURS, empty_index_problem, stale_index_note
from starfleet_airflow.core.plan.errors import PlanError, PlanRefused
from starfleet_airflow.core.plan.labels import account_label
from starfleet_airflow.core.plan.narrowing import LISTED_LIMIT, Narrowing, listed
from starfleet_airflow.core.plan.units import WorkUnit, cut_units
from starfleet_airflow.core.plan.view import SnapshotView
from starfleet_airflow.core.resolve import (
    Target,
    TargetList,
    resolve_accounts,
    unmatched_selectors,
    wanted_regions,
)
from starfleet_airflow.core.schemas import check_regions
from starfleet_airflow.core.ship import StarfleetWorkerShip
from starfleet_airflow.core.snapshot import RunSnapshot
from starfleet_airflow.core.template_json import json_problems
from starfleet_airflow.core.templates import LoadedTemplate, select_templates, validate_template
from starfleet_airflow.core.text import noun, verb_be

log = logging.getLogger(__name__)


@dataclass
class InvalidTemplate:
    """A template left out of the run; it counts as a failure in the report."""

    key: str
    errors: list[str]
    location: str | None = None  # the file or S3 object, for messages a person reads


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

    def unit_targets(self) -> list[TargetList]:
        """Each unit's targets, in unit order: what the snapshot stores for the deliver tasks."""
        return [self.view.targets(unit.template)[unit.start : unit.stop] for unit in self.units]

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
    index_data: dict[str, Any] | bytes,
    index_source: str,
    templates: Sequence[LoadedTemplate],
    template_prefix: str,
    delivery_mode: DeliveryMode,
    max_units: int,
    narrowing: Narrowing | None = None,
    scope_to_regions: Collection[str] = (),
    include_inactive: bool = False,
    targets_per_unit: int | None = None,
    only_template_keys: Collection[str] | None = None,
    now: datetime | None = None,
    index_max_age_hours: int = DEFAULT_MAX_AGE_HOURS,
) -> RunPlan:
    """Validate, narrow, resolve and cut; raises ``PlanRefused`` for a narrowing it must not honour.

    ``index_data`` is the account index as read (bytes: decoded fast and stored byte for byte in the
    snapshot) or already parsed. ``templates`` are every template under the ship's ``TemplatePrefix``
    as listed at run start; ``only_template_keys`` restricts the run to those keys (an S3-triggered run
    names the templates that changed); keys it names that were not listed are noted and skipped. An
    index without (ACTIVE) accounts raises ``PlanError`` for ships that fan out; one older than
    ``index_max_age_hours`` at ``now`` is noted.
    """
    narrowing = narrowing or Narrowing()
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
            names = listed([t.name or t.key for t in templates]) or "none"
            raise PlanRefused(
                f"{listed(list(map(repr, unmatched)))} {verb_be(unmatched)} not"
                f" {'a template' if len(unmatched) == 1 else 'templates'} of {ship}"
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
            invalid.append(
                InvalidTemplate(template.key, [template.error or "could not be loaded"], str(template.location))
            )
            continue
        problems = json_problems(template.raw)  # the loader's check; templates built in memory need it too
        if problems:
            invalid.append(InvalidTemplate(template.key, problems, str(template.location)))
            continue
        payload, errors = validate_template(ship_class, template.raw)
        if payload is None:
            invalid.append(InvalidTemplate(template.key, errors, str(template.location)))
            continue
        valid[template.key] = (template, payload)

    if isinstance(index_data, bytes):  # the index as read: decoded fast, stored as is
        index = AccountIndex.from_bytes(index_data, source=index_source, include_inactive=include_inactive)
    else:
        index = AccountIndex.from_dict(index_data, source=index_source, include_inactive=include_inactive)
    if strategy is not FanOutStrategy.SINGLE_INVOCATION:
        problem = empty_index_problem(index)
        if problem:
            raise PlanError(problem)
        stale = stale_index_note(index, now=now or datetime.now(timezone.utc), max_age_hours=index_max_age_hours)
        if stale:
            notes.append(stale)
    scope = sorted(scope_to_regions)

    account_ids: list[str] = []
    if narrowing.accounts:
        account_ids, unknown = _resolve_account_values(narrowing.accounts, index)
        if unknown:
            raise PlanRefused(
                f"{noun(len(unknown), 'account')} {listed(list(map(repr, unknown)))} {verb_be(unknown)} not in the"
                f" account index; give 12-digit ids or account names (index: {index_source})"
            )
        selected: set[str] = set()
        for _, payload in valid.values():
            selected |= resolve_accounts(payload, index)
        outside = [a for a in account_ids if a not in selected]
        if outside:
            labels = [account_label(index, a) for a in outside[:LISTED_LIMIT]] + outside[LISTED_LIMIT:]
            raise PlanRefused(
                f"{noun(len(outside), 'account')} {listed(labels)} {verb_be(outside)} not selected by the"
                f" templates of this run ({listed(list(valid)) or 'none valid'}); a trigger can only narrow a run"
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
                f"{noun(len(outside_regions), 'region')} {listed(outside_regions)} {verb_be(outside_regions)} not"
                " selected by the templates of this run"
                f" ({listed(list(valid)) or 'none valid'}), or are outside STARFLEET.ScopeToRegions;"
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
        planned.append(PlannedTemplate(key, name, len(targets), targets.account_count))
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
