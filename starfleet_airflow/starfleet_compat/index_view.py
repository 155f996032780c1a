"""Starfleet's account-index interface answered from this project's ``AccountIndex``.

So its semantics are this project's: inactive accounts skipped, names/OUs/tags case-insensitive, two OUs of
one name both match, the ``r-`` rule of ``AccountIndex.by_org_unit``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex as ProjectAccountIndex
from starfleet_airflow.starfleet_compat.schematics import AccountIndex


class StarfleetIndexView(AccountIndex):
    """Starfleet's interface over this project's index (every answer a new set: callers may change it)."""

    def __init__(self, index: ProjectAccountIndex) -> None:
        self.project_index = index
        self._by_region: dict[str, set[str]] | None = None

    def get_accounts_by_ids(self, ids: set[str]) -> set[str]:
        return self.project_index.by_ids(ids)

    def get_accounts_by_aliases(self, aliases: set[str]) -> set[str]:
        return self.project_index.by_names(aliases)

    def get_accounts_by_tag(self, tag_name: str, tag_value: str) -> set[str]:
        return self.project_index.by_tag(tag_name, tag_value)

    def get_accounts_by_ou(self, org_unit: str) -> set[str]:
        return self.project_index.by_org_unit(org_unit)

    def _regions(self) -> dict[str, set[str]]:
        if self._by_region is None:
            by_region: dict[str, set[str]] = defaultdict(set)
            for account_id in self.project_index.all_ids():
                for region in self.project_index.regions_of(account_id):
                    by_region[region].add(account_id)
            self._by_region = dict(by_region)
        return self._by_region

    def get_accounts_by_regions(self, regions: set[str]) -> dict[str, set[str]]:
        by_region = self._regions()
        return {region: set(by_region.get(region, ())) for region in regions}

    def get_accounts_for_all_regions(self) -> dict[str, set[str]]:
        return {region: set(accounts) for region, accounts in self._regions().items()}

    def get_all_accounts(self) -> set[str]:
        return self.project_index.all_ids()

    def get_org_roots(self) -> set[str]:
        return self.project_index.org_root_ids()

    def get_account_names(self, account_ids: set[str]) -> dict[str, str | None]:
        accounts = self.project_index.accounts
        return {i: (accounts[i].name if i in accounts else None) for i in account_ids}

    def get_account_tags(self, account_ids: set[str]) -> dict[str, dict[str, str] | None]:
        accounts = self.project_index.accounts
        return {i: (dict(accounts[i].tags) if i in accounts else {}) for i in account_ids}


def as_starfleet_index(index: Any) -> Any:
    """This project's index wrapped in Starfleet's interface; anything else (a plugin object) as it is."""
    return StarfleetIndexView(index) if isinstance(index, ProjectAccountIndex) else index


__all__ = ["StarfleetIndexView", "as_starfleet_index"]
