"""Run a ship for one target and record what happened, whatever happens.

The same function serves the CLI's ``run``, inline delivery in Airflow workers and the Lambda handler,
so a ship behaves identically wherever it runs: it receives the template as loaded from YAML plus the
``StarbaseAssigned*`` keys Starfleet's Starbase adds for the ship's fan-out strategy, validates it with
its payload schema, then executes. It never raises: one target's failure is an outcome, not a crash of
the task that runs many targets.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError

from starfleet_airflow.core.changes import ChangeSummary
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.outcomes import FAILED, INVALID, SUCCEEDED, TargetOutcome
from starfleet_airflow.core.render import ACCOUNT_KEY, REGION_KEY
from starfleet_airflow.core.schemas import flatten_errors
from starfleet_airflow.core.ship import RunContext, StarfleetWorkerShip

if TYPE_CHECKING:  # pragma: no cover - typing only
    import boto3

    from starfleet_airflow.core.registry import LoadedShip

log = logging.getLogger(__name__)


def assign_target(
    raw_template: dict[str, Any], strategy: FanOutStrategy, account_id: str | None, region: str | None
) -> dict[str, Any]:
    """A copy of the template with the keys Starbase adds for this strategy (the original is untouched).

    ACCOUNT gets ``StarbaseAssignedAccount``; ACCOUNT_REGION both keys; SINGLE_INVOCATION neither.
    Raises ValueError when the strategy needs an account or region that was not given.
    """
    payload = copy.deepcopy(raw_template)
    if strategy is FanOutStrategy.SINGLE_INVOCATION:
        return payload
    if not account_id:
        raise ValueError(f"{strategy.value} ships need an account id")
    payload[ACCOUNT_KEY] = account_id
    if strategy is FanOutStrategy.ACCOUNT_REGION:
        if not region:
            raise ValueError("ACCOUNT_REGION ships need a region")
        payload[REGION_KEY] = region
    return payload


def run_ship_for_target(
    loaded_ship: LoadedShip,
    raw_template: dict[str, Any],
    account_id: str | None,
    region: str | None,
    commit: bool,
    run_context: RunContext | None = None,
    aws_session: boto3.Session | None = None,
    *,
    template: str | None = None,
) -> TargetOutcome:
    """Validate the template for this target and execute the ship; never raises.

    ``template`` labels the outcome (the template key); it defaults to the template's ``TemplateName``.
    What the ship said with ``report_changes`` is kept as the outcome's ``changes``, also when it failed.
    """
    label = template or str(raw_template.get("TemplateName", "<template>"))
    where = "/".join(part for part in (account_id, region) if part) or "its single invocation"

    ship: StarfleetWorkerShip | None = None  # read by outcome() when it is called (late binding)

    def outcome(status: str, error: str | None = None, detail: Any = None) -> TargetOutcome:
        said = getattr(ship, "change_summary", None)
        changes = said.to_dict() if isinstance(said, ChangeSummary) else None
        return TargetOutcome(label, account_id, region, status, error, detail, changes)

    try:
        payload = assign_target(raw_template, loaded_ship.fan_out_strategy, account_id, region)
    except ValueError as exc:
        return outcome(INVALID, str(exc))
    try:
        ship = loaded_ship.instantiate(run_context=run_context, aws_session=aws_session)
        ship.load_template(payload)
    except ValidationError as exc:
        problems = flatten_errors(exc.messages)
        return outcome(INVALID, "; ".join(problems))
    except Exception as exc:  # a ship's own loading code may fail in any way
        log.exception("%s: loading %s for %s failed", loaded_ship.name, label, where)
        return outcome(FAILED, f"{type(exc).__name__}: {exc}")
    try:
        detail = ship.execute(commit=commit)
    except Exception as exc:  # one target's failure is recorded, never propagated
        log.exception("%s: %s for %s failed", loaded_ship.name, label, where)
        return outcome(FAILED, f"{type(exc).__name__}: {exc}")
    return outcome(SUCCEEDED, detail=detail)
