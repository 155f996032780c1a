"""``starfleet.account_index.schematics``: Starfleet's interface of account-index plugins."""

from __future__ import annotations

from typing import TypeVar


class AccountIndex:
    """Starfleet's account-index plugin interface; a plugin subclasses it and loads in ``__init__`` (no arguments)."""

    def get_accounts_by_ids(self, ids: set[str]) -> set[str]:
        raise NotImplementedError

    def get_accounts_by_aliases(self, aliases: set[str]) -> set[str]:
        raise NotImplementedError

    def get_accounts_by_tag(self, tag_name: str, tag_value: str) -> set[str]:
        raise NotImplementedError

    def get_accounts_by_ou(self, org_unit: str) -> set[str]:
        raise NotImplementedError

    def get_accounts_by_regions(self, regions: set[str]) -> dict[str, set[str]]:
        raise NotImplementedError

    def get_accounts_for_all_regions(self) -> dict[str, set[str]]:
        raise NotImplementedError

    def get_all_accounts(self) -> set[str]:
        raise NotImplementedError

    def get_org_roots(self) -> set[str]:
        raise NotImplementedError

    def get_account_names(self, account_ids: set[str]) -> dict[str, str | None]:
        raise NotImplementedError

    def get_account_tags(self, account_ids: set[str]) -> dict[str, dict[str, str] | None]:
        raise NotImplementedError


AccountIndexInstance = TypeVar("AccountIndexInstance", bound=AccountIndex)


__all__ = ["AccountIndex", "AccountIndexInstance"]
