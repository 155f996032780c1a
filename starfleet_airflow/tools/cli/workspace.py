"""What the ship commands load once: configuration, ships, the template store and the index."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex, AccountIndexError, load_account_index
from starfleet_airflow.core.config import Configuration, load_configuration
from starfleet_airflow.core.index_plugins import AccountIndexPluginError, load_plugin_index_data
from starfleet_airflow.core.registry import LoadedShip, ShipRegistry, load_ships
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.core.templates import (
    LoadedTemplate,
    TemplateError,
    TemplateStore,
    load_template_file,
    select_templates,
    validate_template,
)
from starfleet_airflow.starfleet_compat.runtime import activate
from starfleet_airflow.tools.cli.output import CliError, warn


def s3_client(region: str | None = None) -> Any:
    """A boto3 S3 client from the default credential chain; created only when a location is in S3."""
    import boto3

    return boto3.client("s3", region_name=region) if region else boto3.client("s3")


@dataclass
class Workspace:
    """Configuration, ships and the template store, loaded once per command."""

    configuration: Configuration
    registry: ShipRegistry
    _s3: Any = None

    @property
    def s3_client(self) -> Any:
        if self._s3 is None:
            self._s3 = s3_client(self.configuration.starfleet.get("deployment_region"))
        return self._s3

    def store(self) -> TemplateStore:
        root = self.configuration.template_location
        assert root is not None  # guaranteed once the configuration has no errors
        return TemplateStore(root, self.s3_client if root.is_s3 else None)

    def index(self, documents: Iterable[Any] = ()) -> AccountIndex:
        """The configured index; an account-index plugin is asked about the OUs ``documents`` (templates) name."""
        include_inactive = bool(self.configuration.starfleet.get("include_inactive_accounts"))
        plugin = self.configuration.account_index_plugin
        if plugin:
            try:
                data = load_plugin_index_data(plugin, documents)
            except AccountIndexPluginError as exc:
                raise CliError(str(exc)) from exc
            return AccountIndex.from_dict(
                data, source=f"account-index plugin {plugin}", include_inactive=include_inactive
            )
        location = self.configuration.account_index_location
        assert location is not None
        try:
            return load_account_index(
                location, s3_client=self.s3_client if location.is_s3 else None, include_inactive=include_inactive
            )
        except AccountIndexError as exc:
            raise CliError(*str(exc).splitlines()) from exc


def open_workspace(args: argparse.Namespace) -> Workspace:
    configuration = load_configuration(args.config_dir)
    activate(args.ships_dir)  # Starfleet ships import unchanged (starfleet.* names, their plugins package)
    with STARFLEET_CONFIGURATION.serving(configuration):
        registry = load_ships(configuration, args.ships_dir, use_entry_points=not args.no_entry_points)
    return Workspace(configuration, registry)


def require_ship(workspace: Workspace, name: str) -> LoadedShip:
    """The loaded ship, or a CliError saying why not.

    Configuration problems that leave the template store and the index reachable (a broken file
    holding other sections, say) are warnings here: ``validate`` is the command that fails on them.
    """
    configuration = workspace.configuration
    if configuration.template_location is None or not configuration.has_account_index:
        raise CliError(*(str(p) for p in configuration.errors))
    for problem in configuration.errors:
        warn(str(problem))
    ship = workspace.registry.get(name)
    if ship is None:
        raise CliError(*workspace.registry.why_not_loaded(name).splitlines())
    return ship


def ship_templates(workspace: Workspace, ship: LoadedShip) -> list[LoadedTemplate]:
    try:
        return workspace.store().load_all(ship.configuration["template_prefix"])
    except TemplateError as exc:
        raise CliError(f"{ship.source_file}: {ship.name}.TemplatePrefix: {exc}") from exc


def one_template(workspace: Workspace, ship: LoadedShip, selector: str) -> LoadedTemplate:
    """The ship's template named by ``selector`` (key, file name or TemplateName), else a file path."""
    prefix = ship.configuration["template_prefix"]
    chosen, _ = select_templates(ship_templates(workspace, ship), [selector], prefix)
    if len(chosen) > 1:
        raise CliError(f"--template {selector!r} is ambiguous; it names: {', '.join(t.key for t in chosen)}")
    if chosen:
        return chosen[0]
    if Path(selector).is_file():
        return load_template_file(Path(selector))
    raise CliError(
        f"--template {selector!r} names no template of {ship.name} under {workspace.configuration.template_location}"
        f" (TemplatePrefix {prefix}) and is not a file"
    )


def validated_payload(ship: LoadedShip, template: LoadedTemplate) -> dict[str, Any]:
    if template.raw is None:
        raise CliError(f"{template.location}: {template.error}")
    payload, errors = validate_template(ship.ship_class, template.raw)
    if payload is None:
        raise CliError(*(f"{template.location}: {e}" for e in errors))
    return payload
