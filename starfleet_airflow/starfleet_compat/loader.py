"""``starfleet.account_index.loader``: ``ACCOUNT_INDEX``, the account index a ship should consult now.

``ACCOUNT_INDEX.index`` is, in order: the index the orchestrator is serving (inside an Airflow deliver task,
the run's snapshot: the very index its targets were resolved with; in the CLI, the workspace's), an index
assigned to ``_index`` (Starfleet's tests do that), or the configured one, loaded once per process: Starfleet's
JSON index (``AccountIndexLocation`` / the ``StarfleetDefaultAccountIndex`` section) or the plugin
``STARFLEET.AccountIndex`` names (``starfleet_airflow.core.index_plugins``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.default_index import StarfleetDefaultAccountIndex
from starfleet_airflow.starfleet_compat.index_view import as_starfleet_index
from starfleet_airflow.starfleet_compat.schematics import AccountIndex, AccountIndexInstance


class UnknownAccountIndexError(Exception):
    """``STARFLEET.AccountIndex`` names no known index implementation."""


class StarfleetAccountIndexLoader:
    """``ACCOUNT_INDEX``: ``.index`` is the account index a ship should consult now."""

    def __init__(self) -> None:
        self._index: Any = None
        self._served: list[Any] = []

    def reset(self) -> None:
        """Forget the loaded index (the next ``.index`` loads the configured one again)."""
        self._index = None

    @contextmanager
    def serving(self, index: Any) -> Iterator[None]:
        """``index`` (this project's, or a Starfleet-interface object) is ``ACCOUNT_INDEX.index`` inside the block."""
        self._served.append(as_starfleet_index(index))
        try:
            yield
        finally:
            self._served.pop()

    @property
    def index(self) -> Any:
        if self._served:
            return self._served[-1]
        if not self._index:
            self.load_indexes()
        return self._index

    def load_indexes(self) -> None:
        """Load the configured index (raises ``ConfigurationError``, ``AccountIndexError`` or the plugin's error)."""
        configuration = STARFLEET_CONFIGURATION.configuration
        if configuration.account_index_plugin:
            from starfleet_airflow.core.index_plugins import plugin_instance

            self._index = plugin_instance(configuration.account_index_plugin)
            return
        self._index = StarfleetDefaultAccountIndex()


ACCOUNT_INDEX = StarfleetAccountIndexLoader()

__all__ = [
    "ACCOUNT_INDEX",
    "AccountIndex",
    "AccountIndexInstance",
    "StarfleetAccountIndexLoader",
    "UnknownAccountIndexError",
]
