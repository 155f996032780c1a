"""Read AWS Organizations: the accounts, the OU tree as parent chains, and account tags.

The OU tree is walked once, breadth first from the root: two paginated calls per OU
(``ListOrganizationalUnitsForParent`` and ``ListAccountsForParent``) give every OU's chain up to the
root and every account's OU. Asking ``ListParents`` per account and per level instead (what Starfleet
did for the immediate parent only) costs accounts x depth calls against an API that throttles hard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

ROOT_NAME = "ROOT"  # Starfleet writes the root's name as ROOT whatever the console shows
OU_TYPE = "ORGANIZATIONAL_UNIT"
ROOT_TYPE = "ROOT"
# Organizations' account states (State) mapped to the older Status field the index format keeps.
STATUS_OF_STATE = {
    "ACTIVE": "ACTIVE",
    "SUSPENDED": "SUSPENDED",
    "CLOSED": "SUSPENDED",
    "PENDING_CLOSURE": "PENDING_CLOSURE",
    "PENDING_ACTIVATION": "PENDING_ACTIVATION",
}


class OrganizationReadError(Exception):
    """Organizations could not be read as configured; the message names the call and the id."""


def root_parent(root_id: str) -> dict[str, str]:
    """The last element of every parent chain, in Starfleet's format."""
    return {"Id": root_id, "Type": ROOT_TYPE, "Name": ROOT_NAME}


@dataclass
class OrgTree:
    """The walk's result: every OU's parent chain (the OU first, the root last) and each account's OU."""

    root_id: str
    chains: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    parent_of_account: dict[str, str] = field(default_factory=dict)

    @property
    def org_unit_count(self) -> int:
        """OUs found (the root is not an OU)."""
        return len(self.chains) - 1

    def parents_of(self, account_id: str) -> list[dict[str, str]] | None:
        """The account's ``Parents`` (its OU first, the root last), or None when the walk missed it."""
        parent = self.parent_of_account.get(account_id)
        return [dict(p) for p in self.chains[parent]] if parent is not None else None


def _pages(client: Any, operation: str, result_key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(result_key, [])


def find_root_id(org: Any) -> str:
    """The organisation's root id; an organisation has exactly one."""
    roots = [root["Id"] for root in _pages(org, "list_roots", "Roots")]
    if len(roots) != 1:
        raise OrganizationReadError(f"ListRoots: expected exactly one root, found {roots or 'none'}; set OrgRootId")
    return roots[0]


def list_accounts(org: Any) -> list[dict[str, Any]]:
    """Every account of the organisation (paginated), once each, sorted by id."""
    accounts: dict[str, dict[str, Any]] = {}
    for account in _pages(org, "list_accounts", "Accounts"):
        accounts.setdefault(account["Id"], account)
    return [accounts[key] for key in sorted(accounts)]


def _children(org: Any, parent_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The OUs and the account ids directly under one parent."""
    try:
        units = list(_pages(org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent_id))
        accounts = [a["Id"] for a in _pages(org, "list_accounts_for_parent", "Accounts", ParentId=parent_id)]
    except Exception as exc:
        raise OrganizationReadError(f"listing the children of {parent_id}: {exc}") from exc
    return units, accounts


def walk_tree(org: Any, root_id: str, run: Callable[[Callable[[str], Any], Iterable[str]], Iterable[Any]]) -> OrgTree:
    """Walk the OU tree level by level; ``run(fn, parent_ids)`` maps ``fn`` over a level (e.g. a pool).

    An OU seen twice (the tree changed while it was walked) keeps its first chain.
    """
    tree = OrgTree(root_id=root_id, chains={root_id: [root_parent(root_id)]})
    level = [root_id]
    while level:
        next_level: list[str] = []
        for parent_id, (units, account_ids) in zip(level, run(lambda p: _children(org, p), level), strict=True):
            for account_id in account_ids:
                tree.parent_of_account.setdefault(account_id, parent_id)
            for unit in units:
                if unit["Id"] in tree.chains:
                    continue
                entry = {"Id": unit["Id"], "Type": OU_TYPE, "Name": unit["Name"]}
                tree.chains[unit["Id"]] = [entry, *tree.chains[parent_id]]
                next_level.append(unit["Id"])
        level = next_level
    return tree


def executor_runner(executor: Executor) -> Callable[[Callable[[str], Any], Iterable[str]], Iterable[Any]]:
    """``walk_tree``'s ``run`` backed by a thread pool: one level's parents are listed concurrently."""
    return lambda fn, items: list(executor.map(fn, items))


def chain_by_list_parents(org: Any, account_id: str, tree: OrgTree) -> list[dict[str, str]]:
    """An account's ``Parents`` through ``ListParents`` (one call per level), for an account the walk missed.

    That happens only when an account moves or joins while the tree is walked; OUs learnt on the way
    are added to ``tree`` so the next missed account stops earlier.
    """
    learnt: list[dict[str, str]] = []
    child = account_id
    for _ in range(10):  # Organizations nests OUs at most five deep
        parents = org.list_parents(ChildId=child)["Parents"]
        if len(parents) != 1:
            raise OrganizationReadError(f"ListParents {child}: expected one parent, got {parents}")
        parent = parents[0]
        if parent["Id"] in tree.chains:
            chain = tree.chains[parent["Id"]]
            break
        if parent["Type"] == ROOT_TYPE:
            chain = [root_parent(parent["Id"])]
            break
        name = org.describe_organizational_unit(OrganizationalUnitId=parent["Id"])["OrganizationalUnit"]["Name"]
        learnt.append({"Id": parent["Id"], "Type": OU_TYPE, "Name": name})
        child = parent["Id"]
    else:
        raise OrganizationReadError(f"ListParents {account_id}: no root within 10 levels")
    full = [*learnt, *chain]
    for depth, unit in enumerate(learnt):
        tree.chains.setdefault(unit["Id"], full[depth:])
    return [dict(p) for p in full]


def account_tags(org: Any, account_id: str) -> dict[str, str]:
    """The account's tags as a name -> value mapping (paginated)."""
    return {tag["Key"]: tag["Value"] for tag in _pages(org, "list_tags_for_resource", "Tags", ResourceId=account_id)}


def account_status(account: dict[str, Any]) -> str:
    """``Status`` as listed, or derived from ``State`` (which AWS is replacing ``Status`` with).

    Neither present gives ``UNKNOWN``: the index loader skips accounts that are not ACTIVE, so an
    account of unknown state is never targeted by mistake.
    """
    if account.get("Status"):
        return str(account["Status"])
    state = str(account.get("State") or "")
    return STATUS_OF_STATE.get(state, state or "UNKNOWN")
