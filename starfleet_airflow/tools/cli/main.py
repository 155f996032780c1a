"""The ``starfleet-airflow`` entry point: the argument parser and the dispatch to each command.

Help is formatted by rich-argparse (an Airflow dependency; plain text when piped). Every failure a user
can cause leaves as one line on stderr with exit code 1; a reader that closes the pipe early
(``| head``) ends the command quietly with 141, as it would a shell tool.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich_argparse import RichHelpFormatter

from starfleet_airflow.tools.cli.one_target import cmd_render, cmd_run
from starfleet_airflow.tools.cli.output import (
    EXIT_BROKEN_PIPE,
    EXIT_PROBLEMS,
    CliError,
    aws_hint,
    aws_problem,
    configure_logging,
    print_errors,
)
from starfleet_airflow.tools.cli.plan import cmd_plan
from starfleet_airflow.tools.cli.starfleet_cli import cmd_starfleet
from starfleet_airflow.tools.cli.targets import cmd_targets
from starfleet_airflow.tools.cli.validate import cmd_validate

EPILOG = (
    "Results go to stdout, problems to stderr (one per line): `plan SHIP --format json | jq` works."
    " On the embedded default, `run` reaches AWS: start the demo's stand-in first"
    " (`scripts/demo.sh --serve --skip-runs`, then `source .starfleet/demo-env.sh`)."
)


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


def _format_option(parser: argparse.ArgumentParser, default: str, what: str) -> None:
    parser.add_argument(
        "--format",
        choices=["table", "json"],
        default=default,
        help=f"table: {what} for reading; json: the same as JSON for jq and scripts (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="starfleet-airflow",
        description="Check, preview and run Starfleet worker ships outside Airflow.",
        epilog=EPILOG,
        formatter_class=RichHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures (for bug reports)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    workspace = _workspace_options()

    def command(name: str, help_text: str, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, parents=list(parents), help=help_text, description=help_text, formatter_class=RichHelpFormatter
        )

    validate = command("validate", "check configuration, ships and templates", [workspace])
    validate.add_argument(
        "--executor",
        help="Airflow executor(s) the DAGs will run under, as in [core] executor (e.g. CeleryExecutor for MWAA);"
        " default: this Airflow's configuration ($AIRFLOW__CORE__EXECUTOR)",
    )
    validate.set_defaults(handler=cmd_validate)

    targets = command("targets", "targets of one template file against one account index file")
    targets.add_argument("--index", required=True, help="account index JSON (a file or s3://bucket/key)")
    targets.add_argument("--template", required=True, help="payload template YAML (a file or s3://bucket/key)")
    targets.add_argument("--strategy", required=True, choices=["ACCOUNT", "ACCOUNT_REGION"], help="fan-out strategy")
    targets.add_argument("--scope-to-regions", help="comma-separated regions to stay within (ACCOUNT_REGION)")
    targets.add_argument("--include-inactive", action="store_true", help="keep accounts that are not ACTIVE")
    _format_option(targets, "json", "one row per target")
    targets.set_defaults(handler=cmd_targets)

    plan = command("plan", "every template of a ship with its targets", [workspace])
    plan.add_argument("ship", help="ship name")
    _format_option(plan, "table", "each template and its targets")
    plan.set_defaults(handler=cmd_plan)

    render = command("render", "the exact SQS message body for one target", [workspace, _target_options()])
    render.set_defaults(handler=cmd_render)

    run = command("run", "run a ship locally for one target (dry run unless --commit)", [workspace, _target_options()])
    run.add_argument("--commit", action="store_true", help="make changes (default: dry run)")
    run.set_defaults(handler=cmd_run)

    starfleet = command("starfleet", "Starfleet ships' own click commands (their CLICK_CLI_GROUPS)", [workspace])
    starfleet.add_argument(
        "click_args", nargs=argparse.REMAINDER, help="GROUP COMMAND [OPTIONS], as for Starfleet's CLI"
    )
    starfleet.set_defaults(handler=cmd_starfleet)
    return parser


def _quiet_broken_pipe() -> int:
    """The reader went away (``| head``): stop writing, without a traceback at interpreter exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code (0 OK, 1 problems, 2 usage, 141 output pipe closed)."""
    from botocore.exceptions import BotoCoreError, ClientError

    args = build_parser().parse_args(argv)
    # A dry run's value is what the ship logs it would change: show INFO for ``run``, warnings elsewhere.
    configure_logging(logging.INFO if args.command in ("run", "starfleet") else logging.WARNING, debug=args.debug)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # inside the try: a closed pipe shows up here at the latest
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except CliError as exc:
        hint = aws_hint("\n".join(exc.lines))  # e.g. an S3 location unreadable for want of credentials
        print_errors([*exc.lines[:-1], exc.lines[-1] + f" -- {hint}"] if hint and exc.lines else exc.lines)
    except (BotoCoreError, ClientError) as exc:
        if args.debug:
            raise
        print_errors([aws_problem(exc)])
    return EXIT_PROBLEMS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
