"""The executors this Airflow runs tasks with, for the shared-storage check of ``core.placement``."""

from __future__ import annotations

from pathlib import Path

from starfleet_airflow.core.config import ConfigProblem, Configuration
from starfleet_airflow.core.placement import executor_names, local_location_problems, ship_executors
from starfleet_airflow.core.registry import LoadedShip


def configured_executors() -> list[str]:
    """``[core] executor`` of this Airflow, as class names (the default first)."""
    from airflow.configuration import conf

    return executor_names(conf.get("core", "executor", fallback="LocalExecutor"))


def configured_dags_folder() -> Path:
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder"))


def placement_problems(configuration: Configuration, ships: list[LoadedShip]) -> list[ConfigProblem]:
    """Local shared locations that the executors of ``ships`` cannot share (empty when all is well)."""
    executors = ship_executors(configured_executors(), {ship.name: ship.airflow_options for ship in ships})
    return local_location_problems(configuration, executors, configured_dags_folder())
