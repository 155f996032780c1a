"""What the registry hands out: discovered ships, loaded ships, problems, and the registry itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.ship import RunContext, StarfleetWorkerShip, create_ship

if TYPE_CHECKING:  # pragma: no cover - typing only
    import boto3


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
    warnings: tuple[ShipProblem, ...] = ()  # keys of its section that nothing reads

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
        return create_ship(
            self.ship_class,
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
    warnings: list[ShipProblem] = field(default_factory=list)  # unknown keys, enabled or disabled ships
    # Undeclared keys of a ship's own section that are no near miss: kept for the ship to read (not fatal).
    notices: list[ShipProblem] = field(default_factory=list)
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
