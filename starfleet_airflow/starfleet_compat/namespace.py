"""Starfleet's module names (``starfleet.worker_ships.ship_schematics``, ...) served by an import hook.

A ship written for Starfleet imports ``from starfleet.utils.logging import LOGGER`` and its own modules as
``starfleet.worker_ships.plugins.<ship>.<module>``. This project must answer those imports without
installing a top-level ``starfleet`` package (PyPI's ``starfleet`` is an unrelated project) and without
shadowing a real Starfleet installation. So ``install`` appends a finder to ``sys.meta_path``:

* it runs after the normal path finder, and answers nothing when a real ``starfleet`` is importable: an
  installed Starfleet always wins (``real_starfleet_location`` says where it is);
* each Starfleet module name is an alias of the module here that implements it (the same object: a
  singleton such as ``ACCOUNT_INDEX`` is one object under both names);
* ``starfleet.worker_ships.plugins`` is a package whose ``__path__`` is the ships folder, so the folder's
  packages import as ``starfleet.worker_ships.plugins.<ship>`` (Starfleet's self-imports) and Python's own
  path finder loads them from there.

Nothing is imported until a ship asks for a name, so installing the hook costs nothing at DAG parse time.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

TOP = "starfleet"
PLUGINS_PACKAGE = "starfleet.worker_ships.plugins"
_HERE = "starfleet_airflow.starfleet_compat"

# Starfleet module -> the module here that provides it.
ALIASES: dict[str, str] = {
    "starfleet.utils.logging": f"{_HERE}.starfleet_logging",
    "starfleet.utils.configuration": f"{_HERE}.configuration",
    "starfleet.utils.niceties": f"{_HERE}.niceties",
    "starfleet.utils.secrets": f"{_HERE}.secrets",
    "starfleet.utils.slack": f"{_HERE}.slack",
    "starfleet.worker_ships.ship_schematics": f"{_HERE}.ship_schematics",
    "starfleet.worker_ships.base_payload_schemas": f"{_HERE}.base_payload_schemas",
    "starfleet.worker_ships.lambda_utils": f"{_HERE}.lambda_utils",
    "starfleet.worker_ships.cli_utils": f"{_HERE}.cli_utils",
    "starfleet.worker_ships.niceties": f"{_HERE}.niceties",
    "starfleet.account_index.resolvers": f"{_HERE}.resolvers",
    "starfleet.account_index.loader": f"{_HERE}.loader",
    "starfleet.account_index.schematics": f"{_HERE}.schematics",
    "starfleet.account_index.plugins.starfleet_default_index": f"{_HERE}.default_index",
}
# Packages that exist only to hold the modules above (and the plugins folder).
PACKAGES = {
    TOP,
    "starfleet.utils",
    "starfleet.worker_ships",
    "starfleet.account_index",
    "starfleet.account_index.plugins",
    PLUGINS_PACKAGE,
}


class _AliasLoader(importlib.abc.Loader):
    """Loads a Starfleet name as the module here that implements it (one object, two names)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: types.ModuleType) -> None:
        """Already executed under its own name."""


class _PackageLoader(importlib.abc.Loader):
    """An empty package; its ``__path__`` (the spec's search locations) decides where submodules come from."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default: a fresh module object

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = f"{module.__name__}: served by starfleet-airflow ({__name__})"


class StarfleetFinder(importlib.abc.MetaPathFinder):
    """Answers ``starfleet.*`` imports when no real Starfleet is importable."""

    def __init__(self) -> None:
        self.plugin_folders: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != TOP and not fullname.startswith(TOP + "."):
            return None
        top = sys.modules.get(TOP)
        if top is not None and not isinstance(getattr(top, "__loader__", None), _PackageLoader):
            return None  # a real starfleet is loaded: never answer for it
        if fullname in ALIASES:
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader(ALIASES[fullname]))
        if fullname in PACKAGES:
            spec = importlib.machinery.ModuleSpec(fullname, _PackageLoader(), is_package=True)
            spec.submodule_search_locations = list(self.plugin_folders) if fullname == PLUGINS_PACKAGE else []
            return spec
        return None  # e.g. a plugin package: the path finder looks in the plugins package's __path__


_FINDER = StarfleetFinder()
_LOCK = threading.Lock()


def real_starfleet_location() -> str | None:
    """Where a real ``starfleet`` package is importable from (None when there is none)."""
    top = sys.modules.get(TOP)
    if top is not None:
        return None if isinstance(getattr(top, "__loader__", None), _PackageLoader) else str(top.__file__)
    spec = importlib.machinery.PathFinder.find_spec(TOP)
    return None if spec is None else str(spec.origin or spec.submodule_search_locations)


def install(plugin_folders: Sequence[Path]) -> bool:
    """Serve Starfleet's names, with ``starfleet.worker_ships.plugins`` over ``plugin_folders``.

    Returns False (and logs where it is) when a real ``starfleet`` is importable: that one is used instead.
    Calling it again with other folders re-points the plugins package (modules already imported stay).
    """
    real = real_starfleet_location()
    if real is not None:
        log.warning("a 'starfleet' package is installed (%s): Starfleet ships import from it, not from here", real)
        return False
    folders = [str(Path(folder).resolve()) for folder in plugin_folders]
    with _LOCK:
        _FINDER.plugin_folders = folders
        if _FINDER not in sys.meta_path:
            sys.meta_path.append(_FINDER)  # after the path finder: a real starfleet always wins
        plugins = sys.modules.get(PLUGINS_PACKAGE)
        if plugins is not None:
            plugins.__path__ = list(folders)  # type: ignore[attr-defined]
            if plugins.__spec__ is not None:
                plugins.__spec__.submodule_search_locations = list(folders)
    return True


def installed() -> bool:
    return _FINDER in sys.meta_path
