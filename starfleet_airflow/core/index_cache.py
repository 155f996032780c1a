"""The account index a ship consults: the run's snapshot, else the configured index, read once per version.

A Lambda container or an Airflow worker runs many targets in a row; the index (megabytes for a large
organisation) is worth one HEAD per target rather than one download and parse.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.account_index import AccountIndex, load_account_index
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION

if TYPE_CHECKING:  # pragma: no cover - typing only
    from starfleet_airflow.core.ship import StarfleetWorkerShip


_INDEX_CACHE: dict[tuple[str, bool], tuple[Any, AccountIndex]] = {}
_INDEX_LOCK = threading.Lock()


def _index_version(location: Location, s3_client: Any) -> Any:
    """A cheap token that changes when the index does: the S3 ETag, or the file's mtime and size."""
    if location.is_s3:
        try:
            return s3_client.head_object(Bucket=location.bucket, Key=location.key)["ETag"]
        except (ClientError, BotoCoreError):
            return None  # let the read itself report the problem
    try:
        stat = Path(location.key).stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def cached_account_index(location: Location, session: Any, *, include_inactive: bool = False) -> AccountIndex:
    """The index at ``location``, parsed again only when it changed since the last call in this process.

    A Lambda container or an Airflow worker runs many targets in a row; the index (megabytes for a large
    organisation) is worth one HEAD per target rather than one download and parse. ``session`` (a
    ``boto3.Session``) is used only for an ``s3://`` location.
    """
    s3_client = session.client("s3") if location.is_s3 else None
    version = _index_version(location, s3_client)
    key = (str(location), include_inactive)
    with _INDEX_LOCK:
        cached = _INDEX_CACHE.get(key)
        if cached is not None and version is not None and cached[0] == version:
            return cached[1]
    index = load_account_index(location, s3_client=s3_client, include_inactive=include_inactive)
    if version is not None:
        with _INDEX_LOCK:
            _INDEX_CACHE[key] = (version, index)
    return index


def index_for_ship(
    ship: StarfleetWorkerShip, *, load: bool = True, include_inactive: bool | None = None
) -> AccountIndex | None:
    """The account index a ship should consult for its current target.

    The run's snapshot (``ship.run_context.extra["account_index"]``, set by the factory for inline runs)
    comes first: it is the very index the targets were resolved with, and free. Otherwise, when ``load``,
    the index the configuration names (``STARFLEET.AccountIndexLocation`` or Starfleet's
    ``StarfleetDefaultAccountIndex`` section, read through ``cached_account_index``; or the account-index
    plugin ``STARFLEET.AccountIndex`` names, asked about the ship's payload); None when there is no
    snapshot and nothing is read (``load`` False, or no index configured), so each ship words that case
    for its own need. ``include_inactive`` defaults to ``STARFLEET.IncludeInactiveAccounts``.

    Raises ``ConfigurationError`` (the configuration cannot be loaded) or ``AccountIndexError`` (the
    index cannot be read or parsed).
    """
    snapshot = ship.run_context.extra.get("account_index")
    if isinstance(snapshot, AccountIndex):
        return snapshot
    if not load:
        return None
    configuration = STARFLEET_CONFIGURATION.configuration
    if configuration.account_index_plugin:
        from starfleet_airflow.core.index_plugins import load_plugin_index_data

        # Written down for this target's payload: the OUs it names are the ones the plugin is asked about.
        data = load_plugin_index_data(configuration.account_index_plugin, [getattr(ship, "payload", {})])
        return AccountIndex.from_dict(data, source=f"account-index plugin {configuration.account_index_plugin}")
    location = configuration.account_index_location
    if location is None:
        return None
    if include_inactive is None:
        include_inactive = bool(ship.starfleet_configuration.get("include_inactive_accounts"))
    return cached_account_index(location, ship.aws_session, include_inactive=include_inactive)
