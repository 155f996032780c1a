"""From a validated payload template to the exact list of targets (Starfleet's semantics).

The result is sorted, so the same template and index snapshot always give the same list: work units
are slices of it. The cost is one set operation per selector plus one pass over the selected accounts:
the result is a ``TargetList`` (each account once, with a region tuple shared by every account that has
the same enabled regions), so no per-target object is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.gc_pause import collector_paused
from starfleet_airflow.core.targets import NO_REGION, Regions, Target, TargetList

__all__ = ["Target", "TargetList", "resolve_accounts", "resolve_targets", "unmatched_selectors", "wanted_regions"]


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
) -> TargetList:
    """Every target of the template, sorted by (account id, region).

    ACCOUNT_REGION pairs exist only where the region is enabled for the account in the index. Accounts
    that share one enabled-region set share one computed region tuple (most of an organisation does).
    """
    if strategy is FanOutStrategy.SINGLE_INVOCATION:
        return TargetList([None], [NO_REGION])
    with collector_paused():  # big sets and lists of strings, no cycles: a collection would scan the heap
        return _resolve(payload, index, strategy, scope_to_regions)


def _resolve(
    payload: dict[str, Any], index: AccountIndex, strategy: FanOutStrategy, scope_to_regions: Iterable[str]
) -> TargetList:
    selected = resolve_accounts(payload, index)
    accounts = [a for a in index.sorted_ids() if a in selected]
    if strategy is FanOutStrategy.ACCOUNT:
        return TargetList(accounts, [NO_REGION] * len(accounts))
    regions = wanted_regions(payload, scope_to_regions)
    kept_accounts: list[str | None] = []
    kept_regions: list[Regions] = []
    of_enabled: dict[frozenset[str], Regions] = {}
    regions_of = index.regions_of
    for account_id in accounts:
        enabled = regions_of(account_id)
        mine = of_enabled.get(enabled)
        if mine is None:
            mine = of_enabled[enabled] = tuple(region for region in regions if region in enabled)
        if mine:
            kept_accounts.append(account_id)
            kept_regions.append(mine)
    return TargetList(kept_accounts, kept_regions)


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
