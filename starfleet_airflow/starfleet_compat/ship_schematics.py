"""``starfleet.worker_ships.ship_schematics``: the ship class, its enums and the base configuration schema.

These are this project's own objects (``StarfleetWorkerShip`` *is* ``starfleet_airflow.StarfleetWorkerShip``),
so a Starfleet ship is a ship here: the registry, the runner, the DAGs and the Lambda handler take it as it is.
"""

from __future__ import annotations

from typing import TypeVar

from starfleet_airflow.core.enums import AlertPriority, EventBridgeFrequency, FanOutStrategy, InvocationSource
from starfleet_airflow.core.schemas.alerts import AlertConfiguration
from starfleet_airflow.core.schemas.configuration import WorkerShipBaseConfigurationTemplate
from starfleet_airflow.core.schemas.payload import WorkerShipPayloadBaseTemplate
from starfleet_airflow.core.ship import StarfleetWorkerShip
from starfleet_airflow.starfleet_compat.slack import SLACK_CLIENT

WorkerShipPayloadBaseTemplateInstance = TypeVar(
    "WorkerShipPayloadBaseTemplateInstance", bound=WorkerShipPayloadBaseTemplate
)
StarfleetWorkerShipInstance = TypeVar("StarfleetWorkerShipInstance", bound=StarfleetWorkerShip)

__all__ = [
    "SLACK_CLIENT",
    "AlertConfiguration",
    "AlertPriority",
    "EventBridgeFrequency",
    "FanOutStrategy",
    "InvocationSource",
    "StarfleetWorkerShip",
    "StarfleetWorkerShipInstance",
    "WorkerShipBaseConfigurationTemplate",
    "WorkerShipPayloadBaseTemplate",
    "WorkerShipPayloadBaseTemplateInstance",
]
