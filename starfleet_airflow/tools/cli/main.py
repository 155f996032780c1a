"""The ``starfleet-airflow`` entry point: the argument parser and the dispatch to each command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from starfleet_airflow.tools.cli.one_target import cmd_render, cmd_run
from starfleet_airflow.tools.cli.output import EXIT_PROBLEMS, CliError, print_errors
from starfleet_airflow.tools.cli.plan import cmd_plan
from starfleet_airflow.tools.cli.starfleet_cli import cmd_starfleet
from starfleet_airflow.tools.cli.targets import cmd_targets
from starfleet_airflow.tools.cli.validate import cmd_validate


def _workspace_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config-dir",
        type=Path,
        default=None,
        help="configuration folder (default: $STARFLEET_CONFIG_DIR, else ./config)",
    )
    parent.add_argument(
        "--ships-dir", type=Path, default=None, help="folder of ship packages (default: $STARFLEET_SHIPS_DIR or ships/)"
    )
    parent.add_argument(
        "--no-entry-points", action="store_true", help="ignore ships registered in the starfleet_airflow.ships group"
    )
    return parent


def _target_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("ship", help="ship name (its class name and configuration section)")
    parent.add_argument("--template", required=True, help="template key, file name, TemplateName, or a file path")
    parent.add_argument("--account", help="account id (or name, looked up in the index); ACCOUNT* ships")
    parent.add_argument("--region", help="region; ACCOUNT_REGION ships")
    parent.add_argument(
        "--any-target", action="store_true", help="skip the check that the template selects this account/region"
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="starfleet-airflow", description="Check, preview and run Starfleet worker ships outside Airflow."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    workspace = _workspace_options()

    validate = commands.add_parser("validate", parents=[workspace], help="check configuration, ships and templates")
    validate.add_argument(
        "--executor",
        help="Airflow executor(s) the DAGs will run under, as in [core] executor (e.g. CeleryExecutor for MWAA);"
        " default: this Airflow's configuration ($AIRFLOW__CORE__EXECUTOR)",
    )
    validate.set_defaults(handler=cmd_validate)

    targets = commands.add_parser("targets", help="targets of one template file against one account index file")
    targets.add_argument("--index", required=True, help="account index JSON (a file or s3://bucket/key)")
    targets.add_argument("--template", required=True, help="payload template YAML (a file or s3://bucket/key)")
    targets.add_argument("--strategy", required=True, choices=["ACCOUNT", "ACCOUNT_REGION"])
    targets.add_argument("--scope-to-regions", help="comma-separated regions to stay within (ACCOUNT_REGION)")
    targets.add_argument("--include-inactive", action="store_true", help="keep accounts that are not ACTIVE")
    targets.add_argument("--format", choices=["json", "table"], default="json")
    targets.set_defaults(handler=cmd_targets)

    plan = commands.add_parser("plan", parents=[workspace], help="every template of a ship with its targets")
    plan.add_argument("ship", help="ship name")
    plan.add_argument("--format", choices=["table", "json"], default="table")
    plan.set_defaults(handler=cmd_plan)

    render = commands.add_parser(
        "render", parents=[workspace, _target_options()], help="the exact SQS message body for one target"
    )
    render.set_defaults(handler=cmd_render)

    run = commands.add_parser("run", parents=[workspace, _target_options()], help="run a ship locally for one target")
    run.add_argument("--commit", action="store_true", help="make changes (default: dry run)")
    run.set_defaults(handler=cmd_run)

    starfleet = commands.add_parser(
        "starfleet", parents=[workspace], help="Starfleet ships' own click commands (their CLICK_CLI_GROUPS)"
    )
    starfleet.add_argument(
        "click_args", nargs=argparse.REMAINDER, help="GROUP COMMAND [OPTIONS], as for Starfleet's CLI"
    )
    starfleet.set_defaults(handler=cmd_starfleet)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code (0 OK, 1 problems, 2 usage)."""
    args = build_parser().parse_args(argv)
    # A dry run's value is what the ship logs it would change: show INFO for ``run``, warnings elsewhere.
    logging.basicConfig(
        level=logging.INFO if args.command in ("run", "starfleet") else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except CliError as exc:
        print_errors(exc.lines)
        return EXIT_PROBLEMS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
