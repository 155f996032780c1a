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
``StarbaseAssignedRegion`` set). The handler returns a partial batch response (``lambda_worker.batch``):
only messages whose target failed, or that are refused, are listed, so only they return to the queue
and, after the queue's redrive limit, land in its dead-letter queue; on a FIFO queue the rest of a
failed message's group comes back with it, unprocessed, to keep the group's order. A configuration or
ship that cannot be loaded, or an event that is not an SQS batch, raises: the whole batch is retried,
since nothing was processed.

Reviewed runs (``Airflow.Review: true``) never come here: commit stays the Lambda's environment, as in
Starfleet, and nothing travels back to Airflow, so reviewed mode runs the ship inline (see the README).
"""

from __future__ import annotations

import os
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.enums import TargetCheck
from starfleet_airflow.core.index_cache import cached_account_index
from starfleet_airflow.core.registry import LoadedShip, load_ships
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.lambda_worker.batch import process_batch
from starfleet_airflow.lambda_worker.records import LambdaEventError
from starfleet_airflow.lambda_worker.starfleet_runtime import prepare_starfleet_runtime

__all__ = ["LambdaConfigurationError", "LambdaEventError", "commit_from_environment", "handler", "loaded_ship"]


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


def _target_index(ship: LoadedShip) -> AccountIndex | None:
    """The account index to check targets against, when ``Airflow.LambdaTargetCheck`` asks for it."""
    if ship.airflow_options.get("lambda_target_check", TargetCheck.NONE) is not TargetCheck.INDEX:
        return None
    location = STARFLEET_CONFIGURATION.configuration.account_index_location
    if location is None:
        raise LambdaConfigurationError(
            f"{ship.name}: Airflow.LambdaTargetCheck is INDEX but the configuration names no account index"
        )
    import boto3

    include_inactive = bool(ship.starfleet_configuration.get("include_inactive_accounts"))
    return cached_account_index(location, boto3.Session(), include_inactive=include_inactive)


def handler(event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
    """Run the ship once per SQS record; report the records that failed (partial batch response)."""
    ship = loaded_ship()
    return process_batch(ship, event, context, commit=commit_from_environment(), index=_target_index(ship))
