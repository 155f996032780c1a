"""``validate``: the configuration, every ship and every template of every enabled ship, all problems at once."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from starfleet_airflow.airflow.naming import collision_message, dag_id_collisions
from starfleet_airflow.core.config import STARFLEET_SECTION, Configuration
from starfleet_airflow.core.index_plugins import AccountIndexPluginError, find_index_plugin
from starfleet_airflow.core.placement import executor_names, local_location_problems, ship_executors
from starfleet_airflow.core.registry import LoadedShip, ShipRegistry
from starfleet_airflow.core.templates import (
    TemplateError,
    validate_template,
)
from starfleet_airflow.core.text import plural
from starfleet_airflow.tools.cli.output import EXIT_OK, EXIT_PROBLEMS, print_errors, warn
from starfleet_airflow.tools.cli.workspace import (
    Workspace,
    open_workspace,
)


def _orphan_sections(configuration: Configuration, registry: ShipRegistry) -> list[str]:
    """Sections that no discovered ship reads (often a typo in a ship name, or a ship that failed to import)."""
    known = {STARFLEET_SECTION, configuration.starfleet.get("account_index", "StarfleetDefaultAccountIndex")}
    return [
        f"{configuration.section_files[name]}: {name}: section names no known ship; ignored"
        for name in configuration.raw
        if name not in known and name not in registry.discovered
    ]


def _dag_id_collisions(configuration: Configuration, registry: ShipRegistry) -> list[str]:
    """Configured ships (enabled or not) whose names map to one DAG id."""
    configured = [name for name in registry.discovered if name in configuration.raw]
    return [
        f"{configuration.section_files.get(name, '<configuration>')}: {name}: {collision_message(dag_id, names)}"
        for dag_id, names in dag_id_collisions(configured).items()
        for name in names
    ]


def _validate_templates(workspace: Workspace, ship: LoadedShip, errors: list[str]) -> int:
    """Append every template problem of one ship; return how many templates it has."""
    try:
        templates = workspace.store().load_all(ship.configuration["template_prefix"])
    except TemplateError as exc:
        errors.append(f"{ship.source_file}: {ship.name}.TemplatePrefix: {exc}")
        return 0
    if not templates:
        warn(
            f"{ship.name}: no templates under {workspace.configuration.template_location} with prefix "
            f"{ship.configuration['template_prefix']!r}"
        )
    for template in templates:
        if template.raw is None:
            errors.append(f"{template.location}: {template.error}")
            continue
        _, problems = validate_template(ship.ship_class, template.raw)
        errors.extend(f"{template.location}: {problem}" for problem in problems)
    return len(templates)


def _executors(args: argparse.Namespace) -> list[str]:
    """``--executor``, else the executors of this Airflow's configuration."""
    if getattr(args, "executor", None):
        return executor_names(args.executor)
    from starfleet_airflow.airflow.executors import configured_executors

    return configured_executors()


def _dags_folder() -> Path | None:
    """Airflow's DAGs folder (templates inside it travel with the DAGs to every worker)."""
    from starfleet_airflow.airflow.executors import configured_dags_folder

    return configured_dags_folder()


def _review_problems(registry: ShipRegistry) -> list[str]:
    """Ships asking for reviewed mode where this Airflow has no human-in-the-loop operators (e.g. 3.0)."""
    reviewed = [ship for _, ship in sorted(registry.ships.items()) if ship.airflow_options.get("review")]
    if not reviewed:
        return []  # the operators' import is only paid for when a ship wants them
    from starfleet_airflow.airflow.review.availability import review_unavailable

    why = review_unavailable()
    return [f"{ship.source_file}: {ship.name}.Airflow.Review: {why}" for ship in reviewed] if why else []


def cmd_validate(args: argparse.Namespace) -> int:
    workspace = open_workspace(args)
    configuration, registry = workspace.configuration, workspace.registry
    errors = [str(p) for p in configuration.errors] + [str(p) for p in registry.errors]
    if configuration.account_index_plugin:
        try:
            find_index_plugin(configuration.account_index_plugin)
        except AccountIndexPluginError as exc:
            errors.append(f"{configuration.section_files.get(STARFLEET_SECTION)}: {exc}")
    errors += _dag_id_collisions(configuration, registry)
    errors += [str(p) for p in configuration.warnings] + [str(p) for p in registry.warnings]
    if not configuration.errors:
        executors = ship_executors(_executors(args), {n: s.airflow_options for n, s in registry.ships.items()})
        errors += [str(p) for p in local_location_problems(configuration, executors, _dags_folder())]
    errors += _review_problems(registry)
    counts: dict[str, int] = {}
    if configuration.template_location is not None:
        for name, ship in sorted(registry.ships.items()):
            counts[name] = _validate_templates(workspace, ship, errors)
    for warning in _orphan_sections(configuration, registry):
        warn(warning)
    for notice in registry.notices:
        warn(str(notice))
    if errors:
        print_errors(errors)
        print(f"{plural(len(errors), 'problem')} found", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"Configuration OK: {configuration.config_dir} ({plural(len(configuration.files), 'file')})")
    for name, ship in sorted(registry.ships.items()):
        delivery = ship.airflow_options["delivery_mode"].value
        reviewed = ", reviewed" if ship.airflow_options.get("review") else ""
        print(
            f"  {name}: {ship.fan_out_strategy.value}, delivery {delivery}{reviewed},"
            f" {plural(counts.get(name, 0), 'template')}"
        )
    if registry.disabled:
        print(f"Disabled: {', '.join(sorted(registry.disabled))}")
    if registry.unconfigured:
        print(f"Not configured: {', '.join(sorted(registry.unconfigured))}")
    return EXIT_OK
