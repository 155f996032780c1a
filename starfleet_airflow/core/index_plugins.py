"""Account-index plugins: ``STARFLEET.AccountIndex`` names the implementation, as in Starfleet.

The default, ``StarfleetDefaultAccountIndex``, is Starfleet's JSON index (``AccountIndexLocation``, or the
``StarfleetDefaultAccountIndex`` section's bucket and key). Any other name is a class with Starfleet's
account-index interface (``starfleet.account_index.schematics.AccountIndex``: ``get_accounts_by_ids``,
``get_accounts_by_aliases``, ``get_accounts_by_tag``, ``get_accounts_by_ou``, ``get_accounts_by_regions``,
``get_accounts_for_all_regions``, ``get_all_accounts``, ``get_org_roots``, ``get_account_names``,
``get_account_tags``), instantiated without arguments, found in the ``starfleet_airflow.account_indexes``
entry-point group: an entry point names the class (its name, or the entry point's, matches), or a module
exposing ``ACCOUNT_INDEX_PLUGINS = [Class, ...]`` (Starfleet's convention for its plugins folder).

A run plans from a snapshot of its inputs, so the plugin's answers are written down once per run in
Starfleet's index format (``index_data_from_plugin``): every account with its name, tags and regions, the
organisation roots, and the members of each OU the run's templates name (Starfleet's interface cannot list
OUs, so the ones asked about are asked for).
"""

from __future__ import annotations

import datetime
import threading
from collections import defaultdict
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

ENTRY_POINT_GROUP = "starfleet_airflow.account_indexes"
DEFAULT_INDEX = "StarfleetDefaultAccountIndex"
PLUGINS_ATTRIBUTE = "ACCOUNT_INDEX_PLUGINS"
INTERFACE = (
    "get_accounts_by_ids",
    "get_accounts_by_aliases",
    "get_accounts_by_tag",
    "get_accounts_by_ou",
    "get_accounts_by_regions",
    "get_accounts_for_all_regions",
    "get_all_accounts",
    "get_org_roots",
    "get_account_names",
    "get_account_tags",
)
ORG_UNIT_KEYS = ("ByOrgUnits", "by_org_units")


class AccountIndexPluginError(Exception):
    """The configured plugin cannot be found or loaded, or does not answer as the interface says."""


class AccountIndexPluginFailure(AccountIndexPluginError):
    """The plugin itself failed (its backend, its data): possibly transient, worth a retry."""


def _candidates(target: Any) -> list[Any]:
    if isinstance(target, type):
        return [target]
    plugins = getattr(target, PLUGINS_ATTRIBUTE, None)
    return list(plugins) if isinstance(plugins, (list, tuple)) else []


def find_index_plugin(name: str) -> type:
    """The plugin class named ``name`` (class or entry-point name) in the entry-point group."""
    seen: list[str] = []
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        try:
            target = entry_point.load()
        except Exception as exc:  # a broken plugin distribution is named, not a traceback
            if entry_point.name == name:
                raise AccountIndexPluginError(
                    f"STARFLEET.AccountIndex {name}: cannot load entry point {entry_point.name} = {entry_point.value}:"
                    f" {type(exc).__name__}: {exc}"
                ) from exc
            seen.append(f"{entry_point.name} (cannot load: {type(exc).__name__})")
            continue
        for candidate in _candidates(target):
            if name in (entry_point.name, getattr(candidate, "__name__", None)):
                missing = [method for method in INTERFACE if not callable(getattr(candidate, method, None))]
                if missing:
                    raise AccountIndexPluginError(
                        f"STARFLEET.AccountIndex {name}: {entry_point.value} lacks Starfleet's account-index"
                        f" methods {', '.join(missing)}"
                    )
                return candidate
            seen.append(getattr(candidate, "__name__", repr(candidate)))
    found = ", ".join(sorted(seen)) or "none"
    raise AccountIndexPluginError(
        f"STARFLEET.AccountIndex: no account-index plugin named {name!r} in the {ENTRY_POINT_GROUP} entry-point"
        f" group (found: {found}; the default is {DEFAULT_INDEX})"
    )


