"""Find worker ships and keep those that are configured, valid and enabled.

Ships come from two places: every package of the ships folder (the repository's ``ships`` package by
default) exposing ``WORKER_SHIP_PLUGINS = [ShipClass, ...]`` in its ``__init__.py`` as in Starfleet,
and the ``starfleet_airflow.ships`` entry-point group, so a team can ship plugins from its own pip
package without forking this repository. An entry point names either a ship class or a module with
``WORKER_SHIP_PLUGINS``.

One broken ship must never hide the others: an import failure, a bad section or a ship whose payload
schema does not fit its fan-out strategy becomes a ``ShipProblem`` (the factory shows it in the Airflow
UI, ``starfleet-airflow validate`` fails on it) and discovery carries on.
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
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError

from starfleet_airflow.config import Configuration
from starfleet_airflow.schemas import (
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    WorkerShipBaseConfigurationTemplate,
    WorkerShipPayloadBaseTemplate,
    error_items,
)
from starfleet_airflow.ship import FanOutStrategy, RunContext, StarfleetWorkerShip

if TYPE_CHECKING:  # pragma: no cover - typing only
    import boto3

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "starfleet_airflow.ships"
PLUGINS_ATTRIBUTE = "WORKER_SHIP_PLUGINS"
SHIPS_DIR_ENV = "STARFLEET_SHIPS_DIR"
DEFAULT_SHIPS_PACKAGE = "ships"

# The payload base class each strategy needs: the fan-out reads these fields to find its targets.
REQUIRED_PAYLOAD_BASE: dict[FanOutStrategy, type[Schema]] = {
    FanOutStrategy.SINGLE_INVOCATION: WorkerShipPayloadBaseTemplate,
    FanOutStrategy.ACCOUNT: BaseAccountPayloadTemplate,
    FanOutStrategy.ACCOUNT_REGION: BaseAccountRegionPayloadTemplate,
}


class InvalidPluginError(TypeError):
    """A plugin module or entry point does not expose ship classes the way the convention requires."""


@dataclass(frozen=True)
class ShipProblem:
    """One problem with a ship: which ship (or package/entry point), which file, which key, what."""

    ship: str
    file: str | None
    message: str
    key: str | None = None

    def __str__(self) -> str:
        where = ".".join(part for part in (self.ship, self.key) if part)
        return ": ".join(part for part in (self.file or "<ships>", where, self.message) if part)


@dataclass(frozen=True)
class DiscoveredShip:
    """A ship class and where it came from (package name or entry point), for messages."""

    ship_class: type[StarfleetWorkerShip]
    origin: str

    @property
    def name(self) -> str:
        return self.ship_class.get_worker_ship_name()


@dataclass(frozen=True)
class LoadedShip:
    """An enabled ship with its validated section: everything needed to build its DAG or run it."""

    ship_class: type[StarfleetWorkerShip]
    configuration: dict[str, Any]
    raw_section: dict[str, Any]
    source_file: Path | None
    starfleet_configuration: dict[str, Any]
    origin: str = ""

    @property
    def name(self) -> str:
        return self.ship_class.get_worker_ship_name()

    @property
    def fan_out_strategy(self) -> FanOutStrategy:
        return self.ship_class.fan_out_strategy

    @property
    def airflow_options(self) -> dict[str, Any]:
        """The validated ``Airflow`` mapping of the section (defaults applied)."""
        return self.configuration["airflow"]

    def instantiate(
        self, run_context: RunContext | None = None, aws_session: boto3.Session | None = None
    ) -> StarfleetWorkerShip:
        """A fresh ship instance; one per target, so no payload leaks from one target to the next."""
        return self.ship_class(
            configuration=self.configuration,
            starfleet_configuration=self.starfleet_configuration,
            run_context=run_context,
            aws_session=aws_session,
        )


@dataclass
class ShipRegistry:
    """The outcome of loading: usable ships, problems, and ships left out on purpose."""

    ships: dict[str, LoadedShip] = field(default_factory=dict)
    errors: list[ShipProblem] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    unconfigured: list[str] = field(default_factory=list)
    discovered: dict[str, DiscoveredShip] = field(default_factory=dict)

    def get(self, name: str) -> LoadedShip | None:
        return self.ships.get(name)

    def why_not_loaded(self, name: str) -> str:
        """A sentence explaining why ``name`` is not among the loaded ships (for CLI messages)."""
        if name in self.ships:
            return f"{name} is loaded"
        if name in self.disabled:
            return f"{name} is disabled (Enabled: false in its configuration section)"
        if name in self.unconfigured:
            return f"{name} has no configuration section"
        problems = [str(p) for p in self.errors if p.ship == name]
        if problems:
            return f"{name} failed to load:\n" + "\n".join(problems)
        known = ", ".join(sorted(self.discovered)) or "none"
        return f"no ship named {name!r} was found (ships found: {known})"


# --------------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Loading against the configuration
# --------------------------------------------------------------------------------------------------


def _is_schema_class(value: Any, base: type[Schema]) -> bool:
    return isinstance(value, type) and issubclass(value, base)


def check_ship_class(ship_class: type[StarfleetWorkerShip]) -> list[str]:
    """What is wrong with a ship class's declarations (empty when it is well formed)."""
    problems: list[str] = []
    strategy = getattr(ship_class, "fan_out_strategy", None)
    if not isinstance(strategy, FanOutStrategy):
        problems.append(f"fan_out_strategy must be a FanOutStrategy, got {strategy!r}")
    configuration_class = getattr(ship_class, "configuration_template_class", None)
    if not _is_schema_class(configuration_class, WorkerShipBaseConfigurationTemplate):
        problems.append(
            f"configuration_template_class must be a subclass of WorkerShipBaseConfigurationTemplate,"
            f" got {configuration_class!r}"
        )
    payload_class = getattr(ship_class, "payload_template_class", None)
    if not _is_schema_class(payload_class, WorkerShipPayloadBaseTemplate):
        problems.append(
            f"payload_template_class must be a subclass of WorkerShipPayloadBaseTemplate, got {payload_class!r}"
        )
    elif isinstance(strategy, FanOutStrategy):
        required = REQUIRED_PAYLOAD_BASE[strategy]
        if not issubclass(payload_class, required):
            problems.append(
                f"fan_out_strategy {strategy.value} needs a payload_template_class that subclasses"
                f" {required.__name__}; {payload_class.__name__} does not"
            )
    return problems


