"""A run snapshot with its account index built and each template's targets derived once.

Both the plan (before the snapshot is stored) and every deliver task (after reading it) go through
``SnapshotView.targets``: the same function over the same data gives the same list, in the same order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.plan.errors import PlanError
from starfleet_airflow.core.resolve import TargetList, resolve_targets
from starfleet_airflow.core.ship import StarfleetWorkerShip
from starfleet_airflow.core.snapshot import RunSnapshot
from starfleet_airflow.core.templates import validate_template


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
        self.index = index or AccountIndex.from_bytes(
            snapshot.index, source=f"{source} (account index)", include_inactive=snapshot.include_inactive
        )
        self._payloads: dict[str, dict[str, Any]] = dict(payloads or {})
        self._targets: dict[str, TargetList] = {}
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

    def targets(self, template_key: str) -> TargetList:
        """Every target of one template after the narrowing, sorted by (account, region)."""
        cached = self._targets.get(template_key)
        if cached is not None:
            return cached
        payload = self.payload(template_key)
        targets = resolve_targets(payload, self.index, self.strategy, self.snapshot.scope_to_regions)
        if self.snapshot.accounts or self.snapshot.regions:
            targets = targets.keep(self.snapshot.accounts, self.snapshot.regions)
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
