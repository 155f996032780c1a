"""The organisation's account index: Starfleet's JSON format, read from a file or ``s3://``.

The index is built once per load into lookup maps (by id, name, OU, tag, region) so that resolving a
template costs set operations, not scans. Lookups follow Starfleet's semantics (names, OUs and tags are
case-insensitive; an OU matches accounts in nested OUs when the index lists the parent chain) and fix
two of its gaps: two OUs with the same name both match, and accounts that are not ACTIVE are skipped
unless ``include_inactive`` is set.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow.aws.locations import Location, LocationError, read_bytes
from starfleet_airflow.core.schemas.payload import ACCOUNT_ID_PATTERN

ACTIVE = "ACTIVE"


class AccountIndexError(Exception):
    """The index could not be read or does not have Starfleet's shape; the message says where."""


@dataclass(frozen=True)
class Account:
    """One account of the index, as the generator recorded it."""

    id: str
    name: str
    status: str
    arn: str
    parents: tuple[dict[str, str], ...]
    regions: frozenset[str]
    tags: dict[str, str] = field(hash=False)


def _management_account_id(arn: str) -> str | None:
    """``arn:aws:organizations::MGMT:account/o-xxx/ID`` -> ``MGMT`` (the organisation root account)."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[2] == "organizations" and parts[4]:
        return parts[4]
    return None


class AccountIndex:
    """Lookup maps over the accounts of one index snapshot."""

    def __init__(self, accounts: dict[str, Account], *, generated: str | None, source: str, fingerprint: str) -> None:
        self.accounts = accounts
        self.generated = generated
        self.source = source
        self.fingerprint = fingerprint
        self._by_name: dict[str, set[str]] = defaultdict(set)
        self._by_ou: dict[str, set[str]] = defaultdict(set)
        self._by_tag: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._org_roots: set[str] = set()
        # The organisation's own root ids (``r-...``): the ROOT-type parents the generator writes.
        self._root_ids: set[str] = set()
        for account in accounts.values():
            self._by_name[account.name.lower()].add(account.id)
            for parent in account.parents:
                if parent["Type"] == "ROOT":
                    self._root_ids.add(parent["Id"].lower())
                # Ids and names in one map, each adding to (never replacing) what is there: two OUs
                # that share a name both match, which Starfleet's index got wrong.
                self._by_ou[parent["Id"].lower()].add(account.id)
                self._by_ou[parent["Name"].lower()].add(account.id)
            for name, value in account.tags.items():
                self._by_tag[(name.lower(), str(value).lower())].add(account.id)
            root = _management_account_id(account.arn)
            if root:
                self._org_roots.add(root)

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str = "<dict>", include_inactive: bool = False, fingerprint: str | None = None
    ) -> AccountIndex:
        """Build the index from the parsed JSON; every shape problem names the source and the key."""
        if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
            raise AccountIndexError(f"{source}: expected a JSON object with an 'accounts' mapping of id -> account")
        accounts: dict[str, Account] = {}
        problems: list[str] = []
        for account_id, raw in data["accounts"].items():
            account = _parse_account(str(account_id), raw, f"{source}: accounts.{account_id}", problems)
            if account is not None and (include_inactive or account.status == ACTIVE):
                accounts[account.id] = account
        if problems:
            raise AccountIndexError("\n".join(problems))
        if fingerprint is None:
            fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        return cls(accounts, generated=data.get("generated"), source=source, fingerprint=fingerprint)

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str, include_inactive: bool = False) -> AccountIndex:
        """Parse JSON bytes; the fingerprint is the sha256 of exactly these bytes."""
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise AccountIndexError(f"{source}: not valid JSON ({exc})") from None
        return cls.from_dict(
            data, source=source, include_inactive=include_inactive, fingerprint=hashlib.sha256(raw).hexdigest()
        )

    # -- lookups ------------------------------------------------------------------------------------

    def all_ids(self) -> set[str]:
        """Every account of the index (only ACTIVE ones unless built with ``include_inactive``)."""
        return set(self.accounts)

    def by_ids(self, ids: Iterable[str]) -> set[str]:
        """The given ids that exist in the index."""
        return {str(i) for i in ids} & self.accounts.keys()

    def by_names(self, names: Iterable[str]) -> set[str]:
        """Accounts whose name matches one of ``names``, case-insensitively."""
        found: set[str] = set()
        for name in names:
            found |= self._by_name.get(name.lower(), set())
        return found

    def by_org_unit(self, org_unit: str) -> set[str]:
        """Accounts under an OU given by id or name (nested OUs included).

        The name ``ROOT`` and this organisation's own root ids (ROOT-type parents in the index) select every
        account. Anything else is an OU: one *named* ``r-and-d`` selects its accounts, and a root id that is
        not this organisation's (``r-zzzz``) selects nothing, as in Starfleet.
        """
        key = org_unit.lower()
        if key == "root" or key in self._root_ids:
            return self.all_ids()
        return set(self._by_ou.get(key, set()))

    def by_tag(self, name: str, value: str) -> set[str]:
        """Accounts carrying the tag ``name=value``, both compared case-insensitively."""
        return set(self._by_tag.get((name.lower(), str(value).lower()), set()))

    def org_root_ids(self) -> set[str]:
        """The organisation management ("org root") account ids, read from the account ARNs."""
        return set(self._org_roots)

    def regions_of(self, account_id: str) -> frozenset[str]:
        """The regions enabled for an account (empty for an unknown account)."""
        account = self.accounts.get(account_id)
        return account.regions if account else frozenset()

    def name_of(self, account_id: str) -> str:
        """The account's name, or the id itself when the index does not know it."""
        account = self.accounts.get(account_id)
        return account.name if account else account_id


