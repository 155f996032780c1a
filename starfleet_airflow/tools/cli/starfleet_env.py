"""What the CLI sets up around a ship it runs (``run``, ``starfleet``), so Starfleet's singletons answer.

The configuration is served, ``LogLevel``/``ThirdPartyLoggerLevels`` are applied, ``ACCOUNT_INDEX`` loads the
configured index when a ship asks (and is forgotten afterwards), and ship alerts are off: a person runs this
at a terminal, and Starfleet's CLI sends no alerts either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from starfleet_airflow.core.alerts import ALERTS
from starfleet_airflow.core.log_levels import log_levels, ship_logger_names
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.loader import ACCOUNT_INDEX

if TYPE_CHECKING:  # pragma: no cover - typing only
    from starfleet_airflow.tools.cli.workspace import Workspace


@contextmanager
def starfleet_cli_environment(workspace: Workspace) -> Iterator[None]:
    origins = [ship.origin for ship in workspace.registry.discovered.values()]
    ACCOUNT_INDEX.reset()
    try:
        with (
            STARFLEET_CONFIGURATION.serving(workspace.configuration),
            log_levels(workspace.configuration.starfleet, ship_logger_names(origins)),
            ALERTS.muted(),
        ):
            yield
    finally:
        ACCOUNT_INDEX.reset()
