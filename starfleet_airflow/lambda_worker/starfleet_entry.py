"""Deploy a Starfleet ship's own ``@worker_lambda`` handler unchanged, as Starfleet's templates do.

A Lambda's handler string is imported before any code of ours runs, so ``starfleet.worker_ships.plugins....``
cannot be the handler itself. Point the Lambda at ``starfleet_airflow.lambda_worker.starfleet_entry.handler``
and name the ship's handler in ``STARFLEET_WORKER_LAMBDA``, e.g.
``starfleet.worker_ships.plugins.aws_config.ship:lambda_handler`` (``STARFLEET_CONFIG_DIR``, ``STARFLEET_SHIPS_DIR``
and ``STARFLEET_COMMIT`` as for ``handler.handler``). The ship's handler then runs as in Starfleet: one failing
record fails the invocation. ``handler.handler`` is the better choice for new deployments (partial batch
responses); this entry is for keeping a Starfleet deployment's Lambdas as they are.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.lambda_worker.starfleet_runtime import prepare_starfleet_runtime

HANDLER_ENV = "STARFLEET_WORKER_LAMBDA"
_HANDLERS: dict[str, Callable[..., Any]] = {}


class StarfleetEntryError(RuntimeError):
    """``STARFLEET_WORKER_LAMBDA`` does not name an importable handler, or the configuration is unusable."""


def ship_handler() -> Callable[..., Any]:
    """The handler ``STARFLEET_WORKER_LAMBDA`` names, imported once per warm container."""
    spec = os.environ.get(HANDLER_ENV, "").strip()
    if not spec:
        raise StarfleetEntryError(
            f"set {HANDLER_ENV} to the ship's handler, e.g. starfleet.worker_ships.plugins.x.ship:lambda_handler"
        )
    if spec not in _HANDLERS:
        module_name, _, attribute = spec.partition(":") if ":" in spec else spec.rpartition(".")
        configuration = load_configuration()
        if not configuration.starfleet:
            raise StarfleetEntryError("the configuration cannot be used:\n" + "\n".join(map(str, configuration.errors)))
        prepare_starfleet_runtime(configuration)
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise StarfleetEntryError(f"{HANDLER_ENV}={spec}: cannot import it ({type(exc).__name__}: {exc})") from exc
        _HANDLERS[spec] = function
    return _HANDLERS[spec]


def handler(event: dict[str, Any], context: Any = None) -> Any:
    """Run the ship's own handler with the event."""
    return ship_handler()(event, context)