def _load_one(discovered: DiscoveredShip, configuration: Configuration, registry: ShipRegistry) -> LoadedShip | None:
    name = discovered.name
    raw_section = configuration.raw.get(name)
    source_file = configuration.section_files.get(name)
    file_text = str(source_file) if source_file else None
    if raw_section is None:
        registry.unconfigured.append(name)
        return None
    problems = check_ship_class(discovered.ship_class)
    if problems:
        registry.errors.extend(ShipProblem(name, discovered.origin, f"refused: {p}") for p in problems)
        return None
    if not isinstance(raw_section, dict):
        registry.errors.append(ShipProblem(name, file_text, f"expected a mapping, got {type(raw_section).__name__}"))
        return None
    try:
        validated = discovered.ship_class.configuration_template_class().load(raw_section)
    except ValidationError as exc:
        registry.errors.extend(
            ShipProblem(name, file_text, message, key or None) for key, message in error_items(exc.messages)
        )
        return None
    if not validated["enabled"]:
        registry.disabled.append(name)
        return None
    return LoadedShip(
        ship_class=discovered.ship_class,
        configuration=validated,
        raw_section=raw_section,
        source_file=source_file,
        starfleet_configuration=configuration.starfleet,
        origin=discovered.origin,
    )


def load_ships(
    configuration: Configuration, ships_dir: Path | None = None, *, use_entry_points: bool = True
) -> ShipRegistry:
    """Discover ships and keep those whose section exists, validates and says ``Enabled: true``.

    ``ships_dir`` defaults to ``$STARFLEET_SHIPS_DIR``, else the installed ``ships`` package. A ship's
    section is validated even when disabled, as Starfleet does: a broken section is a mistake either way.
    """
    discovered, errors = discover_ships(ships_dir or default_ships_dir(), use_entry_points=use_entry_points)
    registry = ShipRegistry(errors=errors, discovered=discovered)
    for name in sorted(discovered):
        loaded = _load_one(discovered[name], configuration, registry)
        if loaded is not None:
            registry.ships[name] = loaded
    return registry
