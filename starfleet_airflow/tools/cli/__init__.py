"""``starfleet-airflow``: check, preview and run ships without Airflow.

- ``validate``: the configuration, every ship and every template of every enabled ship; all problems
  at once, one ``file: key: message`` line each, exit 1 when there is any.
- ``targets``: the targets of one template file against one index file (the contract in DESIGN.md).
- ``plan SHIP``: every template of a ship with its targets.
- ``render SHIP``: the exact SQS message body a worker would receive for one target.
- ``run SHIP``: run the ship locally for one target (dry run unless ``--commit``).

Results go to stdout, problems to stderr (one per line), so output pipes cleanly into ``jq``.
"""

from starfleet_airflow.tools.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
