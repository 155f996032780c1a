"""``starfleet.worker_ships.lambda_utils``: ``worker_lambda``, the decorator of a Starfleet ship's Lambda handler.

    @worker_lambda(MyWorkerShip)
    def lambda_handler(event, context, worker, commit):
        for record in event["Records"]:
            worker.load_template(json.loads(record["body"]))
            worker.execute(commit=commit)

Per invocation, as in Starfleet: a fresh ``MyWorkerShip()``, its configuration section found and validated
(``BadConfigurationError`` otherwise), ``commit`` from ``STARFLEET_COMMIT`` (``true`` in any case), the alert
settings from its ``AlertConfiguration``; then the decorated function is called. Here also: the section is
*loaded* (every check runs, defaults applied) and given to the ship as ``self.configuration``;
``LogLevel``/``ThirdPartyLoggerLevels`` are applied once per process; the configuration is read at the first
invocation rather than at import (importing a ship at DAG parse time reads nothing); the function's return
value is passed back (Starfleet dropped it), so a handler may return a partial batch response.

To deploy such a handler unchanged, point the Lambda at ``starfleet_airflow.lambda_worker.starfleet_entry.handler``
with ``STARFLEET_WORKER_LAMBDA`` naming it (``starfleet.worker_ships.plugins.<ship>.ship:lambda_handler``): Starfleet's
names only import once this project has switched them on.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError

from starfleet_airflow.core.log_levels import apply_log_levels
from starfleet_airflow.core.schemas.errors import flatten_errors
from starfleet_airflow.core.ship import RunContext, StarfleetWorkerShip
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.configuration import BadConfigurationError

log = logging.getLogger("starfleet")
COMMIT_ENV = "STARFLEET_COMMIT"
_LEVELS_APPLIED: set[int] = set()


def _apply_levels_once() -> None:
    configuration = STARFLEET_CONFIGURATION.configuration
    if id(configuration) not in _LEVELS_APPLIED:  # once per loaded configuration, for the process's life
        apply_log_levels(configuration.starfleet)
        _LEVELS_APPLIED.add(id(configuration))


def prepared_worker(worker_ship: type[StarfleetWorkerShip], context: object = None) -> StarfleetWorkerShip:
    """A fresh worker with its validated section, alert settings and the run's (Lambda) context."""
    worker = worker_ship()
    name = worker.worker_ship_name
    log.debug("[🚀] Starting the %s Worker Ship", name)
    configuration = STARFLEET_CONFIGURATION.configuration
    section = configuration.raw.get(name) or {}
    if not section:
        raise BadConfigurationError(f"[💥] No configuration found for the worker {name}")
    try:
        loaded = worker.configuration_template_class().load(section)
    except ValidationError as exc:
        problems = "; ".join(flatten_errors(exc.messages))
        raise BadConfigurationError(f"[💥] The worker {name} has an invalid configuration: {problems}") from exc
    run_context = RunContext(extra={"invoked_by": "lambda", "aws_request_id": getattr(context, "aws_request_id", None)})
    worker._attach_run(loaded, configuration.starfleet, run_context)
    return worker


def worker_lambda(worker_ship: type[StarfleetWorkerShip]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make ``func(event, context, worker, commit)`` a Lambda handler ``(event, context)`` for ``worker_ship``."""

    def decorator(func: Callable[..., Any]) -> Callable[[dict[str, Any], object], Any]:
        @functools.wraps(func)
        def handler(event: dict[str, Any], context: object) -> Any:
            _apply_levels_once()
            worker = prepared_worker(worker_ship, context)
            commit = os.environ.get(COMMIT_ENV, "").lower() == "true"
            try:
                return func(event, context, worker, commit)
            except Exception:
                log.exception("[💥] The %s worker failed", worker.worker_ship_name)
                raise

        return handler

    return decorator


__all__ = ["COMMIT_ENV", "worker_lambda"]
