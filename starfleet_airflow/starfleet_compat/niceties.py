"""``starfleet.utils.niceties`` and ``starfleet.worker_ships.niceties``: ``get_all_regions`` and ``un_wrap_json``."""

from __future__ import annotations

import datetime
import json
from functools import cache
from typing import Any
from urllib.parse import unquote


@cache
def _regions(service: str) -> frozenset[str]:
    import botocore.session

    return frozenset(botocore.session.get_session().get_available_regions(service))


def get_all_regions(service: str = "ec2") -> set[str]:
    """The regions of ``service`` in the ``aws`` partition, from botocore's endpoint data (no network).

    Starfleet built a boto3 session per call; the table only changes with botocore, so it is read once per
    service and process. A new set each call: callers may change it.
    """
    return set(_regions(service))


def un_wrap_json(json_obj: Any) -> Any:
    """Decode JSON nested in strings (and URL-encoded JSON), recursively; datetimes become strings, lists sorted.

    For ships that diff AWS documents (policies come back URL-encoded, as strings inside JSON).
    """
    if isinstance(json_obj, (datetime.datetime, datetime.date)):
        return str(json_obj)
    if isinstance(json_obj, dict):
        return {key: un_wrap_json(value) for key, value in json_obj.items()}
    if isinstance(json_obj, list):
        items = [un_wrap_json(item) for item in json_obj]
        try:
            return sorted(items)
        except TypeError:  # mixed or unorderable items keep their order
            return items
    if isinstance(json_obj, str):
        for text in (json_obj, unquote(json_obj)):
            try:
                decoded = json.loads(text)
            except ValueError:
                continue
            if isinstance(decoded, (dict, list)):
                return un_wrap_json(decoded)
        return json_obj
    return json_obj


__all__ = ["get_all_regions", "un_wrap_json"]
