"""One work unit delivered: its targets (its part of the run snapshot), then the ship's delivery mode.

Two modes, chosen per ship (``Airflow.DeliveryMode``): ``sqs`` puts Starfleet-compatible messages on
the ship's queue (the ship runs as a Lambda), ``inline`` runs the ship in the Airflow worker. Both
return a ``UnitResult``: counts, every failure (grouped by error, as positions in the unit so that the
XCom stays small even when a whole unit fails) and, for inline runs, every target's outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starfleet_airflow.core.enums import DeliveryMode
from starfleet_airflow.core.outcomes import TargetOutcome, UnitResult
from starfleet_airflow.core.plan import PlanError, WorkUnit
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.render import BodyRenderer
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.core.targets import Target
from starfleet_airflow.delivery.inline import compact_detail, run_targets
from starfleet_airflow.delivery.sqs import SqsSender
from starfleet_airflow.delivery.sqs_batches import message_attributes


def deliver_unit(
    loaded_ship: LoadedShip,
    unit: WorkUnit,
    raw_template: dict[str, Any],
    targets: Sequence[Target],
    *,
    commit: bool,
    run_context: RunContext,
    sqs_client_factory: Callable[[str], Any],
    session_factory: Callable[[], Any] | None,
) -> UnitResult:
    """Deliver one work unit (``targets``: its share of the run snapshot), by SQS or inline.

    ``sqs_client_factory(queue_url)`` and ``session_factory()`` are called only by the mode that needs
    them, so an inline ship never builds an SQS client and vice versa.
    """
    options = loaded_ship.airflow_options
    mode: DeliveryMode = options["delivery_mode"]
    if len(targets) != unit.size:
        raise PlanError(f"unit {unit.unit} ({unit.label}) covers {unit.size} targets, its snapshot part {len(targets)}")
    result = UnitResult(unit.unit, unit.template, unit.start, unit.stop, unit.label, mode.value)

    if mode is DeliveryMode.SQS:
        queue_url = loaded_ship.configuration["invocation_queue_url"]
        bodies = BodyRenderer(raw_template).bodies(targets)
        sender = SqsSender(
            sqs_client_factory(queue_url),
            queue_url,
            concurrency=options["concurrency"],
            attributes=message_attributes(
                dag_run_id=run_context.dag_run_id, ship=loaded_ship.name, template=unit.template
            ),
            dedup_seed=f"{run_context.dag_run_id}\x1f{loaded_ship.name}\x1f{unit.template}",
            fifo_group_default=loaded_ship.name,
        )
        sent = sender.send(bodies, targets)
        result.succeeded, result.failures, result.calls, result.retried = (
            sent.sent,
            sent.failures,
            sent.calls,
            sent.retried,
        )
        return result

    outcomes = run_targets(
        loaded_ship,
        raw_template,
        unit.template,
        targets,
        commit=commit,
        run_context=run_context,
        session_factory=session_factory,
        concurrency=options["concurrency"],
        target_timeout=options["target_timeout_seconds"],
    )
    return record_outcomes(result, outcomes)


def record_outcomes(result: UnitResult, outcomes: Sequence[TargetOutcome]) -> UnitResult:
    """Fill an inline unit's result: every target's outcome (in order), counts, failures by position."""
    result.outcomes = []
    for position, outcome in enumerate(outcomes):
        result.outcomes.append(
            {
                "account_id": outcome.account_id,
                "region": outcome.region,
                "status": outcome.status,
                "error": outcome.error,
                "detail": compact_detail(outcome.detail),
                "changes": outcome.changes,
            }
        )
        if outcome.ok:
            result.succeeded += 1
        else:
            result.add_failure(position, outcome.error or outcome.status)
    return result
