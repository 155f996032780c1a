"""``starfleet-airflow starfleet GROUP COMMAND ...``: Starfleet ships' own click commands, as Starfleet's CLI ran them.

Every ship package's ``CLICK_CLI_GROUPS`` (Starfleet's convention) is added under one click group, e.g.
``starfleet-airflow starfleet account-inventory generate --payload t.yaml --commit``. Starfleet's console
script is ``starfleet``; this one stays a subcommand so it cannot clash with another package's ``starfleet``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from marshmallow import ValidationError

from starfleet_airflow.core.registry import ShipRegistry
from starfleet_airflow.core.schemas.errors import flatten_errors
from starfleet_airflow.tools.cli.output import EXIT_PROBLEMS, print_errors, warn
from starfleet_airflow.tools.cli.starfleet_env import starfleet_cli_environment
from starfleet_airflow.tools.cli.workspace import open_workspace

CLI_GROUPS_ATTRIBUTE = "CLICK_CLI_GROUPS"
PROG = "starfleet-airflow starfleet"


def click_groups(registry: ShipRegistry) -> list[Any]:
    """The ``CLICK_CLI_GROUPS`` of every ship package found (configured or not, as in Starfleet)."""
    import click

    groups: dict[int, Any] = {}
    for discovered in sorted(registry.discovered.values(), key=lambda d: d.name):
        parts = discovered.ship_class.__module__.split(".")
        names = [discovered.origin] + [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
        for name in names:
            module = sys.modules.get(name)
            found = getattr(module, CLI_GROUPS_ATTRIBUTE, None) if module is not None else None
            if isinstance(found, (list, tuple)):
                for group in found:
                    if isinstance(group, click.Group):
                        groups.setdefault(id(group), group)
                break
    return list(groups.values())


def cmd_starfleet(args: argparse.Namespace) -> int:
    import click

    workspace = open_workspace(args)
    for problem in [*workspace.configuration.errors, *workspace.registry.errors]:
        warn(str(problem))
    root = click.Group(name=PROG, help="Starfleet ships' own commands (their CLICK_CLI_GROUPS).")
    for group in click_groups(workspace.registry):
        root.add_command(group)
    with starfleet_cli_environment(workspace):
        try:
            root.main(args=list(args.click_args), prog_name=PROG, standalone_mode=False)
        except click.exceptions.Exit as exc:
            return int(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            return int(exc.exit_code)
        except click.Abort:
            return EXIT_PROBLEMS
        except ValidationError as exc:  # the template, refused by the ship's payload schema
            print_errors([f"--payload: {line}" for line in flatten_errors(exc.messages)])
            return EXIT_PROBLEMS
    return 0
