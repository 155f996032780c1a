"""AWS Config enablement ship (ACCOUNT_REGION): recorder, delivery channel, retention, per-target overrides."""

from ships.aws_config.ship import AwsConfigWorkerShip

#: What the registry loads from this package.
WORKER_SHIP_PLUGINS = [AwsConfigWorkerShip]

__all__ = ["WORKER_SHIP_PLUGINS", "AwsConfigWorkerShip"]
