"""AccountIndexGeneratorShip (SINGLE_INVOCATION): the organisation's account index, in Starfleet's format.

Modules: ``schemas`` (configuration section and payload), ``organization`` (accounts, the OU tree as
parent chains, tags), ``regions`` (enabled regions per account through an assumed role), ``ship`` (the
worker ship: build, summarise, write with commit).
"""

from ships.account_index_generator.ship import AccountIndexGeneratorShip

WORKER_SHIP_PLUGINS = [AccountIndexGeneratorShip]

__all__ = ["WORKER_SHIP_PLUGINS", "AccountIndexGeneratorShip"]
