"""Decode Starfleet's account index JSON fast, into the plain values ``AccountIndex`` is built from.

The index of a large organisation is megabytes of JSON (4.4 MB for 5,000 accounts), read by every
plan. ``json.loads`` of it builds every string, list and dict of every account, then a second pass
checks their shapes. Here msgspec (already an Airflow dependency) decodes each account into a typed
record in one pass, skipping the fields the orchestrator never reads (``Email``, ``JoinedMethod``...),
and keeps ``Parents``, ``Regions`` and ``Tags`` as raw JSON bytes at first: accounts of one OU share
their parent chain and most accounts share one region list, so each distinct value is decoded and
type-checked once, and every account that has it shares the same (immutable) object.

Anything msgspec refuses, including values that the orchestrator accepts after a conversion (a tag
value that is a number), goes to ``None``: the caller then takes the careful path over ``json.loads``,
which lists every problem with its key. Both paths give the same records for a valid index.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from starfleet_airflow.core.schemas.payload import ACCOUNT_ID_PATTERN

ACTIVE = "ACTIVE"

# (id, name, status, arn, parents, regions, tags): what AccountIndex keeps of one account
AccountRecord = tuple[str, str, str, str, tuple[dict[str, str], ...], frozenset[str], dict[str, str]]


class _Parent(msgspec.Struct, frozen=True):
    Id: str
    Name: str
    Type: str = ""


class _Account(msgspec.Struct):
    Name: str
    Id: str | int | None = None
    Status: str = ACTIVE
    Arn: str = ""
    Parents: msgspec.Raw = msgspec.Raw(b"[]")
    Regions: msgspec.Raw = msgspec.Raw(b"[]")
    Tags: msgspec.Raw = msgspec.Raw(b"{}")


class _Index(msgspec.Struct):
    accounts: dict[str, _Account]
    generated: Any = None


_INDEX = msgspec.json.Decoder(_Index)
_PARENTS = msgspec.json.Decoder(tuple[_Parent, ...])
_REGIONS = msgspec.json.Decoder(frozenset[str])
_TAGS = msgspec.json.Decoder(dict[str, str])


class _Interned:
    """Decode each distinct raw JSON value once; accounts with the same bytes share the result."""

    def __init__(self, decoder: msgspec.json.Decoder, convert: Any = None) -> None:
        self._decoder = decoder
        self._convert = convert
        self._seen: dict[bytes, Any] = {}

    def __call__(self, raw: msgspec.Raw) -> Any:
        key = bytes(raw)
        value = self._seen.get(key)
        if value is None:
            value = self._decoder.decode(key)
            if self._convert is not None:
                value = self._convert(value)
            self._seen[key] = value
        return value


def _parent_dicts(parents: tuple[_Parent, ...]) -> tuple[dict[str, str], ...]:
    return tuple({"Id": p.Id, "Type": p.Type, "Name": p.Name} for p in parents)


def decode_index(raw: bytes) -> tuple[list[AccountRecord], Any] | None:
    """``(records of every account, the "generated" value)``, or None when the careful path must decide."""
    try:
        document = _INDEX.decode(raw)
        parents, regions, tags = _Interned(_PARENTS, _parent_dicts), _Interned(_REGIONS), _Interned(_TAGS)
        records: list[AccountRecord] = []
        append = records.append
        for account_id, account in document.accounts.items():
            if (account.Id is not None and str(account.Id) != account_id) or not ACCOUNT_ID_PATTERN.match(account_id):
                return None  # the careful path words it
            append(
                (
                    account_id,
                    account.Name,
                    account.Status,
                    account.Arn,
                    parents(account.Parents),
                    regions(account.Regions),
                    tags(account.Tags),
                )
            )
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    return records, document.generated


def records_from_dict(data: dict[str, Any], source: str) -> Iterator[AccountRecord | str]:
    """The careful path: one record per usable account, or a message (naming the key) per problem."""
    for account_id, raw in data["accounts"].items():
        yield from _checked(str(account_id), raw, f"{source}: accounts.{account_id}")


def _checked(account_id: str, raw: Any, where: str) -> Iterator[AccountRecord | str]:
    if not ACCOUNT_ID_PATTERN.match(account_id):
        yield f"{where}: expected a 12-digit AWS account id as the key"
        return
    if not isinstance(raw, dict):
        yield f"{where}: expected an object"
        return
    problems: list[str] = []
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
    if problems:
        yield from problems
        return
    yield (
        account_id,
        str(name),
        str(raw.get("Status", ACTIVE)),
        str(raw.get("Arn", "")),
        tuple({"Id": p["Id"], "Type": str(p.get("Type", "")), "Name": p["Name"]} for p in parents),
        frozenset(regions),
        {str(k): str(v) for k, v in tags.items()},
    )
