"""The organisation's account index: Starfleet's JSON format, read from a file or ``s3://``.

The index is built once per load into lookup maps (by id, name, OU, tag, region) so that resolving a
template costs set operations, not scans; the JSON is decoded by ``index_decode`` (msgspec, each
distinct parent chain, region list and tag set decoded once). Lookups follow Starfleet's semantics
(names, OUs and tags are case-insensitive; an OU matches accounts in nested OUs when the index lists the
parent chain) and fix two of its gaps: two OUs with the same name both match, and accounts that are not
ACTIVE are skipped unless ``include_inactive`` is set.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow.aws.locations import Location, LocationError, read_bytes
from starfleet_airflow.core.index_decode import ACTIVE, AccountRecord, decode_index, records_from_dict

__all__ = ["ACTIVE", "Account", "AccountIndex", "AccountIndexError", "load_account_index"]

_NO_REGIONS: frozenset[str] = frozenset()


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
    """Lookup maps over the accounts of one index snapshot.

    Only what every run needs is built up front (ids, names, regions); the maps by name, OU and tag,
    the org root ids and the ``Account`` records are built on first use, so a template that selects
    ``AllAccounts`` never pays for them.
    """

    def __init__(
        self,
        records: Iterable[AccountRecord],
        *,
        generated: Any = None,
        source: str,
        fingerprint: str | None = None,
        include_inactive: bool = False,
    ) -> None:
        records = records if isinstance(records, list) else list(records)
        self.generated = generated
        self.listed = len(records)  # every account the index lists, ACTIVE or not (for index health)
        self.source = source
        self._fingerprint = fingerprint
        self._raw: bytes | None = None  # the bytes read, hashed only if someone asks for the fingerprint
        self._records: dict[str, AccountRecord] = {
            record[0]: record for record in records if include_inactive or record[2] == ACTIVE
        }
        self._regions: dict[str, frozenset[str]] = {key: record[5] for key, record in self._records.items()}
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] | None = None
        self._maps: list[dict[Any, set[str]] | None] = [None, None, None]
        self._sorted: list[str] | None = None
        self._org_roots: set[str] | None = None
        self._root_ids: set[str] = set()  # filled with the OU map

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str = "<dict>", include_inactive: bool = False, fingerprint: str | None = None
    ) -> AccountIndex:
        """Build the index from the parsed JSON; every shape problem names the source and the key."""
        if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
            raise AccountIndexError(f"{source}: expected a JSON object with an 'accounts' mapping of id -> account")
        records: list[AccountRecord] = []
        problems: list[str] = []
        for item in records_from_dict(data, source):
            if isinstance(item, str):
                problems.append(item)
            else:
                records.append(item)
        if problems:
            raise AccountIndexError("\n".join(problems))
        return cls(
            records,
            generated=data.get("generated"),
            source=source,
            fingerprint=fingerprint,
            include_inactive=include_inactive,
        )

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str, include_inactive: bool = False) -> AccountIndex:
        """Parse JSON bytes (the fast decoder, else the careful path); the fingerprint is their sha256."""
        decoded = decode_index(raw)
        if decoded is None:
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                raise AccountIndexError(f"{source}: not valid JSON ({exc})") from None
            return cls.from_dict(data, source=source, include_inactive=include_inactive, fingerprint=_sha256(raw))
        records, generated = decoded
        index = cls(records, generated=generated, source=source, include_inactive=include_inactive)
        index._raw = raw
        return index

    @property
    def fingerprint(self) -> str:
        """sha256 of the index bytes as read (of its canonical JSON when built from a dict), on demand."""
        if self._fingerprint is None:
            raw = self._raw
            if raw is None:
                document = {"accounts": {key: _record_document(r) for key, r in self._records.items()}}
                raw = json.dumps(document, sort_keys=True, default=str).encode()
            self._fingerprint = _sha256(raw)
        return self._fingerprint

    @property
    def accounts(self) -> dict[str, Account]:
        """Every account of the index as an ``Account`` (only ACTIVE ones unless ``include_inactive``)."""
        if self._accounts is None:
            self._accounts = {
                key: Account(key, name, status, arn, parents, regions, tags)
                for key, name, status, arn, parents, regions, tags in self._records.values()
            }
        return self._accounts

    def _map(self, which: int) -> dict[Any, set[str]]:
        """The map by name (0), OU (1) or tag (2), built on first use.

        Parent chains and tag sets are shared objects (``index_decode`` interns them), so accounts are
        grouped by the object first and each distinct chain or tag set is spread over its group at once.
        """
        with self._lock:
            built = self._maps[which]
            if built is not None:
                return built
            found: dict[Any, set[str]] = defaultdict(set)
            if which == 0:
                for key, record in self._records.items():
                    found[record[1].lower()].add(key)
            else:
                field = 4 if which == 1 else 6
                groups: dict[int, tuple[Any, list[str]]] = {}
                for key, record in self._records.items():
                    value = record[field]
                    groups.setdefault(id(value), (value, []))[1].append(key)
                for value, keys in groups.values():
                    if which == 1:
                        for parent in value:
                            if parent["Type"] == "ROOT":  # the organisation's own root ids (``r-...``)
                                self._root_ids.add(parent["Id"].lower())
                            # Ids and names in one map, each adding to (never replacing) what is there: two
                            # OUs that share a name both match, which Starfleet's index got wrong.
                            found[parent["Id"].lower()].update(keys)
                            found[parent["Name"].lower()].update(keys)
                    else:
                        for tag, tag_value in value.items():
                            found[(tag.lower(), str(tag_value).lower())].update(keys)
            self._maps[which] = found
            return found

    def sorted_ids(self) -> list[str]:
        """Every account id, sorted (once per index: indexes are usually written in that order already)."""
        if self._sorted is None:
            self._sorted = sorted(self._records)
        return self._sorted

    # -- lookups ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def all_ids(self) -> set[str]:
        """Every account of the index (only ACTIVE ones unless built with ``include_inactive``)."""
        return set(self._records)

    def by_ids(self, ids: Iterable[str]) -> set[str]:
        """The given ids that exist in the index."""
        return {str(i) for i in ids} & self._records.keys()

    def by_names(self, names: Iterable[str]) -> set[str]:
        """Accounts whose name matches one of ``names``, case-insensitively."""
        names = list(names)
        if not names:  # an empty selector list must not build the maps
            return set()
        by_name = self._map(0)
        found: set[str] = set()
        for name in names:
            found |= by_name.get(name.lower(), set())
        return found

    def by_org_unit(self, org_unit: str) -> set[str]:
        """Accounts under an OU given by id or name (nested OUs included).

        The name ``ROOT`` and this organisation's own root ids (ROOT-type parents in the index) select every
        account. Anything else is an OU: one *named* ``r-and-d`` selects its accounts, and a root id that is
        not this organisation's (``r-zzzz``) selects nothing, as in Starfleet.
        """
        key = org_unit.lower()
        by_ou = self._map(1)  # also collects the root ids
        if key == "root" or key in self._root_ids:
            return self.all_ids()
        return set(by_ou.get(key, set()))

    def by_tag(self, name: str, value: str) -> set[str]:
        """Accounts carrying the tag ``name=value``, both compared case-insensitively."""
        return set(self._map(2).get((name.lower(), str(value).lower()), set()))

    def org_root_ids(self) -> set[str]:
        """The organisation management ("org root") account ids, read from the account ARNs."""
        if self._org_roots is None:
            # An organisation's ARNs share everything before "account/": parse each distinct prefix once.
            prefixes = {record[3].partition("account/")[0] for record in self._records.values()}
            self._org_roots = {root for root in map(_management_account_id, prefixes) if root}
        return set(self._org_roots)

    def regions_of(self, account_id: str) -> frozenset[str]:
        """The regions enabled for an account (empty for an unknown account)."""
        return self._regions.get(account_id, _NO_REGIONS)

    def name_of(self, account_id: str) -> str:
        """The account's name, or the id itself when the index does not know it."""
        record = self._records.get(account_id)
        return record[1] if record else account_id


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_document(record: AccountRecord) -> dict[str, Any]:
    key, name, status, arn, parents, regions, tags = record
    return {
        "Id": key,
        "Name": name,
        "Status": status,
        "Arn": arn,
        "Parents": list(parents),
        "Regions": sorted(regions),
        "Tags": tags,
    }


def load_account_index(location: Location, *, s3_client: Any = None, include_inactive: bool = False) -> AccountIndex:
    """Read the index from a local file or S3; raises AccountIndexError naming the location."""
    try:
        raw = read_bytes(location, s3_client)
    except LocationError as exc:
        raise AccountIndexError(f"account index {exc}") from exc
    return AccountIndex.from_bytes(raw, source=str(location), include_inactive=include_inactive)
