"""``starfleet-airflow``: check, preview and run ships without Airflow.

- ``validate``: the configuration, every ship and every template of every enabled ship; all problems
  at once, one ``file: key: message`` line each, exit 1 when there is any.
- ``targets``: the targets of one template file against one index file (the contract in DESIGN.md).
- ``plan SHIP``: every template of a ship with its targets.
- ``render SHIP``: the exact SQS message body a worker would receive for one target.
- ``run SHIP``: run the ship locally for one target (dry run unless ``--commit``).

Results go to stdout, problems to stderr (one per line), so output pipes cleanly into ``jq``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from starfleet_airflow.account_index import AccountIndex, AccountIndexError, load_account_index
from starfleet_airflow.config import STARFLEET_SECTION, Configuration, load_configuration
from starfleet_airflow.locations import Location, LocationError, parse_location, read_bytes
from starfleet_airflow.registry import LoadedShip, ShipRegistry, load_ships
from starfleet_airflow.resolve import Target, resolve_targets, unmatched_selectors
from starfleet_airflow.schemas import (
    ACCOUNT_ID_PATTERN,
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    check_regions,
    flatten_errors,
)
from starfleet_airflow.ship import FanOutStrategy, RunContext
from starfleet_airflow.templates import (
    LoadedTemplate,
    TemplateError,
    TemplateStore,
    load_template_file,
    parse_template_bytes,
    select_templates,
    validate_template,
)

EXIT_OK = 0
# ``targets`` validates a template with the base schema of the strategy: it knows no ship.
BASE_PAYLOAD_SCHEMAS = {
    FanOutStrategy.ACCOUNT: BaseAccountPayloadTemplate,
    FanOutStrategy.ACCOUNT_REGION: BaseAccountRegionPayloadTemplate,
}
EXIT_PROBLEMS = 1


class CliError(Exception):
    """Stops a command; every line is printed to stderr and the exit code is 1."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


