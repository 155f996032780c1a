"""From a validated payload template to the exact list of targets (Starfleet's semantics).

The result is sorted, so the same template and index snapshot always give the same list: work units
are slices of it, and a retried task re-resolves and takes the same slice. The cost is one set
operation per selector plus one pass over accounts x wanted regions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.gc_pause import collector_paused


class Target(NamedTuple):
    """Where one unit of a ship's work happens; both None for SINGLE_INVOCATION."""

    account_id: str | None
    region: str | None


def _select(spec: dict[str, Any], index: AccountIndex) -> set[str]:
    """Accounts matched by any selector of an IncludeAccounts/ExcludeAccounts block."""
    if not spec:
        return set()
    if spec.get("all_accounts"):
        return index.all_ids()
    found = index.by_ids(spec.get("by_ids") or ())
    found |= index.by_names(spec.get("by_names") or ())
    for org_unit in spec.get("by_org_units") or ():
        found |= index.by_org_unit(org_unit)
    for tag in spec.get("by_tags") or ():
        found |= index.by_tag(tag["name"], tag["value"])
    return found


def resolve_accounts(payload: dict[str, Any], index: AccountIndex) -> set[str]:
    """Included minus excluded accounts; the organisation root only with ``OperateInOrgRoot``."""
    accounts = _select(payload["include_accounts"], index) - _select(payload.get("exclude_accounts") or {}, index)
    if not payload.get("operate_in_org_root"):
        accounts -= index.org_root_ids()
    return accounts


def wanted_regions(payload: dict[str, Any], scope_to_regions: Iterable[str] = ()) -> list[str]:
    """IncludeRegions (``ALL`` already expanded) minus ExcludeRegions, within ``ScopeToRegions``."""
    regions = set(payload["include_regions"]) - set(payload.get("exclude_regions") or ())
    scope = set(scope_to_regions)
    if scope:
        regions &= scope
    return sorted(regions)


def resolve_targets(
    payload: dict[str, Any],
    index: AccountIndex,
    strategy: FanOutStrategy,
    scope_to_regions: Iterable[str] = (),
) -> list[Target]:
    """Every target of the template, sorted by (account id, region).

    ACCOUNT_REGION pairs exist only where the region is enabled for the account in the index.
    """
    if strategy is FanOutStrategy.SINGLE_INVOCATION:
        return [Target(None, None)]
    accounts = sorted(resolve_accounts(payload, index))
    if strategy is FanOutStrategy.ACCOUNT:
        return [Target(account_id, None) for account_id in accounts]
    regions = wanted_regions(payload, scope_to_regions)
    targets: list[Target] = []
    append = targets.append
    with collector_paused():  # tuples of strings: no cycles, yet each burst scanned the heap
        for account_id in accounts:
            enabled = index.regions_of(account_id)
            for region in regions:
                if region in enabled:
                    append(Target(account_id, region))
    return targets


def unmatched_selectors(payload: dict[str, Any], index: AccountIndex) -> list[str]:
    """Selectors of IncludeAccounts that match no account: worth a warning, often a typo."""
    spec = payload["include_accounts"]
    notes: list[str] = []
    missing_ids = sorted(set(spec.get("by_ids") or ()) - index.all_ids())
    if missing_ids:
        notes.append(f"IncludeAccounts.ByIds not in the account index: {', '.join(missing_ids)}")
    notes.extend(
        f"IncludeAccounts.ByNames {name!r} matches no account"
        for name in spec.get("by_names") or ()
        if not index.by_names([name])
    )
    notes.extend(
        f"IncludeAccounts.ByOrgUnits {ou!r} matches no account"
        for ou in spec.get("by_org_units") or ()
        if not index.by_org_unit(ou)
    )
    notes.extend(
        f"IncludeAccounts.ByTags {tag['name']}={tag['value']} matches no account"
        for tag in spec.get("by_tags") or ()
        if not index.by_tag(tag["name"], tag["value"])
    )
    return notes
