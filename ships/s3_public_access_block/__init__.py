"""The developer guide's worked example (ships/README.md): account-level S3 Block Public Access (ACCOUNT)."""

from ships.s3_public_access_block.ship import S3PublicAccessBlockWorkerShip

#: What the registry loads from this package.
WORKER_SHIP_PLUGINS = [S3PublicAccessBlockWorkerShip]

__all__ = ["WORKER_SHIP_PLUGINS", "S3PublicAccessBlockWorkerShip"]
