"""Starfleet's ``STARFLEET_CONFIGURATION``: the merged configuration, served to ships that read it.

Ported ships keep ``STARFLEET_CONFIGURATION.config[self.worker_ship_name]`` working. Orchestrator code
that has already loaded the configuration hands it over (``use`` / ``serving``) so the folder is read
once per process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starfleet_airflow.core.config import Configuration, load_configuration


class StarfleetConfigurationCompat:
    """Starfleet's ``STARFLEET_CONFIGURATION``: ``.config`` is the raw merged dict, loaded on first use.

    Ported ships keep ``STARFLEET_CONFIGURATION.config[self.worker_ship_name]`` working after changing
    the import to ``from starfleet_airflow.core.config import STARFLEET_CONFIGURATION``. Orchestrator code
    that has already loaded the configuration hands it over with ``use()`` so the folder is read once.
    """

    def __init__(self) -> None:
        self._configuration: Configuration | None = None

    def use(self, configuration: Configuration) -> None:
        """Serve this already-loaded configuration."""
        self._configuration = configuration

    @contextmanager
    def serving(self, configuration: Configuration) -> Iterator[None]:
        """Serve ``configuration`` inside the block, then whatever was served before."""
        previous = self._configuration
        self._configuration = configuration
        try:
            yield
        finally:
            self._configuration = previous

    def reset(self) -> None:
        """Forget the loaded configuration (the next access reads the folder again)."""
        self._configuration = None

    @property
    def current(self) -> Configuration | None:
        """The configuration being served, without loading one (None before first use)."""
        return self._configuration

    @property
    def configuration(self) -> Configuration:
        if self._configuration is None:
            loaded = load_configuration()
            loaded.raise_for_errors()
            self._configuration = loaded
        return self._configuration

    @property
    def config(self) -> dict[str, Any]:
        """The merged configuration as written (UpperCamelCase keys), like Starfleet's."""
        return self.configuration.raw


STARFLEET_CONFIGURATION = StarfleetConfigurationCompat()