def org_unit_selectors(documents: Iterable[Any]) -> set[str]:
    """Every OU named by a ``ByOrgUnits`` list anywhere in the documents (templates, loaded or raw)."""
    found: set[str] = set()
    stack = list(documents)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ORG_UNIT_KEYS and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _ids(value: Any, what: str) -> set[str]:
    if not isinstance(value, (set, frozenset, list, tuple)):
        raise AccountIndexPluginError(f"account-index plugin: {what} returned {type(value).__name__}, expected a set")
    return {str(v) for v in value}


def index_data_from_plugin(plugin: Any, documents: Iterable[Any] = ()) -> dict[str, Any]:
    """The plugin's view of the organisation in Starfleet's index format (what a run snapshot stores).

    Accounts get their name, tags and regions; every account's ``Arn`` names an organisation root so that
    ``OperateInOrgRoot`` works; the OUs named in ``documents`` become parents of their member accounts.
    A plugin object that can give its own index document (``starfleet_index_data``) is taken at its word.
    """
    own = getattr(plugin, "starfleet_index_data", None)
    if isinstance(own, dict):
        return own
    name = type(plugin).__name__
    try:
        accounts = _ids(plugin.get_all_accounts(), "get_all_accounts")
        names = plugin.get_account_names(set(accounts)) or {}
        tags = plugin.get_account_tags(set(accounts)) or {}
        roots = sorted(_ids(plugin.get_org_roots(), "get_org_roots"))
        regions: dict[str, set[str]] = defaultdict(set)
        for region, members in (plugin.get_accounts_for_all_regions() or {}).items():
            for account_id in _ids(members, "get_accounts_for_all_regions"):
                regions[account_id].add(str(region))
        parents: dict[str, list[dict[str, str]]] = defaultdict(list)
        for org_unit in sorted(org_unit_selectors(documents)):
            for account_id in _ids(plugin.get_accounts_by_ou(org_unit), f"get_accounts_by_ou({org_unit!r})"):
                parents[account_id].append({"Id": org_unit, "Name": org_unit, "Type": "ORGANIZATIONAL_UNIT"})
    except AccountIndexPluginError:
        raise
    except Exception as exc:  # the plugin's own failure (its backend, its data), named
        raise AccountIndexPluginFailure(f"account-index plugin {name} failed: {type(exc).__name__}: {exc}") from exc
    document: dict[str, Any] = {}
    for account_id in sorted(accounts):
        root = account_id if account_id in roots else (roots[0] if roots else "")
        document[account_id] = {
            "Id": account_id,
            "Name": names.get(account_id) or account_id,
            "Status": "ACTIVE",
            "Arn": f"arn:aws:organizations::{root}:account/o-{name.lower()}/{account_id}" if root else "",
            "Parents": parents.get(account_id, []),
            "Regions": sorted(regions.get(account_id, ())),
            "Tags": dict(tags.get(account_id) or {}),
        }
    generated = datetime.datetime.now(datetime.timezone.utc).isoformat()
    return {"accounts": document, "generated": generated, "source": f"account-index plugin {name}"}


_INSTANCES: dict[str, Any] = {}
_INSTANCES_LOCK = threading.Lock()


def plugin_instance(name: str) -> Any:
    """The plugin named ``name``, instantiated once per process without arguments (as Starfleet's loader does)."""
    with _INSTANCES_LOCK:
        if name not in _INSTANCES:
            plugin_class = find_index_plugin(name)
            try:
                _INSTANCES[name] = plugin_class()
            except Exception as exc:
                raise AccountIndexPluginFailure(
                    f"STARFLEET.AccountIndex {name}: the plugin failed to start: {type(exc).__name__}: {exc}"
                ) from exc
        return _INSTANCES[name]


def forget_plugin_instances() -> None:
    """Drop the cached plugin objects (the next use instantiates them again)."""
    with _INSTANCES_LOCK:
        _INSTANCES.clear()


def load_plugin_index_data(name: str, documents: Iterable[Any] = ()) -> dict[str, Any]:
    """The plugin named ``name`` asked for everything a run over ``documents`` (its templates) needs."""
    return index_data_from_plugin(plugin_instance(name), documents)
