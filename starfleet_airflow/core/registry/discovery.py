"""Find ship classes: the packages of the ships folder and the ``starfleet_airflow.ships`` entry points.

Every package exposing ``WORKER_SHIP_PLUGINS = [ShipClass, ...]`` in its ``__init__.py`` (Starfleet's
convention) contributes its classes; an entry point names a ship class or such a module. An import
failure of one package becomes a ``ShipProblem`` and discovery carries on.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import pkgutil
import sys
import traceback
import types
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from starfleet_airflow.core.registry.models import DiscoveredShip, ShipProblem
from starfleet_airflow.core.ship import StarfleetWorkerShip

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "starfleet_airflow.ships"
PLUGINS_ATTRIBUTE = "WORKER_SHIP_PLUGINS"
SHIPS_DIR_ENV = "STARFLEET_SHIPS_DIR"
DEFAULT_SHIPS_PACKAGE = "ships"


class InvalidPluginError(TypeError):
    """A plugin module or entry point does not expose ship classes the way the convention requires."""


def _import_failure(exc: BaseException) -> str:
    """``ExcType: message (at file:line)``: the frame in the ship's own code, not importlib's.

    Our own shape checks (``InvalidPluginError``) say what is wrong without a location.
    """
    if isinstance(exc, InvalidPluginError):
        return str(exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
    location = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        location = f" (at {exc.filename}:{exc.lineno})"
    elif frames:
        location = f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return f"{type(exc).__name__}: {exc}{location}"


def _plugins_of(module: types.ModuleType) -> list[type[StarfleetWorkerShip]]:
    """The module's ``WORKER_SHIP_PLUGINS`` list, checked; raises InvalidPluginError saying what is wrong."""
    plugins = getattr(module, PLUGINS_ATTRIBUTE)
    if not isinstance(plugins, (list, tuple)):
        raise InvalidPluginError(f"{PLUGINS_ATTRIBUTE} must be a list of ship classes, got {type(plugins).__name__}")
    for plugin in plugins:
        if not (isinstance(plugin, type) and issubclass(plugin, StarfleetWorkerShip)):
            raise InvalidPluginError(f"{PLUGINS_ATTRIBUTE} entry {plugin!r} is not a subclass of StarfleetWorkerShip")
    return list(plugins)


def _package_prefix_for_dir(ships_dir: Path) -> str:
    """A module prefix under which the packages of ``ships_dir`` are importable.

    The repository's own ``ships`` package keeps its real name (ships import their own modules as
    ``ships.x``); any other folder gets a synthetic parent package whose ``__path__`` is that folder,
    so its packages import (relative imports included) without touching ``sys.path``.
    """
    resolved = ships_dir.resolve()
    try:
        default = importlib.import_module(DEFAULT_SHIPS_PACKAGE)
        if any(Path(p).resolve() == resolved for p in getattr(default, "__path__", [])):
            return DEFAULT_SHIPS_PACKAGE
    except ImportError:
        pass
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"_starfleet_ships_{digest}"
    if name not in sys.modules:
        package = types.ModuleType(name, f"Ship packages of {resolved}")
        package.__path__ = [str(resolved)]
        package.__spec__ = importlib.util.spec_from_loader(name, loader=None, is_package=True)
        package.__spec__.submodule_search_locations = [str(resolved)]
        sys.modules[name] = package
    return name


def default_ships_dir() -> Path | None:
    """``$STARFLEET_SHIPS_DIR``, else None (meaning the installed ``ships`` package)."""
    value = os.environ.get(SHIPS_DIR_ENV)
    return Path(value).expanduser() if value else None


def _discover_folder(ships_dir: Path | None, errors: list[ShipProblem]) -> list[DiscoveredShip]:
    if ships_dir is None:
        try:
            package = importlib.import_module(DEFAULT_SHIPS_PACKAGE)
        except ImportError as exc:
            errors.append(ShipProblem(DEFAULT_SHIPS_PACKAGE, None, f"cannot import: {_import_failure(exc)}"))
            return []
        search_path, prefix = list(package.__path__), DEFAULT_SHIPS_PACKAGE
    else:
        if not ships_dir.is_dir():
            errors.append(ShipProblem(str(ships_dir), str(ships_dir), "no such ships folder"))
            return []
        search_path, prefix = [str(ships_dir.resolve())], _package_prefix_for_dir(ships_dir)

    found: list[DiscoveredShip] = []
    for module_info in sorted(pkgutil.iter_modules(search_path, prefix + "."), key=lambda m: m.name):
        if not module_info.ispkg:
            continue
        short = module_info.name.rpartition(".")[2]
        where = str(Path(module_info.module_finder.path) / short)  # type: ignore[union-attr]
        try:
            module = importlib.import_module(module_info.name)
            if not hasattr(module, PLUGINS_ATTRIBUTE):
                log.debug("Skipping package %s: no %s", module_info.name, PLUGINS_ATTRIBUTE)
                continue
            classes = _plugins_of(module)
        except Exception as exc:  # any import-time failure of one package must not stop the others
            errors.append(
                ShipProblem(short, where, f"cannot load ship package {module_info.name}: {_import_failure(exc)}")
            )
            continue
        found.extend(DiscoveredShip(cls, module_info.name) for cls in classes)
    return found


def _entry_point_origin(entry_point: EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    dist_name = f" from {dist.metadata['Name']} {dist.version}" if dist is not None else ""
    return f"entry point {entry_point.name} = {entry_point.value}{dist_name}"


def _discover_entry_points(errors: list[ShipProblem]) -> list[DiscoveredShip]:
    found: list[DiscoveredShip] = []
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value)):
        origin = _entry_point_origin(entry_point)
        try:
            target = entry_point.load()
            if isinstance(target, type) and issubclass(target, StarfleetWorkerShip):
                classes = [target]
            elif isinstance(target, types.ModuleType) and hasattr(target, PLUGINS_ATTRIBUTE):
                classes = _plugins_of(target)
            else:
                raise InvalidPluginError(
                    f"expected a StarfleetWorkerShip subclass or a module with {PLUGINS_ATTRIBUTE}, got {target!r}"
                )
        except Exception as exc:  # a broken plugin distribution must not stop the others
            errors.append(ShipProblem(entry_point.name, None, f"cannot load {origin}: {_import_failure(exc)}"))
            continue
        found.extend(DiscoveredShip(cls, origin) for cls in classes)
    return found


def discover_ships(
    ships_dir: Path | None = None, *, use_entry_points: bool = True
) -> tuple[dict[str, DiscoveredShip], list[ShipProblem]]:
    """Every ship class from the ships folder then the entry points, keyed by ship name.

    Two different classes with the same name are an error (the first found is kept): the name is the
    configuration section key, so it must be unique.
    """
    errors: list[ShipProblem] = []
    candidates = _discover_folder(ships_dir, errors)
    if use_entry_points:
        candidates += _discover_entry_points(errors)
    ships: dict[str, DiscoveredShip] = {}
    for candidate in candidates:
        existing = ships.get(candidate.name)
        if existing is None:
            ships[candidate.name] = candidate
        elif existing.ship_class is not candidate.ship_class:
            errors.append(
                ShipProblem(
                    candidate.name,
                    None,
                    f"two ships share this name: {existing.origin} and {candidate.origin}; kept the first",
                )
            )
    return ships, errors
