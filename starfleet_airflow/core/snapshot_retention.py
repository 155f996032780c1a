"""Prune a ship's run snapshots: keep the newest few, and anything younger than a maximum age.

Each plan stores a content-addressed snapshot (megabytes for a large organisation, one per change of
index or templates); nothing else removes them. After storing its own, a plan deletes the ship's
snapshots that are both older than ``STARFLEET.SnapshotMaxAgeDays`` and not among the newest
``STARFLEET.SnapshotKeepLatest``. Identical inputs rewrite the same object, so a snapshot still in use
was written recently. A run cleared and re-run after its snapshot is gone still gets a report that
counts every target and says why (``core.report``). An S3 lifecycle rule on the prefix does the same
job natively; set ``SnapshotMaxAgeDays: 0`` to leave it to one.

The account index copies under ``<ship>/index/`` (``core.snapshot``) are pruned by the same rule, on
their own: every run that uses a copy touches it just before writing its snapshot, so a copy is never
older than the newest snapshot that refers to it, and whenever that snapshot is kept (young, or among
the newest ``SnapshotKeepLatest``) so is its copy (fewer copies than snapshots are newer than it).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from starfleet_airflow.aws.locations import Location, delete_keys, list_with_times
from starfleet_airflow.core.snapshot import INDEX_FOLDER, SUFFIX

DEFAULT_MAX_AGE_DAYS = 30
DEFAULT_KEEP_LATEST = 10


def prune_snapshots(
    root: Location,
    ship: str,
    *,
    keep_latest: int = DEFAULT_KEEP_LATEST,
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
    now: datetime | None = None,
    s3_client: Any = None,
    keep: str | None = None,
) -> list[str]:
    """Delete ``ship``'s snapshots under ``root`` past both limits; returns what was deleted (as text).

    ``max_age_days`` 0 keeps everything; ``keep`` (a location text) is never deleted. Raises
    ``LocationError`` when the folder cannot be listed or an object cannot be deleted.
    """
    if max_age_days <= 0:
        return []
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=max_age_days)
    deleted: list[str] = []
    for folder in (root.child(f"{ship}/"), root.child(f"{ship}/{INDEX_FOLDER}/")):
        found = list_with_times(folder, SUFFIX, s3_client)  # one level: ``<ship>/`` never lists ``index/``
        found.sort(key=lambda item: item[1], reverse=True)
        doomed = [key for key, modified in found[max(keep_latest, 0) :] if modified < cutoff]
        doomed = [key for key in doomed if _text(folder, key) != keep]
        if doomed:
            delete_keys(folder, doomed, s3_client)
        deleted += [_text(folder, key) for key in doomed]
    return deleted


def _text(folder: Location, key: str) -> str:
    return str(Location(folder.bucket, key)) if folder.is_s3 else key
