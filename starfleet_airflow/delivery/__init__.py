"""Delivery: what a mapped ``deliver`` task does with its targets.

Two modes, chosen per ship (``Airflow.DeliveryMode``): ``sqs`` puts Starfleet-compatible messages on
the ship's queue (the ship runs as a Lambda), ``inline`` runs the ship in the Airflow worker. Both
return a ``UnitResult``: counts, every failure (grouped by error, as positions in the unit so that the
XCom stays small even when a whole unit fails) and, for inline runs, every target's outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from starfleet_airflow.ship import DeliveryMode, RunContext

if TYPE_CHECKING:  # pragma: no cover - typing only
    from starfleet_airflow.plan import SnapshotView, WorkUnit
    from starfleet_airflow.registry import LoadedShip

SENT = "sent"  # an SQS target's outcome; inline outcomes are runner.SUCCEEDED / FAILED / INVALID


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


def deliver_unit(
    loaded_ship: LoadedShip,
    unit: WorkUnit,
    view: SnapshotView,
    *,
    commit: bool,
    run_context: RunContext,
    sqs_client_factory: Callable[[str], Any],
    session_factory: Callable[[], Any] | None,
) -> UnitResult:
    """Deliver one work unit: its targets re-derived from the run snapshot, then SQS or inline.

    ``sqs_client_factory(queue_url)`` and ``session_factory()`` are called only by the mode that needs
    them, so an inline ship never builds an SQS client and vice versa.
    """
    from starfleet_airflow.delivery.inline import compact_detail, run_targets
    from starfleet_airflow.delivery.sqs import SqsSender, message_attributes
    from starfleet_airflow.plan import unit_targets
    from starfleet_airflow.render import BodyRenderer

    options = loaded_ship.airflow_options
    mode: DeliveryMode = options["delivery_mode"]
    targets = unit_targets(view, unit)
    raw_template = view.snapshot.templates[unit.template]
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
    )
    result.outcomes = []
    for position, outcome in enumerate(outcomes):
        result.outcomes.append(
            {
                "account_id": outcome.account_id,
                "region": outcome.region,
                "status": outcome.status,
                "error": outcome.error,
                "detail": compact_detail(outcome.detail),
            }
        )
        if outcome.ok:
            result.succeeded += 1
        else:
            result.add_failure(position, outcome.error or outcome.status)
    return result
