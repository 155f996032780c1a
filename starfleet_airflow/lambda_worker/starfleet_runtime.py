"""The Lambda side's Starfleet set-up: import names, the served configuration, the log levels.

Called once per warm container, before ships are imported (``handler.loaded_ship``, ``starfleet_entry``):
Starfleet ships then import unchanged, read ``STARFLEET_CONFIGURATION``, and log at ``STARFLEET.LogLevel``
(``ThirdPartyLoggerLevels`` too). Secrets are read with boto3 and the Lambda's role; alerts post with the token
from the secret (the Lambda has no Airflow connection).
"""

from __future__ import annotations

from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.log_levels import apply_log_levels
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.runtime import activate


def prepare_starfleet_runtime(configuration: Configuration) -> None:
    """Switch Starfleet's names on, serve ``configuration`` and apply its log levels (for the process's life)."""
    activate()
    STARFLEET_CONFIGURATION.use(configuration)
    apply_log_levels(configuration.starfleet)
