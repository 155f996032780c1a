"""One mapped ``deliver`` task: its unit's targets, re-derived from the run snapshot, sent or run.

The SQS client and the inline sessions come from the ship's Airflow connection
(``starfleet_airflow.airflow.connections``); the delivery modes themselves know nothing of Airflow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

from starfleet_airflow.airflow.connections import aws_session_factory, ship_conn_id, sqs_client
from starfleet_airflow.airflow.naming import UNIT_LABEL_KEY
from starfleet_airflow.airflow.tasks.context import commit_of, run_context_from, view_of_snapshot
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.plan import WorkUnit
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.delivery.unit import deliver_unit
from starfleet_airflow.starfleet_compat.loader import ACCOUNT_INDEX

log = logging.getLogger(__name__)


def deliver_task(
    loaded: LoadedShip, configuration: Configuration, unit: Mapping[str, Any], context: Any
) -> dict[str, Any]:
    """Deliver one work unit; returns its ``UnitResult`` as a dict (the task's XCom).

    The unit descriptor names the run's snapshot (``snapshot``), so the task needs no second XCom.
    """
    work = WorkUnit.from_dict(unit)
    snapshot = str(unit["snapshot"])
    context[UNIT_LABEL_KEY] = work.label  # rendered by map_index_template
    view = view_of_snapshot(loaded, configuration, snapshot)
    conn_id = ship_conn_id(loaded)
    concurrency = loaded.airflow_options["concurrency"]
    # Starfleet ships consult the very index the plan resolved with; a SINGLE_INVOCATION plan reads none, so
    # there ACCOUNT_INDEX loads the configured index when a ship asks for it.
    single = loaded.fan_out_strategy is FanOutStrategy.SINGLE_INVOCATION
    with nullcontext() if single else ACCOUNT_INDEX.serving(view.index):
        result = deliver_unit(
            loaded,
            work,
            view,
            commit=commit_of(context, loaded),
            run_context=run_context_from(context, account_index=view.index, template=work.template),
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