def _parse_account(account_id: str, raw: Any, where: str, problems: list[str]) -> Account | None:
    """One account entry; appends a message per problem and returns None when unusable."""
    if not ACCOUNT_ID_PATTERN.match(account_id):
        problems.append(f"{where}: expected a 12-digit AWS account id as the key")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object")
        return None
    start = len(problems)
    name = raw.get("Name")
    if not isinstance(name, str):
        problems.append(f"{where}.Name: expected a string")
    regions = raw.get("Regions", [])
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        problems.append(f"{where}.Regions: expected a list of region names")
    parents = raw.get("Parents", [])
    if not isinstance(parents, list) or not all(
        isinstance(p, dict) and isinstance(p.get("Id"), str) and isinstance(p.get("Name"), str) for p in parents
    ):
        problems.append(f"{where}.Parents: expected a list of objects with string Id and Name")
    tags = raw.get("Tags", {})
    if not isinstance(tags, dict):
        problems.append(f"{where}.Tags: expected a mapping of tag name to value")
    if "Id" in raw and str(raw["Id"]) != account_id:
        problems.append(f"{where}.Id: {raw['Id']!r} does not match the key {account_id!r}")
    if len(problems) > start:
        return None
    return Account(
        id=account_id,
        name=name,
        status=str(raw.get("Status", ACTIVE)),
        arn=str(raw.get("Arn", "")),
        parents=tuple({"Id": p["Id"], "Type": str(p.get("Type", "")), "Name": p["Name"]} for p in parents),
        regions=frozenset(regions),
        tags={str(k): str(v) for k, v in tags.items()},
    )


def load_account_index(location: Location, *, s3_client: Any = None, include_inactive: bool = False) -> AccountIndex:
    """Read the index from a local file or S3; raises AccountIndexError naming the location."""
    try:
        raw = read_bytes(location, s3_client)
    except LocationError as exc:
        raise AccountIndexError(f"account index {exc}") from exc
    return AccountIndex.from_bytes(raw, source=str(location), include_inactive=include_inactive)
