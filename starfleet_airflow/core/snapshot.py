"""One run's inputs, frozen: the account index, the templates, the narrowing, and each unit's targets.

The plan task resolves every template and cuts the targets into work units, but hands the mapped
deliver tasks only small descriptors through XCom (passing 100,000 targets through XCom costs minutes).
What a deliver task needs lives in the snapshot, laid out so that it reads only its own share:

* ``<SnapshotLocation>/<ship>/<digest>.json.gz``: gzip members, one after the other (so the whole file
  is one valid gzip stream). Member 0 is the *header* (templates, narrowing, the index's sha256);
  member ``k`` is unit ``k - 1``'s targets in ``TargetList``'s compact form. Each descriptor carries the
  byte range and digest of the header and of its unit's member: a deliver task makes two ranged reads of
  a few kilobytes, whatever the size of the template or the organisation.
* ``<SnapshotLocation>/<ship>/index/<sha256>.json.gz``: the account index bytes exactly as read, stored
  under their own digest, written only when no run stored that version before (an index changes
  daily, runs happen every few minutes), touched when a run uses it again (retention goes by age).
  Read by the report and by inline delivery, which need names.

The run snapshot's name is the sha256 of the whole uncompressed stream: identical inputs give the
same object, a reader of the whole file checks it, a reader of a part checks the part's digest, and a
cached copy can never be stale. Snapshots of format 1 (the index inside the one JSON document, no parts)
are still read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import msgspec

from starfleet_airflow.aws.locations import (
    Location,
    LocationError,
    exists,
    parse_location,
    read_bytes,
    read_range,
    touch,
    write_bytes,
)
from starfleet_airflow.core.gc_pause import collector_paused
from starfleet_airflow.core.snapshot_cache import SNAPSHOTS as _CACHE
from starfleet_airflow.core.snapshot_cache import clear_cache
from starfleet_airflow.core.targets import TargetList

__all__ = [
    "SNAPSHOT_FORMAT",
    "SUFFIX",
    "Part",
    "RunSnapshot",
    "SnapshotError",
    "StoredSnapshot",
    "clear_cache",
    "load_snapshot",
    "load_unit",
    "read_snapshot",
    "snapshot_location",
    "store_snapshot",
    "write_snapshot",
]

SNAPSHOT_FORMAT = 2
SUFFIX = ".json.gz"
INDEX_FOLDER = "index"
COMPRESS_LEVEL = 1  # the index copy is most of the bytes: level 1 is 2-3x faster than 6 for 30% more


class SnapshotError(Exception):
    """A snapshot cannot be written, read or trusted; the message names its location."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class RunSnapshot:
    """What a run's targets are derived from.

    ``index`` is the account index JSON as read (bytes; a dict is serialised once); ``templates`` maps
    template key to the template as loaded from YAML (only the templates this run delivers);
    ``accounts`` / ``regions`` are the trigger's narrowing (empty: none); ``scope_to_regions`` is
    ``STARFLEET.ScopeToRegions`` at plan time; ``include_inactive`` is ``STARFLEET.IncludeInactiveAccounts``.
    """

    ship: str
    index: bytes
    templates: dict[str, dict[str, Any]]
    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    scope_to_regions: list[str] = field(default_factory=list)
    include_inactive: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.index, bytes):
            text = json.dumps(self.index, separators=(",", ":"), ensure_ascii=False)
            object.__setattr__(self, "index", text.encode("utf-8"))

    @cached_property
    def index_digest(self) -> str:
        return _sha256(self.index)

    def to_json(self) -> bytes:
        """The header's canonical bytes: insertion order kept (never sorted), compact separators."""
        document = {
            "format": SNAPSHOT_FORMAT,
            "ship": self.ship,
            "accounts": list(self.accounts),
            "regions": list(self.regions),
            "scope_to_regions": list(self.scope_to_regions),
            "include_inactive": self.include_inactive,
            "templates": self.templates,
            "index": {"sha256": self.index_digest, "bytes": len(self.index)},
        }
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @property
    def digest(self) -> str:
        """The name of this snapshot stored without unit parts: sha256 of ``to_json()``."""
        return _sha256(self.to_json())


@dataclass(frozen=True)
class Part:
    """A byte range of the stored snapshot and the sha256 (first 32 hex digits) of its content."""

    offset: int
    length: int
    digest: str

    def to_list(self) -> list[Any]:
        return [self.offset, self.length, self.digest]

    @classmethod
    def from_list(cls, value: Any) -> Part:
        offset, length, digest = value
        return cls(int(offset), int(length), str(digest))


@dataclass(frozen=True)
class StoredSnapshot:
    """Where ``store_snapshot`` put the snapshot, and the parts the unit descriptors point at."""

    location: str
    header: Part
    units: list[Part]


def snapshot_location(root: Location, ship: str, digest: str) -> Location:
    """Where the snapshot of ``digest`` lives under the configured ``SnapshotLocation``."""
    return root.child(f"{ship}/{digest}{SUFFIX}")


def _index_location(snapshot_at: Location, digest: str) -> Location:
    folder = Location(snapshot_at.bucket, snapshot_at.key.rpartition("/")[0])
    return folder.child(f"{INDEX_FOLDER}/{digest}{SUFFIX}")


