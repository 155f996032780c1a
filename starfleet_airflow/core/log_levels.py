"""Starfleet's ``LogLevel`` and ``ThirdPartyLoggerLevels``, applied where ships run (tasks, Lambda, CLI).

``STARFLEET.LogLevel`` sets the level of Starfleet's ``LOGGER`` (the ``starfleet`` logger every Starfleet ship
logs to) and of the ship packages' own loggers (``ships``, and the folder a deployment loads ships from);
``ThirdPartyLoggerLevels`` maps other logger names to levels (``botocore: CRITICAL``). The orchestrator's own
loggers (``starfleet_airflow.*``) follow the host's logging configuration (Airflow's, the Lambda runtime's).

Levels are process-wide in Python's logging; ``log_levels`` puts the previous ones back when its block ends,
so one task (or one test) never changes what the next one sees.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

STARFLEET_LOGGER = "starfleet"
SHIPS_LOGGER = "ships"
DEFAULT_LEVEL = "INFO"


def wanted_levels(starfleet_settings: Mapping[str, Any], ship_loggers: Iterable[str] = ()) -> dict[str, int]:
    """Logger name -> level for the validated ``STARFLEET`` section (snake_case keys)."""
    level = logging.getLevelName(str(starfleet_settings.get("log_level") or DEFAULT_LEVEL).upper())
    wanted = {name: level for name in (STARFLEET_LOGGER, SHIPS_LOGGER, *ship_loggers)}
    for name, value in (starfleet_settings.get("third_party_logger_levels") or {}).items():
        third_party = logging.getLevelName(str(value).upper()) if not isinstance(value, int) else value
        if isinstance(third_party, int):
            wanted[str(name)] = third_party
    return wanted


def apply_log_levels(starfleet_settings: Mapping[str, Any], ship_loggers: Iterable[str] = ()) -> dict[str, int]:
    """Set the levels; returns the previous level of each logger touched (for ``restore_log_levels``)."""
    previous: dict[str, int] = {}
    for name, level in wanted_levels(starfleet_settings, ship_loggers).items():
        logger = logging.getLogger(name)
        previous[name] = logger.level
        logger.setLevel(level)
    return previous


def restore_log_levels(previous: Mapping[str, int]) -> None:
    for name, level in previous.items():
        logging.getLogger(name).setLevel(level)


@contextmanager
def log_levels(starfleet_settings: Mapping[str, Any], ship_loggers: Iterable[str] = ()) -> Iterator[None]:
    """The configured levels inside the block, the previous ones after it."""
    previous = apply_log_levels(starfleet_settings, ship_loggers)
    try:
        yield
    finally:
        restore_log_levels(previous)


def ship_logger_names(origins: Iterable[str]) -> set[str]:
    """The top-level package names of ship modules (``_starfleet_ships_ab12.x`` -> ``_starfleet_ships_ab12``)."""
    return {origin.split(".", 1)[0] for origin in origins if origin and " " not in origin}
