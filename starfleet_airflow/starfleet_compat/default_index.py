"""``starfleet.account_index.plugins.starfleet_default_index``: Starfleet's JSON account index as a plugin class.

``StarfleetDefaultAccountIndex()`` reads the configured index (``AccountIndexLocation``, or the section's
``IndexBucket``/``IndexObjectPath``, in S3 or a local file) and answers Starfleet's interface with this
project's semantics. As in Starfleet, a subclass may skip the read and hand its own accounts to
``_load_inventory`` (Starfleet's testing plugins do exactly that).
"""

from __future__ import annotations

import json
from typing import Any

from starfleet_airflow.aws.locations import read_bytes
from starfleet_airflow.core.account_index import AccountIndex as ProjectAccountIndex
from starfleet_airflow.core.account_index import AccountIndexError
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.index_view import StarfleetIndexView


class StarfleetDefaultAccountIndex(StarfleetIndexView):
    """The index ``AccountIndexGeneratorShip`` writes, read from where the configuration says."""

    def __init__(self) -> None:
        configuration = STARFLEET_CONFIGURATION.configuration
        location = configuration.account_index_location
        if location is None:
            raise AccountIndexError(
                "StarfleetDefaultAccountIndex: no index location (set STARFLEET.AccountIndexLocation or the"
                " StarfleetDefaultAccountIndex section's IndexBucket)"
            )
        client = None
        if location.is_s3:
            import boto3

            client = boto3.client("s3", region_name=configuration.starfleet.get("deployment_region"))
        try:
            data = json.loads(read_bytes(location, client))
        except ValueError as exc:
            raise AccountIndexError(f"{location}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
            raise AccountIndexError(f"{location}: expected a JSON object with an 'accounts' mapping")
        self._load_inventory(data["accounts"], source=str(location))

    def _load_inventory(self, account_dict: dict[str, Any], source: str = "<inventory>") -> None:
        """Build the lookups from ``{account id: account}`` (Starfleet's ``accounts`` mapping)."""
        self._document = {"accounts": account_dict}
        include_inactive = bool(
            (STARFLEET_CONFIGURATION.configuration.starfleet or {}).get("include_inactive_accounts")
        )
        StarfleetIndexView.__init__(
            self, ProjectAccountIndex.from_dict(self._document, source=source, include_inactive=include_inactive)
        )

    @property
    def starfleet_index_data(self) -> dict[str, Any]:
        """The index document as read: a run snapshot stores it exactly (``core.index_plugins``)."""
        return self._document


# Starfleet's registration list (its loader found index plugins through it).
ACCOUNT_INDEX_PLUGINS = [StarfleetDefaultAccountIndex]

__all__ = ["ACCOUNT_INDEX_PLUGINS", "StarfleetDefaultAccountIndex"]