def _print_errors(lines: Sequence[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells)


def _s3_client(region: str | None = None) -> Any:
    """A boto3 S3 client from the default credential chain; created only when a location is in S3."""
    import boto3

    return boto3.client("s3", region_name=region) if region else boto3.client("s3")


def _targets_json(targets: Sequence[Target], index: AccountIndex | None = None) -> list[dict[str, Any]]:
    rows = []
    for target in targets:
        row: dict[str, Any] = {"account_id": target.account_id, "region": target.region}
        if index is not None and target.account_id is not None:
            row["account_name"] = index.name_of(target.account_id)
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------------
# Loading shared by the ship commands
# --------------------------------------------------------------------------------------------------


@dataclass
class Workspace:
    """Configuration, ships and the template store, loaded once per command."""

    configuration: Configuration
    registry: ShipRegistry
    _s3: Any = None

    @property
    def s3_client(self) -> Any:
        if self._s3 is None:
            self._s3 = _s3_client(self.configuration.starfleet.get("deployment_region"))
        return self._s3

    def store(self) -> TemplateStore:
        root = self.configuration.template_location
        assert root is not None  # guaranteed once the configuration has no errors
        return TemplateStore(root, self.s3_client if root.is_s3 else None)

    def index(self) -> AccountIndex:
        location = self.configuration.account_index_location
        assert location is not None
        include_inactive = bool(self.configuration.starfleet.get("include_inactive_accounts"))
        try:
            return load_account_index(
                location, s3_client=self.s3_client if location.is_s3 else None, include_inactive=include_inactive
            )
        except AccountIndexError as exc:
            raise CliError(*str(exc).splitlines()) from exc


def _workspace(args: argparse.Namespace) -> Workspace:
    configuration = load_configuration(args.config_dir)
    registry = load_ships(configuration, args.ships_dir, use_entry_points=not args.no_entry_points)
    return Workspace(configuration, registry)


def _ship(workspace: Workspace, name: str) -> LoadedShip:
    """The loaded ship, or a CliError saying why not.

    Configuration problems that leave the template store and the index reachable (a broken file
    holding other sections, say) are warnings here: ``validate`` is the command that fails on them.
    """
    configuration = workspace.configuration
    if configuration.template_location is None or configuration.account_index_location is None:
        raise CliError(*(str(p) for p in configuration.errors))
    for problem in configuration.errors:
        _warn(str(problem))
    ship = workspace.registry.get(name)
    if ship is None:
        raise CliError(*workspace.registry.why_not_loaded(name).splitlines())
    return ship


def _templates(workspace: Workspace, ship: LoadedShip) -> list[LoadedTemplate]:
    try:
        return workspace.store().load_all(ship.configuration["template_prefix"])
    except TemplateError as exc:
        raise CliError(f"{ship.source_file}: {ship.name}.TemplatePrefix: {exc}") from exc


def _one_template(workspace: Workspace, ship: LoadedShip, selector: str) -> LoadedTemplate:
    """The ship's template named by ``selector`` (key, file name or TemplateName), else a file path."""
    prefix = ship.configuration["template_prefix"]
    chosen, _ = select_templates(_templates(workspace, ship), [selector], prefix)
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


def _validated(ship: LoadedShip, template: LoadedTemplate) -> dict[str, Any]:
    if template.raw is None:
        raise CliError(f"{template.location}: {template.error}")
    payload, errors = validate_template(ship.ship_class, template.raw)
    if payload is None:
        raise CliError(*(f"{template.location}: {e}" for e in errors))
    return payload


# --------------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------------


def _orphan_sections(configuration: Configuration, registry: ShipRegistry) -> list[str]:
    """Sections that no discovered ship reads (often a typo in a ship name, or a ship that failed to import)."""
    known = {STARFLEET_SECTION, configuration.starfleet.get("account_index", "StarfleetDefaultAccountIndex")}
    return [
        f"{configuration.section_files[name]}: {name}: section names no known ship; ignored"
        for name in configuration.raw
        if name not in known and name not in registry.discovered
    ]


def _validate_templates(workspace: Workspace, ship: LoadedShip, errors: list[str]) -> int:
    """Append every template problem of one ship; return how many templates it has."""
    try:
        templates = workspace.store().load_all(ship.configuration["template_prefix"])
    except TemplateError as exc:
        errors.append(f"{ship.source_file}: {ship.name}.TemplatePrefix: {exc}")
        return 0
    if not templates:
        _warn(
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


def cmd_validate(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    configuration, registry = workspace.configuration, workspace.registry
    errors = [str(p) for p in configuration.errors] + [str(p) for p in registry.errors]
    counts: dict[str, int] = {}
    if configuration.template_location is not None:
        for name, ship in sorted(registry.ships.items()):
            counts[name] = _validate_templates(workspace, ship, errors)
    for warning in _orphan_sections(configuration, registry):
        _warn(warning)
    if errors:
        _print_errors(errors)
        print(f"{len(errors)} problem(s) found", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"Configuration OK: {configuration.config_dir} ({len(configuration.files)} file(s))")
    for name, ship in sorted(registry.ships.items()):
        delivery = ship.airflow_options["delivery_mode"].value
        print(f"  {name}: {ship.fan_out_strategy.value}, delivery {delivery}, {counts.get(name, 0)} template(s)")
    if registry.disabled:
        print(f"Disabled: {', '.join(sorted(registry.disabled))}")
    if registry.unconfigured:
        print(f"Not configured: {', '.join(sorted(registry.unconfigured))}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# targets (the contract in DESIGN.md)
# --------------------------------------------------------------------------------------------------


def _read_location(text: str, what: str) -> tuple[Location, bytes]:
    try:
        location = parse_location(text, Path.cwd())
        return location, read_bytes(location, _s3_client() if location.is_s3 else None)
    except LocationError as exc:
        raise CliError(f"{what} {exc}") from exc


def _scope(text: str | None) -> list[str]:
    regions = [r.strip() for r in (text or "").split(",") if r.strip()]
    problems = check_regions(regions)
    if problems:
        raise CliError(*(f"--scope-to-regions: {p}" for p in problems))
    return regions


def cmd_targets(args: argparse.Namespace) -> int:
    strategy = FanOutStrategy(args.strategy)
    scope = _scope(args.scope_to_regions)
    template_location, template_bytes = _read_location(args.template, "template")
    raw, error = parse_template_bytes(template_bytes)
    if raw is None:
        raise CliError(f"{template_location}: {error}")
    schema = (
        BaseAccountRegionPayloadTemplate if strategy is FanOutStrategy.ACCOUNT_REGION else BaseAccountPayloadTemplate
    )
    try:
        payload = schema().load(raw)
    except ValidationError as exc:
        raise CliError(*(f"{template_location}: {line}" for line in flatten_errors(exc.messages))) from exc
    index_location, index_bytes = _read_location(args.index, "account index")
    try:
        index = AccountIndex.from_bytes(index_bytes, source=str(index_location), include_inactive=args.include_inactive)
    except AccountIndexError as exc:
        raise CliError(*str(exc).splitlines()) from exc
    for note in unmatched_selectors(payload, index):
        _warn(note)
    targets = resolve_targets(payload, index, strategy, scope)
    if args.format == "json":
        print(json.dumps(_targets_json(targets)))
    else:
        rows = [(t.account_id, index.name_of(t.account_id), t.region) for t in targets if t.account_id]
        print(_table(["ACCOUNT ID", "ACCOUNT NAME", "REGION"], rows))
        print(f"{len(targets)} target(s)")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# plan
# --------------------------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    ship = _ship(workspace, args.ship)
    templates = _templates(workspace, ship)
    index = workspace.index()
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
                entry["targets"] = _targets_json(targets, index)
                if ship.fan_out_strategy is not FanOutStrategy.SINGLE_INVOCATION:
                    for note in unmatched_selectors(payload, index):
                        _warn(f"{template.location}: {note}")
        errors.extend(f"{template.location}: {e}" for e in entry["errors"])
        entries.append(entry)
    if args.format == "json":
        print(json.dumps(entries, indent=2))
    else:
        _print_plan_table(ship, entries)
    if not templates:
        _warn(f"{ship.name}: no templates with prefix {ship.configuration['template_prefix']!r}")
    _print_errors(errors)
    return EXIT_PROBLEMS if errors else EXIT_OK


def _print_plan_table(ship: LoadedShip, entries: list[dict[str, Any]]) -> None:
    total = sum(len(e["targets"]) for e in entries)
    print(f"{ship.name} ({ship.fan_out_strategy.value}): {len(entries)} template(s), {total} target(s)")
    for entry in entries:
        status = "INVALID" if entry["errors"] else f"{len(entry['targets'])} target(s)"
        print(f"\n{entry['template']} ({entry['template_name'] or 'no TemplateName'}): {status}")
        if entry["targets"] and ship.fan_out_strategy is not FanOutStrategy.SINGLE_INVOCATION:
            rows = [(t["account_id"], t.get("account_name"), t["region"]) for t in entry["targets"]]
            print(_table(["ACCOUNT ID", "ACCOUNT NAME", "REGION"], rows))


# --------------------------------------------------------------------------------------------------
# render / run: one target
# --------------------------------------------------------------------------------------------------


def _account_id(text: str, index: AccountIndex | None) -> str:
    """An account id, or a name looked up (case-insensitively) in the index."""
    if ACCOUNT_ID_PATTERN.match(text):
        return text
    if index is None:
        raise CliError(f"--account {text!r}: expected a 12-digit account id (names need the account index)")
    found = sorted(index.by_names([text]))
    if len(found) != 1:
        detail = "no account" if not found else f"several accounts ({', '.join(found)})"
        raise CliError(f"--account {text!r}: {detail} of that name in the account index")
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
    index = None if args.any_target else workspace.index()
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
    workspace = _workspace(args)
    ship = _ship(workspace, args.ship)
    template = _one_template(workspace, ship, args.template)
    payload = _validated(ship, template)
    account, region = _target(args, workspace, ship, payload)
    return workspace, ship, template, account, region


def cmd_render(args: argparse.Namespace) -> int:
    from starfleet_airflow.render import RenderError, render_body

    _, _, template, account, region = _chosen_target(args)
    try:
        print(render_body(template.raw or {}, account, region))
    except RenderError as exc:
        raise CliError(f"{template.location}: {exc}") from exc
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    import boto3

    from starfleet_airflow.config import STARFLEET_CONFIGURATION
    from starfleet_airflow.runner import run_ship_for_target

    workspace, ship, template, account, region = _chosen_target(args)
    with STARFLEET_CONFIGURATION.serving(workspace.configuration):  # ported Starfleet ships read it
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
        _print_errors([f"{outcome.status}: {outcome.error}"])
        return EXIT_PROBLEMS
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# Argument parsing
# --------------------------------------------------------------------------------------------------


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code (0 OK, 1 problems, 2 usage)."""
    args = build_parser().parse_args(argv)
    # A dry run's value is what the ship logs it would change: show INFO for ``run``, warnings elsewhere.
    logging.basicConfig(
        level=logging.INFO if args.command == "run" else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except CliError as exc:
        _print_errors(exc.lines)
        return EXIT_PROBLEMS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
