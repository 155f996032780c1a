"""Keep the discovered ships that are configured, well formed, valid and enabled.

A ship's section is validated even when disabled, as Starfleet does: a broken section is a mistake
either way. A ship whose payload schema does not fit its fan-out strategy is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError

from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.config_blockers import blockers
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.registry.discovery import default_ships_dir, discover_ships
from starfleet_airflow.core.registry.models import DiscoveredShip, LoadedShip, ShipProblem, ShipRegistry
from starfleet_airflow.core.schemas import (
    AirflowShipOptions,
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    WorkerShipBaseConfigurationTemplate,
    WorkerShipPayloadBaseTemplate,
    error_items,
)
from starfleet_airflow.core.ship import StarfleetWorkerShip
from starfleet_airflow.core.unknown_keys import SHIP_SECTION_KEYS, declared_keys, split_ship_keys, unknown_key_message

# The payload base class each strategy needs: the fan-out reads these fields to find its targets.
REQUIRED_PAYLOAD_BASE: dict[FanOutStrategy, type[Schema]] = {
    FanOutStrategy.SINGLE_INVOCATION: WorkerShipPayloadBaseTemplate,
    FanOutStrategy.ACCOUNT: BaseAccountPayloadTemplate,
    FanOutStrategy.ACCOUNT_REGION: BaseAccountRegionPayloadTemplate,
}


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


def _suggest(key: str, message: str, section_keys: set[str]) -> str:
    """Marshmallow's "Unknown field." with a "did you mean" (the section's own keys, or the Airflow mapping's)."""
    if message != "Unknown field.":
        return message
    parent, _, name = key.rpartition(".")
    known = section_keys if not parent else declared_keys(AirflowShipOptions) if parent == "Airflow" else None
    return unknown_key_message(name, known) if known else message


def _load_one(discovered: DiscoveredShip, configuration: Configuration, registry: ShipRegistry) -> LoadedShip | None:
    name = discovered.name
    raw_section = configuration.raw.get(name)
    source_file = configuration.section_files.get(name)
    file_text = str(source_file) if source_file else None
    reasons = blockers(configuration, name)
    if reasons:  # a broken DAG of its own, never a ship built from half a configuration, never a gap
        registry.errors.extend(ShipProblem(name, str(file) if file else None, reason) for file, reason in reasons)
        return None
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
    schema = discovered.ship_class.configuration_template_class
    section_keys = declared_keys(schema) | SHIP_SECTION_KEYS
    typos, undeclared = split_ship_keys(raw_section, section_keys)
    registry.warnings.extend(ShipProblem(name, file_text, message, key) for key, message in typos)
    registry.notices.extend(ShipProblem(name, file_text, message, key) for key, message in undeclared)
    warnings = [ShipProblem(name, file_text, message, key) for key, message in typos + undeclared]
    try:
        validated = schema().load(raw_section)
    except ValidationError as exc:
        registry.errors.extend(
            ShipProblem(name, file_text, _suggest(key, message, section_keys), key or None)
            for key, message in error_items(exc.messages)
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
        warnings=tuple(warnings),
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
