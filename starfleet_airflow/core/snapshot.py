"""One run's inputs, frozen: the account index, the templates and the narrowing the plan used.

The plan task resolves every template against the index and cuts the targets into work units, but it
hands the mapped deliver tasks only small descriptors (template key, slice bounds): passing 100,000
targets through XCom costs minutes. Each deliver task re-derives its slice from this snapshot, so it
sees exactly the index and templates the plan saw, even if the index is regenerated mid-run, and a
retried task delivers exactly the same targets.

A snapshot is JSON (key order kept: message bodies must reproduce the templates byte for byte),
gzip-compressed with a fixed header, and stored under its own sha256: identical inputs give the same
object, a reader checks the digest, and a cached copy can never be stale.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow.aws.locations import Location, LocationError, parse_location, read_bytes, write_bytes

SNAPSHOT_FORMAT = 1
SUFFIX = ".json.gz"


class SnapshotError(Exception):
    """A snapshot cannot be written, read or trusted; the message names its location."""


@dataclass(frozen=True)
class RunSnapshot:
    """What a run's targets are derived from.

    ``index`` is the account index JSON as read; ``templates`` maps template key to the template as
    loaded from YAML (only the templates this run delivers); ``accounts`` / ``regions`` are the
    trigger's narrowing (empty: none); ``scope_to_regions`` is ``STARFLEET.ScopeToRegions`` at plan
    time; ``include_inactive`` is ``STARFLEET.IncludeInactiveAccounts``.
    """

    ship: str
    index: dict[str, Any]
    templates: dict[str, dict[str, Any]]
    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    scope_to_regions: list[str] = field(default_factory=list)
    include_inactive: bool = False

    def to_json(self) -> bytes:
        """The canonical bytes: insertion order kept (never sorted), compact separators."""
        document = {
            "format": SNAPSHOT_FORMAT,
            "ship": self.ship,
            "accounts": list(self.accounts),
            "regions": list(self.regions),
            "scope_to_regions": list(self.scope_to_regions),
            "include_inactive": self.include_inactive,
            "templates": self.templates,
            "index": self.index,
        }
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @property
    def digest(self) -> str:
        """sha256 of ``to_json()``: the snapshot's name."""
        return hashlib.sha256(self.to_json()).hexdigest()

    @classmethod
    def from_json(cls, data: bytes, *, source: str) -> RunSnapshot:
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise SnapshotError(f"{source}: not valid JSON ({exc})") from exc
        if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(f"{source}: expected a run snapshot of format {SNAPSHOT_FORMAT}")
        try:
            return cls(
                ship=document["ship"],
                index=document["index"],
                templates=document["templates"],
                accounts=document["accounts"],
                regions=document["regions"],
                scope_to_regions=document["scope_to_regions"],
                include_inactive=document["include_inactive"],
            )
        except KeyError as exc:
            raise SnapshotError(f"{source}: missing key {exc}") from exc


def snapshot_location(root: Location, ship: str, digest: str) -> Location:
    """Where the snapshot of ``digest`` lives under the configured ``SnapshotLocation``."""
    return root.child(f"{ship}/{digest}{SUFFIX}")


def write_snapshot(snapshot: RunSnapshot, root: Location, s3_client: Any = None) -> str:
    """Store the snapshot under its digest and return its location as text (for the descriptors)."""
    data = snapshot.to_json()
    digest = hashlib.sha256(data).hexdigest()
    location = snapshot_location(root, snapshot.ship, digest)
    try:
        # mtime=0: the same snapshot always compresses to the same bytes.
        write_bytes(location, gzip.compress(data, compresslevel=6, mtime=0), s3_client, "application/gzip")
    except LocationError as exc:
        raise SnapshotError(f"cannot store the run snapshot: {exc}") from exc
    _CACHE.put(str(location), snapshot)
    return str(location)


def read_snapshot(location_text: str, s3_client: Any = None) -> RunSnapshot:
    """Read and verify a snapshot (its content must hash to the digest in its name)."""
    location = parse_location(location_text)
    try:
        compressed = read_bytes(location, s3_client)
    except LocationError as exc:
        raise SnapshotError(f"cannot read the run snapshot: {exc}") from exc
    try:
        data = gzip.decompress(compressed)
    except (OSError, EOFError) as exc:
        raise SnapshotError(f"{location_text}: not a gzip file ({exc})") from exc
    expected = location.key.rsplit("/", 1)[-1].removesuffix(SUFFIX)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise SnapshotError(f"{location_text}: content digest {actual} does not match its name; refusing to use it")
    return RunSnapshot.from_json(data, source=location_text)


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


class _LruCache:
    """A tiny thread-safe LRU keyed by location text (a process holds a few snapshots at most)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _LruCache(size=4)


def clear_cache() -> None:
    """Forget cached snapshots (tests use it to prove a task reads the stored object)."""
    _CACHE.clear()
