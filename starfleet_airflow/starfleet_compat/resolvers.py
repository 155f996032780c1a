"""``starfleet.account_index.resolvers``: Starfleet's resolvers over ``ACCOUNT_INDEX.index``.

They take *loaded* templates (snake_case keys, as a payload schema returns them) and return sets of account
ids, with Starfleet's signatures and composition (include minus exclude; the organisation roots left out unless
``operate_in_org_root``; ``ScopeToRegions`` from the configuration). Each lookup is the index's, so with this
project's index the answers carry its semantics (see the README's "Differences from Starfleet").
"""

from __future__ import annotations

from typing import Any

from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.loader import ACCOUNT_INDEX


def resolve_account_specification(account_spec: dict[str, Any]) -> set[str]:
    """Accounts matched by any selector of an ``AccountsSpecificationSchema`` block (ids, names, OUs, tags)."""
    index = ACCOUNT_INDEX.index
    found = set(index.get_accounts_by_ids(set(account_spec.get("by_ids") or ())))
    found |= index.get_accounts_by_aliases(set(account_spec.get("by_names") or ()))
    for org_unit in set(account_spec.get("by_org_units") or ()):
        found |= index.get_accounts_by_ou(org_unit)
    for tag in account_spec.get("by_tags") or ():
        found |= index.get_accounts_by_tag(tag["name"], tag["value"])
    return found


def resolve_include_account_specification(include_account_spec: dict[str, Any]) -> set[str]:
    """``IncludeAccounts``: every account of the index with ``all_accounts``, else the selectors' accounts."""
    if include_account_spec.get("all_accounts"):
        return set(ACCOUNT_INDEX.index.get_all_accounts())
    return resolve_account_specification(include_account_spec)


def resolve_include_exclude(loaded_template: dict[str, Any]) -> set[str]:
    """Included minus excluded accounts (an empty ``exclude_accounts`` excludes nothing)."""
    accounts = resolve_include_account_specification(loaded_template["include_accounts"])
    exclude = loaded_template.get("exclude_accounts")
    if exclude:
        accounts -= resolve_account_specification(exclude)
    return accounts


def resolve_worker_template_accounts(loaded_template: dict[str, Any]) -> set[str]:
    """The template's accounts; the organisation roots only with ``operate_in_org_root``."""
    accounts = resolve_include_exclude(loaded_template)
    if not loaded_template.get("operate_in_org_root"):
        accounts -= set(ACCOUNT_INDEX.index.get_org_roots())
    return accounts


def resolve_worker_template_account_regions(
    loaded_template: dict[str, Any], org_root_check: bool = True
) -> dict[str, set[str]]:
    """Every resolved account -> the wanted regions enabled for it (possibly none: the account is still a key).

    ``org_root_check=False`` skips the organisation-root rule (for blocks without ``OperateInOrgRoot``, such
    as AWS Config's override blocks).
    """
    accounts = (
        resolve_worker_template_accounts(loaded_template)
        if org_root_check
        else resolve_include_exclude(loaded_template)
    )
    regions = set(loaded_template["include_regions"]) - set(loaded_template.get("exclude_regions") or ())
    scope = (STARFLEET_CONFIGURATION.config.get("STARFLEET") or {}).get("ScopeToRegions") or []
    if scope:
        regions &= set(scope)
    result: dict[str, set[str]] = {account_id: set() for account_id in accounts}
    for region, members in ACCOUNT_INDEX.index.get_accounts_by_regions(regions).items():
        for account_id in set(members) & accounts:
            result[account_id].add(region)
    return result


__all__ = [
    "resolve_account_specification",
    "resolve_include_account_specification",
    "resolve_include_exclude",
    "resolve_worker_template_account_regions",
    "resolve_worker_template_accounts",
]
