"""Starfleet's import surface, served on this project's core: Starfleet's ships run here unmodified.

A ship written for Starfleet imports ``starfleet.worker_ships.ship_schematics``, ``starfleet.utils.logging``,
``starfleet.account_index.resolvers`` and the rest, and its own modules as
``starfleet.worker_ships.plugins.<ship>``. ``runtime.activate`` switches those names on (``namespace``: an
import hook that never shadows a real ``starfleet`` installation); the modules here implement them with
Starfleet's signatures and semantics on the core's ship class, schemas, configuration, account index and
alert router. Every intended difference is in the README's "Differences from Starfleet" table.

Airflow-free (an import-linter contract checks it): the Lambda side and the CLI use it as the Airflow layer does.
"""
