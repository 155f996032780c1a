"""Find worker ships and keep those that are configured, valid and enabled.

Ships come from two places: every package of the ships folder (the repository's ``ships`` package by
default) exposing ``WORKER_SHIP_PLUGINS = [ShipClass, ...]`` in its ``__init__.py`` as in Starfleet,
and the ``starfleet_airflow.ships`` entry-point group, so a team can ship plugins from its own pip
package without forking this repository. An entry point names either a ship class or a module with
``WORKER_SHIP_PLUGINS``.

One broken ship must never hide the others: an import failure, a bad section or a ship whose payload
schema does not fit its fan-out strategy becomes a ``ShipProblem`` (the factory shows it in the Airflow
UI, ``starfleet-airflow validate`` fails on it) and discovery carries on.
"""

from starfleet_airflow.core.registry.discovery import (
    DEFAULT_SHIPS_PACKAGE,
    ENTRY_POINT_GROUP,
    PLUGINS_ATTRIBUTE,
    SHIPS_DIR_ENV,
    InvalidPluginError,
    default_ships_dir,
    discover_ships,
)
from starfleet_airflow.core.registry.loading import REQUIRED_PAYLOAD_BASE, check_ship_class, load_ships
from starfleet_airflow.core.registry.models import DiscoveredShip, LoadedShip, ShipProblem, ShipRegistry

__all__ = [
    "DEFAULT_SHIPS_PACKAGE",
    "ENTRY_POINT_GROUP",
    "PLUGINS_ATTRIBUTE",
    "REQUIRED_PAYLOAD_BASE",
    "SHIPS_DIR_ENV",
    "DiscoveredShip",
    "InvalidPluginError",
    "LoadedShip",
    "ShipProblem",
    "ShipRegistry",
    "check_ship_class",
    "default_ships_dir",
    "discover_ships",
    "load_ships",
]