def store_snapshot(
    snapshot: RunSnapshot, root: Location, s3_client: Any = None, unit_targets: Sequence[TargetList] = ()
) -> StoredSnapshot:
    """Store the snapshot (and the index version, when new) and return where each part is."""
    contents = [snapshot.to_json()]
    with collector_paused():
        contents.extend(b"\n" + msgspec.json.encode(targets.to_document()) for targets in unit_targets)
    digest = hashlib.sha256()
    for content in contents:
        digest.update(content)
    location = snapshot_location(root, snapshot.ship, digest.hexdigest())
    members = [gzip.compress(content, compresslevel=COMPRESS_LEVEL, mtime=0) for content in contents]
    parts: list[Part] = []
    offset = 0
    for content, member in zip(contents, members, strict=True):
        parts.append(Part(offset, len(member), _sha256(content)[:32]))
        offset += len(member)
    try:
        index_at = _index_location(location, snapshot.index_digest)
        if exists(index_at, s3_client):
            touch(index_at, s3_client, "application/gzip")  # in use again: retention keeps it (snapshot_retention)
        else:
            index_member = gzip.compress(snapshot.index, compresslevel=COMPRESS_LEVEL, mtime=0)
            write_bytes(index_at, index_member, s3_client, "application/gzip")
        write_bytes(location, b"".join(members), s3_client, "application/gzip")
    except LocationError as exc:
        raise SnapshotError(f"cannot store the run snapshot: {exc}") from exc
    _CACHE.put(str(location), snapshot)
    return StoredSnapshot(str(location), parts[0], parts[1:])


def write_snapshot(snapshot: RunSnapshot, root: Location, s3_client: Any = None) -> str:
    """Store a snapshot without unit parts; returns its location as text."""
    return store_snapshot(snapshot, root, s3_client).location


def _header_snapshot(document: Any, source: str, index: bytes | dict[str, Any]) -> RunSnapshot:
    try:
        return RunSnapshot(
            ship=document["ship"],
            index=index,  # type: ignore[arg-type]  # a format-1 dict is serialised by __post_init__
            templates=document["templates"],
            accounts=document["accounts"],
            regions=document["regions"],
            scope_to_regions=document["scope_to_regions"],
            include_inactive=document["include_inactive"],
        )
    except (KeyError, TypeError) as exc:
        raise SnapshotError(f"{source}: missing key {exc}") from exc


def _decompress(data: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise SnapshotError(f"{source}: not a gzip file ({exc})") from exc


def _header_document(data: bytes, source: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise SnapshotError(f"{source}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") not in (1, SNAPSHOT_FORMAT):
        raise SnapshotError(f"{source}: expected a run snapshot of format {SNAPSHOT_FORMAT}")
    return document


def read_snapshot(location_text: str, s3_client: Any = None) -> RunSnapshot:
    """Read and verify a whole snapshot (its content must hash to the digest in its name) and its index."""
    location = parse_location(location_text)
    try:
        stream = _decompress(read_bytes(location, s3_client), location_text)
    except LocationError as exc:
        raise SnapshotError(f"cannot read the run snapshot: {exc}") from exc
    expected = location.key.rsplit("/", 1)[-1].removesuffix(SUFFIX)
    actual = _sha256(stream)
    if actual != expected:
        raise SnapshotError(f"{location_text}: content digest {actual} does not match its name; refusing to use it")
    document = _header_document(stream.split(b"\n", 1)[0], location_text)
    if document["format"] == 1:
        return _header_snapshot(document, location_text, document.get("index", {}))
    digest = str((document.get("index") or {}).get("sha256", ""))
    index_at = _index_location(location, digest)
    try:
        index = _decompress(read_bytes(index_at, s3_client), str(index_at))
    except LocationError as exc:
        raise SnapshotError(f"cannot read the run's account index copy: {exc}") from exc
    if _sha256(index) != digest:
        raise SnapshotError(f"{index_at}: content does not match its name; refusing to use it")
    return _header_snapshot(document, location_text, index)


def load_snapshot(location_text: str, s3_client_factory: Callable[[], Any] | None = None) -> RunSnapshot:
    """``read_snapshot`` through a small per-process cache (content-addressed, so never stale).

    ``s3_client_factory`` is called only on a cache miss for an S3 location, so a warm worker makes
    no AWS call at all.
    """
    cached = _CACHE.get(location_text)
    if cached is not None:
        return cached
    client = s3_client_factory() if s3_client_factory and location_text.startswith("s3://") else None
    snapshot = read_snapshot(location_text, client)
    _CACHE.put(location_text, snapshot)
    return snapshot


def _read_part(location_text: str, part: Part, s3_client: Any) -> bytes:
    try:
        data = _decompress(
            read_range(parse_location(location_text), part.offset, part.length, s3_client), location_text
        )
    except LocationError as exc:
        raise SnapshotError(f"cannot read the run snapshot: {exc}") from exc
    if _sha256(data)[:32] != part.digest:
        raise SnapshotError(f"{location_text}: bytes {part.offset}+{part.length} do not match their digest")
    return data


def load_unit(
    location_text: str, header: Part, unit: Part, s3_client_factory: Callable[[], Any] | None = None
) -> tuple[dict[str, Any], TargetList]:
    """One deliver task's share: the snapshot header (templates, narrowing) and its unit's targets.

    Two ranged reads of a few kilobytes, each checked against its digest: the cost follows the unit,
    never the organisation or the template.
    """
    client = s3_client_factory() if s3_client_factory and location_text.startswith("s3://") else None
    key = f"{location_text}#{header.offset}+{header.length}"
    document = _CACHE.get(key)
    if document is None:
        document = _header_document(_read_part(location_text, header, client), location_text)
        _CACHE.put(key, document)
    try:
        with collector_paused():
            targets = TargetList.from_document(msgspec.json.decode(_read_part(location_text, unit, client)))
    except (ValueError, msgspec.DecodeError) as exc:
        raise SnapshotError(f"{location_text}: unit part at {unit.offset} is not a target list ({exc})") from exc
    return document, targets
