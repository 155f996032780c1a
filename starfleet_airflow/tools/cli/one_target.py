"""``render`` and ``run``: one ship, one template, one target, chosen and checked the same way."""

from __future__ import annotations

import argparse
import difflib
import json
import logging
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.resolve import Target, resolve_targets
from starfleet_airflow.core.schemas import (
    ACCOUNT_ID_PATTERN,
    check_regions,
)
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.core.templates import (
    LoadedTemplate,
)
from starfleet_airflow.tools.cli.output import EXIT_OK, EXIT_PROBLEMS, CliError, aws_hint, print_errors
from starfleet_airflow.tools.cli.workspace import (
    Workspace,
    one_template,
    open_workspace,
    require_ship,
    validated_payload,
)


def _account_id(text: str, index: AccountIndex | None) -> str:
    """An account id, or a name looked up (case-insensitively) in the index."""
    if ACCOUNT_ID_PATTERN.match(text):
        return text
    if index is None:
        raise CliError(f"--account {text!r}: expected a 12-digit account id (names need the account index)")
    found = sorted(index.by_names([text]))
    if len(found) > 1:
        raise CliError(f"--account {text!r}: several accounts of that name ({', '.join(found)}); give the account id")
    if not found:
        names = sorted({account.name for account in index.accounts.values()})
        close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
        suggestion = f"did you mean {', '.join(close)}?" if close else f"names look like {names[0]!r}" if names else ""
        raise CliError(
            f"--account {text!r}: no account of that name in the account index {index.source}; {suggestion}"
            " (`starfleet-airflow plan SHIP` lists each target's id and name)"
        )
    return found[0]


def _target(
    args: argparse.Namespace, workspace: Workspace, ship: LoadedShip, payload: dict[str, Any]
) -> tuple[str | None, str | None]:
    """The (account, region) of the command line, checked against the ship's strategy and the template."""
    strategy = ship.fan_out_strategy
    if strategy is FanOutStrategy.SINGLE_INVOCATION:
        if args.account or args.region:
            raise CliError(f"{ship.name} is a SINGLE_INVOCATION ship: it takes no --account or --region")
        return None, None
    if not args.account:
        raise CliError(f"{ship.name} is an {strategy.value} ship: --account is required")
    if strategy is FanOutStrategy.ACCOUNT_REGION and not args.region:
        raise CliError(f"{ship.name} is an ACCOUNT_REGION ship: --region is required")
    if strategy is FanOutStrategy.ACCOUNT and args.region:
        raise CliError(f"{ship.name} is an ACCOUNT ship: it takes no --region")
    if args.region and check_regions([args.region]):
        raise CliError(f"--region: {check_regions([args.region])[0]}")
    index = None if args.any_target else workspace.index([payload])
    account = _account_id(args.account, index)
    if index is not None:
        scope = workspace.configuration.starfleet.get("scope_to_regions") or []
        if Target(account, args.region) not in resolve_targets(payload, index, strategy, scope):
            where = f"{account}/{args.region}" if args.region else account
            raise CliError(
                f"{where} is not a target of this template (per the account index {index.source});"
                " use --any-target to run it anyway"
            )
    return account, args.region


def _chosen_target(args: argparse.Namespace) -> tuple[Workspace, LoadedShip, LoadedTemplate, str | None, str | None]:
    """What ``render`` and ``run`` act on: the ship, its validated template and the one target of the command line."""
    workspace = open_workspace(args)
    ship = require_ship(workspace, args.ship)
    template = one_template(workspace, ship, args.template)
    payload = validated_payload(ship, template)
    account, region = _target(args, workspace, ship, payload)
    return workspace, ship, template, account, region


def cmd_render(args: argparse.Namespace) -> int:
    from starfleet_airflow.core.render import RenderError, render_body

    _, _, template, account, region = _chosen_target(args)
    try:
        print(render_body(template.raw or {}, account, region))
    except RenderError as exc:
        raise CliError(f"{template.location}: {exc}") from exc
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    import boto3

    from starfleet_airflow.core.runner import run_ship_for_target
    from starfleet_airflow.tools.cli.starfleet_env import starfleet_cli_environment

    workspace, ship, template, account, region = _chosen_target(args)
    if not args.debug:  # the outcome's last line below says the same, with what to do about it
        logging.getLogger("starfleet_airflow.core.runner").addFilter(lambda record: not record.exc_info)
    with starfleet_cli_environment(workspace):  # Starfleet ships read their configuration, index, log level
        outcome = run_ship_for_target(
            ship,
            template.raw or {},
            account,
            region,
            commit=args.commit,
            run_context=RunContext(extra={"invoked_by": "starfleet-airflow run"}),
            aws_session=boto3.Session(),
            template=template.key,
        )
    print(json.dumps(outcome.to_dict(), indent=2, default=str))
    if not outcome.ok:
        hint = aws_hint(str(outcome.error))
        print_errors([f"{outcome.status}: {outcome.error}" + (f" -- {hint}" if hint else "")])
        return EXIT_PROBLEMS
    return EXIT_OK
