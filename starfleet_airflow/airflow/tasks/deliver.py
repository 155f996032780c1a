"""One mapped ``deliver`` task: its unit's targets, read from its part of the run snapshot, sent or run.

The SQS client and the inline sessions come from the ship's Airflow connection
(``starfleet_airflow.airflow.connections``); the delivery modes themselves know nothing of Airflow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

from starfleet_airflow.airflow.connections import aws_session_factory, ship_conn_id, sqs_client, store_client_factory
from starfleet_airflow.airflow.naming import UNIT_LABEL_KEY
from starfleet_airflow.airflow.tasks.context import commit_of, run_context_from, view_of_snapshot
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.plan import WorkUnit, unit_targets
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.snapshot import Part, load_unit
from starfleet_airflow.delivery.unit import deliver_unit
from starfleet_airflow.starfleet_compat.loader import ACCOUNT_INDEX

log = logging.getLogger(__name__)


def deliver_task(
    loaded: LoadedShip,
    configuration: Configuration,
    unit: Mapping[str, Any],
    context: Any,
    *,
    commit: bool | None = None,
) -> dict[str, Any]:
    """Deliver one work unit; returns its ``UnitResult`` as a dict (the task's XCom).

    The unit descriptor names the run's snapshot (``snapshot``), so the task needs no second XCom.
    ``commit`` overrides the run's (a reviewed run's dry run passes False).
    """
    work = WorkUnit.from_dict(unit)
    snapshot = str(unit["snapshot"])
    context[UNIT_LABEL_KEY] = work.label  # rendered by map_index_template
    inline = loaded.airflow_options["delivery_mode"] is DeliveryMode.INLINE
    view = view_of_snapshot(loaded, configuration, snapshot) if inline or "targets" not in unit else None
    if "targets" in unit:  # two small ranged reads: the header and this unit's targets
        header, targets = load_unit(
            snapshot,
            Part.from_list(unit["header"]),
            Part.from_list(unit["targets"]),
            store_client_factory(configuration),
        )
        raw_template = header["templates"][work.template]
    else:  # a unit planned before snapshots had parts: resolve from the whole snapshot
        assert view is not None
        targets, raw_template = unit_targets(view, work), view.snapshot.templates[work.template]
    # Inline ships may consult the index (names, OUs, tags): the run's own copy, read once per process.
    extra = {"account_index": view.index} if inline and view is not None else {}
    conn_id = ship_conn_id(loaded)
    concurrency = loaded.airflow_options["concurrency"]
    # Starfleet ships (inline) consult the very index the plan resolved with, through ACCOUNT_INDEX; SQS
    # delivery runs no ship, and a SINGLE_INVOCATION plan reads no index (ACCOUNT_INDEX then loads the
    # configured one when a ship asks for it).
    single = loaded.fan_out_strategy is FanOutStrategy.SINGLE_INVOCATION
    serving = ACCOUNT_INDEX.serving(view.index) if view is not None and inline and not single else nullcontext()
    with serving:
        result = deliver_unit(
            loaded,
            work,
            raw_template,
            targets,
            commit=commit_of(context, loaded) if commit is None else commit,
            run_context=run_context_from(context, template=work.template, **extra),
            sqs_client_factory=lambda queue_url: sqs_client(queue_url, conn_id, concurrency),
            session_factory=aws_session_factory(conn_id, configuration.starfleet.get("deployment_region")),
        )
    log.info(
        "%s: %d delivered, %d failed (%d calls, %d retried entries)",
        work.label,
        result.succeeded,
        result.failed,
        result.calls,
        result.retried,
    )
    for error, positions in result.failures.items():
        log.error("%s: %d targets failed: %s", work.label, len(positions), error)
    return result.to_dict()
