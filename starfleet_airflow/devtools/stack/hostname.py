"""Airflow's ``[core] hostname_callable`` for the stack: each Celery worker its own host name.

Both workers run on this one machine, so ``socket.getfqdn()`` would give them the same name and
``TaskInstance.hostname`` could not tell which worker ran a task. The stack starts each worker with
``STARFLEET_STACK_HOSTNAME`` set (``stack-worker-1``, ``stack-worker-2``); every other component falls
back to Airflow's default.
"""

from __future__ import annotations

import os
import socket

HOSTNAME_ENV = "STARFLEET_STACK_HOSTNAME"


def stack_hostname() -> str:
    """The host name this process reports to Airflow."""
    return os.environ.get(HOSTNAME_ENV) or socket.getfqdn()
