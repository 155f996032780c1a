"""Run any worker ship as an SQS-fed AWS Lambda, consuming the messages the SQS delivery sends.

Deploy the package (with the ships and the configuration folder) as one Lambda per ship, with:

* handler ``starfleet_airflow.lambda_worker.handler.handler``;
* ``STARFLEET_SHIP``: the ship's name (its configuration section), e.g. ``IamRoleWorkerShip``;
* ``STARFLEET_COMMIT``: ``true`` to make changes (any other value, or none, is a dry run), as in
  Starfleet's ``worker_lambda``;
* ``STARFLEET_CONFIG_DIR``: the configuration folder (default ``./config`` in the task root);
* the ship's queue as the event source, with ``ReportBatchItemFailures`` enabled in the event source
  mapping's ``FunctionResponseTypes``.

Each message body is a template as Starfleet's Starbase sends it (``StarbaseAssignedAccount`` /
``StarbaseAssignedRegion`` set). The handler returns a partial batch response: only messages whose
target failed, or that are not valid payloads, are listed, so only they return to the queue and, after
the queue's redrive limit, land in its dead-letter queue. A configuration or ship that cannot be loaded
raises: the whole batch is retried, since nothing was processed.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.registry import LoadedShip, load_ships
from starfleet_airflow.core.render import ACCOUNT_KEY, REGION_KEY
from starfleet_airflow.core.runner import run_ship_for_target
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.lambda_worker.starfleet_runtime import prepare_starfleet_runtime

log = logging.getLogger(__name__)

SHIP_ENV = "STARFLEET_SHIP"
COMMIT_ENV = "STARFLEET_COMMIT"

_LOADED: dict[tuple[str, str | None, str | None], LoadedShip] = {}


class LambdaConfigurationError(RuntimeError):
    """The Lambda's environment or configuration does not name a loadable ship."""


def commit_from_environment() -> bool:
    """Starfleet's rule: ``STARFLEET_COMMIT`` equal to ``true`` in any case commits; anything else is a dry run."""
    return os.environ.get(COMMIT_ENV, "").lower() == "true"


def loaded_ship() -> LoadedShip:
    """The ship named by ``STARFLEET_SHIP``, loaded once per warm Lambda container."""
    name = os.environ.get(SHIP_ENV)
    if not name:
        raise LambdaConfigurationError(f"set {SHIP_ENV} to the name of the ship this Lambda runs")
    key = (name, os.environ.get("STARFLEET_CONFIG_DIR"), os.environ.get("STARFLEET_SHIPS_DIR"))
    if key not in _LOADED:
        configuration = load_configuration()
        if not configuration.starfleet:
            problems = "\n".join(map(str, configuration.errors))
            raise LambdaConfigurationError(f"the configuration cannot be used:\n{problems}")
        prepare_starfleet_runtime(configuration)  # Starfleet ships import, read their configuration, log at LogLevel
        registry = load_ships(configuration)
        ship = registry.get(name)
        if ship is None:
            raise LambdaConfigurationError(registry.why_not_loaded(name))
        STARFLEET_CONFIGURATION.use(configuration)  # ported ships read STARFLEET_CONFIGURATION.config
        _LOADED[key] = ship
    return _LOADED[key]


def _payload(record: dict[str, Any]) -> dict[str, Any]:
    body = record.get("body")
    if not isinstance(body, str):
        raise ValueError("the SQS record has no body")
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object (a payload template), got {type(payload).__name__}")
    return payload


def handler(event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    """Run the ship once per SQS record; report the records that failed (partial batch response)."""
    ship = loaded_ship()
    commit = commit_from_environment()
    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        message_id = str(record.get("messageId", ""))
        try:
            payload = _payload(record)
        except ValueError as exc:
            log.error("%s: message %s is not a payload: %s", ship.name, message_id, exc)
            failures.append({"itemIdentifier": message_id})
            continue
        run_context = RunContext(
            extra={
                "invoked_by": "lambda",
                "message_id": message_id,
                "aws_request_id": getattr(context, "aws_request_id", None),
            }
        )
        outcome = run_ship_for_target(
            ship,
            payload,
            payload.get(ACCOUNT_KEY),
            payload.get(REGION_KEY),
            commit,
            run_context=run_context,
            template=str(payload.get("TemplateName", "<template>")),
        )
        where = "/".join(p for p in (outcome.account_id, outcome.region) if p) or "single invocation"
        if outcome.ok:
            log.info("%s: %s for %s succeeded (commit=%s)", ship.name, outcome.template, where, commit)
        else:
            log.error("%s: %s for %s %s: %s", ship.name, outcome.template, where, outcome.status, outcome.error)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
