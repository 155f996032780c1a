"""Which configuration applies to one account/region: the default, or the one override that matches.

A target may match one override at most; two matching overrides are a template error, never resolved by
order. The check runs twice:

* **when the template is loaded** (``certain_overlaps``), for what the template alone proves: overrides
  whose ``AllAccounts``/``ByIds`` selections share an account id (not removed by an ``ExcludeAccounts`` that
  could match it) in a region both include and the template targets;
* **at execute time** (``select_configuration``), for the assigned target, with the account index's
  semantics. ``AllAccounts`` and ``ByIds`` are matched literally against the assigned account id; ``ByNames``,
  ``ByOrgUnits`` and ``ByTags`` (in ``IncludeAccounts`` or ``ExcludeAccounts``) need the account index: the
  run's snapshot when the orchestrator passes one, else the configured index, as Starfleet's AWS Config
  worker does. An override never removes the organisation root: the template's own ``OperateInOrgRoot``
  decides that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starfleet_airflow import ALL_REGIONS, AccountIndex, supported_regions

#: Selectors that only the account index can evaluate.
INDEX_SELECTORS = ("by_names", "by_org_units", "by_tags")
_YAML_NAMES = {"by_names": "ByNames", "by_org_units": "ByOrgUnits", "by_tags": "ByTags"}

DEFAULT_SOURCE = "DefaultConfiguration"


class OverrideError(Exception):
    """The overrides cannot decide the configuration of a target; the message says which and why."""


# --------------------------------------------------------------------------------------------------
# Load time: overlaps the template alone proves
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountScope:
    """A set of accounts known from literals: either exactly ``ids``, or every account but ``excluded``."""

    every: bool
    ids: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()

    def __and__(self, other: AccountScope) -> AccountScope:
        if self.every and other.every:
            return AccountScope(True, excluded=self.excluded | other.excluded)
        if self.every:
            return AccountScope(False, ids=other.ids - self.excluded)
        if other.every:
            return AccountScope(False, ids=self.ids - other.excluded)
        return AccountScope(False, ids=self.ids & other.ids)

    def __bool__(self) -> bool:
        return self.every or bool(self.ids)

    def describe(self) -> str:
        if not self.every:
            return ("account " if len(self.ids) == 1 else "accounts ") + ", ".join(sorted(self.ids))
        if self.excluded:
            return "every account (AllAccounts) except " + ", ".join(sorted(self.excluded))
        return "every account (AllAccounts)"


def _exclusions_are_literal(exclude: dict[str, Any]) -> bool:
    return not any(exclude.get(key) for key in INDEX_SELECTORS)


def certain_accounts(include: dict[str, Any], exclude: dict[str, Any]) -> AccountScope:
    """Accounts the selection includes for sure, whatever the organisation looks like.

    An exclusion by name, OU or tag could remove any account, so nothing is certain then.
    """
    exclude = exclude or {}
    if not _exclusions_are_literal(exclude):
        return AccountScope(False)
    excluded = frozenset(exclude.get("by_ids") or ())
    if include.get("all_accounts"):
        return AccountScope(True, excluded=excluded)
    return AccountScope(False, ids=frozenset(include.get("by_ids") or ()) - excluded)


def possible_accounts(include: dict[str, Any], exclude: dict[str, Any]) -> AccountScope:
    """Accounts the selection may include: a superset, so that only impossible targets are dropped."""
    excluded = frozenset((exclude or {}).get("by_ids") or ())
    if include.get("all_accounts") or any(include.get(key) for key in INDEX_SELECTORS):
        return AccountScope(True, excluded=excluded)
    return AccountScope(False, ids=frozenset(include.get("by_ids") or ()) - excluded)


def _regions(include: Iterable[str], exclude: Iterable[str]) -> set[str]:
    include = set(include)
    if ALL_REGIONS in include:
        include = set(supported_regions())
    return include - set(exclude)


def certain_overlaps(payload: dict[str, Any]) -> list[str]:
    """One message per pair of overrides that the template alone shows to share a target.

    ``payload`` is the payload as the schema validates it (overrides already loaded); the template's own
    selection bounds the check, so two overrides that only overlap where the template never goes pass.
    """
    overrides = payload.get("account_override_configurations") or []
    if len(overrides) < 2:
        return []
    template_regions = _regions(payload.get("include_regions") or (), payload.get("exclude_regions") or ())
    template_accounts = possible_accounts(payload.get("include_accounts") or {}, payload.get("exclude_accounts") or {})
    scopes = [
        (
            certain_accounts(o["include_accounts"], o["exclude_accounts"]) & template_accounts,
            _regions(o["include_regions"], o["exclude_regions"]) & template_regions,
        )
        for o in overrides
    ]
    problems: list[str] = []
    for first, (accounts_a, regions_a) in enumerate(scopes):
        for second in range(first + 1, len(scopes)):
            accounts_b, regions_b = scopes[second]
            shared_accounts = accounts_a & accounts_b
            shared_regions = regions_a & regions_b
            if shared_accounts and shared_regions:
                problems.append(
                    f"entries {first} and {second} both match {shared_accounts.describe()} in"
                    f" {'region' if len(shared_regions) == 1 else 'regions'} "
                    f"{', '.join(sorted(shared_regions))}; an account/region may match one override at most"
                )
    return problems


# --------------------------------------------------------------------------------------------------
# Execute time: the configuration of one target
# --------------------------------------------------------------------------------------------------


def needs_index(override: dict[str, Any]) -> bool:
    """True when the override selects or excludes accounts by name, OU or tag."""
    sides = (override.get("include_accounts") or {}, override.get("exclude_accounts") or {})
    return any(side.get(key) for side in sides for key in INDEX_SELECTORS)


def _selected(spec: dict[str, Any], account_id: str, index: AccountIndex | None) -> bool:
    """Does one IncludeAccounts/ExcludeAccounts block select ``account_id``?"""
    if not spec:
        return False
    if spec.get("all_accounts") or account_id in set(spec.get("by_ids") or ()):
        return True
    if index is None:
        return False
    if account_id in index.by_names(spec.get("by_names") or ()):
        return True
    if any(account_id in index.by_org_unit(ou) for ou in spec.get("by_org_units") or ()):
        return True
    return any(account_id in index.by_tag(tag["name"], tag["value"]) for tag in spec.get("by_tags") or ())


def override_matches(override: dict[str, Any], account_id: str, region: str, index: AccountIndex | None) -> bool:
    """Does the override apply to ``account_id``/``region``? ``index`` is required when ``needs_index``."""
    if region not in _regions(override["include_regions"], override["exclude_regions"]):
        return False
    if needs_index(override) and index is None:
        raise OverrideError("an override selects accounts by name, OU or tag, and no account index was given")
    return _selected(override["include_accounts"], account_id, index) and not _selected(
        override["exclude_accounts"], account_id, index
    )


def index_selectors_used(overrides: list[dict[str, Any]]) -> list[str]:
    """``entry N: ByOrgUnits`` lines naming what needs the index, for error messages and logs."""
    lines: list[str] = []
    for number, override in enumerate(overrides):
        keys = sorted(
            {
                _YAML_NAMES[key]
                for side in ("include_accounts", "exclude_accounts")
                for key in INDEX_SELECTORS
                if (override.get(side) or {}).get(key)
            }
        )
        if keys:
            lines.append(f"entry {number}: {', '.join(keys)}")
    return lines


def select_configuration(
    payload: dict[str, Any], account_id: str, region: str, index: AccountIndex | None
) -> tuple[str, dict[str, Any]]:
    """``(source, configuration)`` for the target: the one matching override, else the default.

    ``source`` names where the configuration came from (``DefaultConfiguration`` or
    ``AccountOverrideConfigurations[N]``), for logs and for the reported differences. Raises
    ``OverrideError`` when two overrides match, or when the index is needed and the account is not in it.
    """
    overrides = payload.get("account_override_configurations") or []
    if index is not None and account_id not in index.accounts and any(needs_index(o) for o in overrides):
        raise OverrideError(
            f"account {account_id} is not in the account index ({index.source}); cannot tell whether the overrides"
            f" selecting by name, OU or tag apply ({'; '.join(index_selectors_used(overrides))})"
        )
    matching = [number for number, o in enumerate(overrides) if override_matches(o, account_id, region, index)]
    if len(matching) > 1:
        raise OverrideError(
            f"AccountOverrideConfigurations entries {', '.join(map(str, matching))} all match account {account_id}"
            f" in {region}; an account/region may match one override at most. Nothing was changed."
        )
    if matching:
        number = matching[0]
        return f"AccountOverrideConfigurations[{number}]", overrides[number]
    return DEFAULT_SOURCE, payload["default_configuration"]
