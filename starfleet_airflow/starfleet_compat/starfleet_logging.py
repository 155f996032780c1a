"""``starfleet.utils.logging``: Starfleet's ``LOGGER``, the ``starfleet`` logger every Starfleet ship logs to.

Unlike Starfleet's, it adds no handler of its own and propagates: its records reach whatever handles the root
logger where the ship runs (Airflow's task log, the Lambda runtime's CloudWatch handler, the CLI's stderr), so
nothing is printed twice and nothing escapes the task log. Its level is ``STARFLEET.LogLevel``
(``starfleet_airflow.core.log_levels``).
"""

from __future__ import annotations

import logging

from starfleet_airflow.core.log_levels import STARFLEET_LOGGER

LOGGER = logging.getLogger(STARFLEET_LOGGER)

__all__ = ["LOGGER"]
