"""Benchmark ships: they do nothing, so a run measures the orchestration.

Used by scripts/benchmark.py under `airflow dags test` (devtools/benchmarks/dagrun.py) and on the stack's
benchmark profile (stack/benchmark/config).
"""

from starfleet_airflow import (
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    FanOutStrategy,
    StarfleetWorkerShip,
    WorkerShipBaseConfigurationTemplate,
)


class NoOpAccountShip(StarfleetWorkerShip):
    """Does nothing in each account (ACCOUNT fan-out)."""

    fan_out_strategy = FanOutStrategy.ACCOUNT
    payload_template_class = BaseAccountPayloadTemplate
    configuration_template_class = WorkerShipBaseConfigurationTemplate

    def execute(self, commit: bool = False) -> None:
        return None


class NoOpRegionShip(StarfleetWorkerShip):
    """Does nothing in each account/region (ACCOUNT_REGION fan-out); fed through SQS."""

    fan_out_strategy = FanOutStrategy.ACCOUNT_REGION
    payload_template_class = BaseAccountRegionPayloadTemplate
    configuration_template_class = WorkerShipBaseConfigurationTemplate


WORKER_SHIP_PLUGINS = [NoOpAccountShip, NoOpRegionShip]
