"""``targets``: one template file against one index file, the contract in DESIGN.md (no ship needed)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from marshmallow import ValidationError

from starfleet_airflow.aws.locations import Location, LocationError, parse_location, read_bytes
from starfleet_airflow.core.account_index import AccountIndex, AccountIndexError
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.resolve import resolve_targets, unmatched_selectors
from starfleet_airflow.core.schemas import (
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    check_regions,
    flatten_errors,
)
from starfleet_airflow.core.templates import (
    parse_template_bytes,
)
from starfleet_airflow.core.text import plural
from starfleet_airflow.tools.cli.output import EXIT_OK, CliError, table, targets_json, warn
from starfleet_airflow.tools.cli.workspace import s3_client

# ``targets`` validates a template with the base schema of the strategy: it knows no ship.
BASE_PAYLOAD_SCHEMAS = {
    FanOutStrategy.ACCOUNT: BaseAccountPayloadTemplate,
    FanOutStrategy.ACCOUNT_REGION: BaseAccountRegionPayloadTemplate,
}


def _read_location(text: str, what: str) -> tuple[Location, bytes]:
    try:
        location = parse_location(text, Path.cwd())
        return location, read_bytes(location, s3_client() if location.is_s3 else None)
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
        warn(note)
    targets = resolve_targets(payload, index, strategy, scope)
    if args.format == "json":
        print(json.dumps(targets_json(targets)))
    else:
        rows = [(t.account_id, index.name_of(t.account_id), t.region) for t in targets if t.account_id]
        print(table(["ACCOUNT ID", "ACCOUNT NAME", "REGION"], rows))
        print(plural(len(targets), "target"))
    return EXIT_OK
