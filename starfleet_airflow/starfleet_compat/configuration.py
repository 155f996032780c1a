"""``starfleet.utils.configuration``: ``STARFLEET_CONFIGURATION`` (``.config`` is the merged YAML as written).

The object is this project's configuration folder loader, served with the configuration the orchestrator
loaded (DAG file, task, Lambda handler, CLI), so a ship reads ``STARFLEET_CONFIGURATION.config[name]`` exactly
as in Starfleet. The folder is ``$STARFLEET_CONFIG_DIR`` (Starfleet: ``starfleet/configuration_files/``).
"""

from __future__ import annotations

from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION, StarfleetConfigurationCompat

CONFIGURATION_FILE_DIR_NAME = "configuration_files"
StarfleetConfigurationLoader = StarfleetConfigurationCompat


class BadConfigurationError(Exception):
    """A ship's configuration section is missing or invalid (raised by ``worker_lambda``, as in Starfleet)."""


__all__ = [
    "CONFIGURATION_FILE_DIR_NAME",
    "STARFLEET_CONFIGURATION",
    "BadConfigurationError",
    "StarfleetConfigurationLoader",
]
