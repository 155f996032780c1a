"""The apply step of a reviewed run: commit exactly the reviewed targets, each only if it still needs
exactly the reviewed change.

Hours may pass between the dry run and the approval. Before committing a target whose ship reports its
changes, the ship runs once more as a dry run; when the change it reports now is not the one that was
reviewed (same fingerprint: same summary and diff), the target is left alone and reported failed with
"changed since the review", so nothing unreviewed is ever applied (a target that now needs no change
succeeds as "already as the template wants it": a retry after the change was made lands there). A ship
that does not report its changes cannot be compared: its reviewed targets are committed directly (documented in
ships/README.md). The targets themselves come from the run snapshot, as every deliver task's do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from starfleet_airflow.core.outcomes import FAILED, SUCCEEDED, TargetOutcome, UnitResult
from starfleet_airflow.core.plan import SnapshotView
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.review import ApplyUnit
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.delivery.inline import run_targets
from starfleet_airflow.delivery.unit import record_outcomes

log = logging.getLogger(__name__)


ALREADY_APPLIED = (
    "already as the template wants it: nothing left to apply (an earlier try of this task, or someone else)"
)


def _not_as_reviewed(check: TargetOutcome) -> TargetOutcome:
    """The outcome of a target whose re-check does not find the reviewed change: nothing applied.

    A target that now needs no change at all is where the approval wanted it (typically: a retry of
    this task after it had applied the change), so that one succeeds, saying so.
    """
    if check.ok and check.changes is not None and not check.changes.get("changed", True):
        return TargetOutcome(
            check.template, check.account_id, check.region, SUCCEEDED, None, ALREADY_APPLIED, check.changes
        )
    if not check.ok:
        why = f"the check before applying failed ({check.error}); nothing applied"
    else:
        now = (check.changes or {}).get("summary") or "a different change"
        why = f"changed since the review: it now needs {now!r}, not the reviewed change; nothing applied"
    return TargetOutcome(check.template, check.account_id, check.region, FAILED, why, None, check.changes)


def apply_reviewed_unit(
    loaded_ship: LoadedShip,
    unit: ApplyUnit,
    view: SnapshotView,
    *,
    run_context: RunContext,
    session_factory: Callable[[], Any] | None,
) -> UnitResult:
    """Commit the unit's reviewed targets (those still needing the reviewed change); one outcome per target."""
    every = view.targets(unit.template)
    if unit.positions and max(unit.positions) >= len(every):
        raise ValueError(
            f"apply unit {unit.unit} ({unit.label}) names target {max(unit.positions)} of {unit.template!r},"
            f" which has {len(every)} targets in the snapshot"
        )
    targets = [every[position] for position in unit.positions]
    raw_template = view.snapshot.templates[unit.template]
    concurrency = loaded_ship.airflow_options["concurrency"]

    def run(indexes: Sequence[int], commit: bool) -> list[TargetOutcome]:
        return run_targets(
            loaded_ship,
            raw_template,
            unit.template,
            [targets[i] for i in indexes],
            commit=commit,
            run_context=run_context,
            session_factory=session_factory,
            concurrency=concurrency,
            target_timeout=loaded_ship.airflow_options["target_timeout_seconds"],
        )

    outcomes: list[TargetOutcome | None] = [None] * len(targets)
    compared = [i for i, fingerprint in enumerate(unit.fingerprints) if fingerprint is not None]
    ready = [i for i, fingerprint in enumerate(unit.fingerprints) if fingerprint is None]
    for i, check in zip(compared, run(compared, commit=False), strict=True):
        if check.ok and (check.changes or {}).get("fingerprint") == unit.fingerprints[i]:
            ready.append(i)
        else:
            outcomes[i] = _not_as_reviewed(check)
            said = outcomes[i].error or ALREADY_APPLIED
            log.warning("%s: %s/%s: %s", unit.label, check.account_id, check.region, said)
    ready.sort()
    for i, applied in zip(ready, run(ready, commit=True), strict=True):
        outcomes[i] = applied
    result = UnitResult(unit.unit, unit.template, 0, len(targets), unit.label, "INLINE")
    return record_outcomes(result, [outcome for outcome in outcomes if outcome is not None])
