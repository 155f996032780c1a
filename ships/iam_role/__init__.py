"""IamRoleWorkerShip (ACCOUNT fan-out): one IAM role, kept identical across the accounts a template selects.

Modules: ``schemas`` (configuration section, payload template, IAM's rules), ``variables`` (``${AccountId}``
and friends), ``plan`` (desired vs current, policy comparison, the change list), ``apply`` (IAM reads and
writes), ``ship`` (the worker ship tying them together).
"""

from ships.iam_role.ship import IamRoleWorkerShip

WORKER_SHIP_PLUGINS = [IamRoleWorkerShip]

__all__ = ["WORKER_SHIP_PLUGINS", "IamRoleWorkerShip"]
