"""``plan SHIP``: every template of a ship with its targets."""

from __future__ import annotations

import argparse
import json
from typing import Any

from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.resolve import resolve_targets, unmatched_selectors
from starfleet_airflow.core.templates import (
    validate_template,
)
from starfleet_airflow.core.text import plural
from starfleet_airflow.tools.cli.output import EXIT_OK, EXIT_PROBLEMS, print_errors, table, targets_json, warn
from starfleet_airflow.tools.cli.workspace import (
    open_workspace,
    require_ship,
    ship_templates,
)


def cmd_plan(args: argparse.Namespace) -> int:
    workspace = open_workspace(args)
    ship = require_ship(workspace, args.ship)
    templates = ship_templates(workspace, ship)
    index = workspace.index([t.raw for t in templates if t.raw])
    scope = workspace.configuration.starfleet.get("scope_to_regions") or []
    entries: list[dict[str, Any]] = []
    errors: list[str] = []
    for template in templates:
        entry: dict[str, Any] = {"template": template.key, "template_name": template.name, "targets": [], "errors": []}
        if template.raw is None:
            entry["errors"] = [str(template.error)]
        else:
            payload, problems = validate_template(ship.ship_class, template.raw)
            entry["errors"] = problems
            if payload is not None:
                targets = resolve_targets(payload, index, ship.fan_out_strategy, scope)
                entry["targets"] = targets_json(targets, index)
                if ship.fan_out_strategy is not FanOutStrategy.SINGLE_INVOCATION:
                    for note in unmatched_selectors(payload, index):
                        warn(f"{template.location}: {note}")
        errors.extend(f"{template.location}: {e}" for e in entry["errors"])
        entries.append(entry)
    if args.format == "json":
        print(json.dumps(entries, indent=2))
    else:
        _print_plan_table(ship, entries)
    if not templates:
        warn(f"{ship.name}: no templates with prefix {ship.configuration['template_prefix']!r}")
    print_errors(errors)
    return EXIT_PROBLEMS if errors else EXIT_OK


def _print_plan_table(ship: LoadedShip, entries: list[dict[str, Any]]) -> None:
    total = sum(len(e["targets"]) for e in entries)
    print(f"{ship.name} ({ship.fan_out_strategy.value}): {plural(len(entries), 'template')}, {plural(total, 'target')}")
    for entry in entries:
        status = "INVALID" if entry["errors"] else plural(len(entry["targets"]), "target")
        print(f"\n{entry['template']} ({entry['template_name'] or 'no TemplateName'}): {status}")
        if entry["targets"] and ship.fan_out_strategy is not FanOutStrategy.SINGLE_INVOCATION:
            rows = [(t["account_id"], t.get("account_name"), t["region"]) for t in entry["targets"]]
            print(table(["ACCOUNT ID", "ACCOUNT NAME", "REGION"], rows))
