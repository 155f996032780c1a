"""Which templates an S3 event notification names, for the ships whose prefix covers them.

Starfleet documents the S3 invocation source and never built it. Here the template bucket sends
``s3:ObjectCreated:*`` notifications to an SQS queue; one Airflow asset watcher consumes that queue and
every S3-sourced ship's DAG is scheduled on the asset. Each run then keeps only the keys that fall under
its own ``TemplatePrefix``. This module does the filtering and nothing else (no Airflow, no AWS), so it
is tested on plain notification bodies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

log = logging.getLogger(__name__)

TEMPLATE_SUFFIX = ".yaml"


@dataclass(frozen=True)
class S3ObjectEvent:
    """One S3 record: which bucket, which key (URL-decoded) and what happened."""

    bucket: str
    key: str
    event_name: str


def records_from_body(body: str | dict[str, Any]) -> list[dict[str, Any]]:
    """S3 records from one SQS message body: direct S3 -> SQS, or S3 -> SNS -> SQS (enveloped).

    ``s3:TestEvent`` bodies (sent when the notification is configured) and unknown shapes give no
    records; they are logged, never fatal.
    """
    try:
        data = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        log.warning("Ignoring an S3 events message that is not JSON: %.200s", body)
        return []
    if isinstance(data, dict) and data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        return records_from_body(data["Message"])  # SNS envelope
    if isinstance(data, dict) and data.get("Event") == "s3:TestEvent":
        log.info("Ignoring the s3:TestEvent sent when the bucket notification was configured")
        return []
    records = data.get("Records") if isinstance(data, dict) else None
    if not isinstance(records, list):
        log.warning("Ignoring a message without S3 Records: %.200s", body)
        return []
    return [r for r in records if isinstance(r, dict)]


def object_events(records: Iterable[dict[str, Any]]) -> list[S3ObjectEvent]:
    """Keep the records that describe an S3 object; keys are URL-decoded as S3 sends them encoded."""
    events = []
    for record in records:
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if not bucket or not key:
            log.warning("Ignoring a record that names no S3 bucket/key: %.200s", record)
            continue
        events.append(S3ObjectEvent(bucket=bucket, key=unquote_plus(key), event_name=str(record.get("eventName", ""))))
    return events


def prefix_covers(template_prefix: str, key: str) -> bool:
    """Starfleet's rule: a ``.yaml`` prefix names exactly one template; otherwise a key prefix."""
    if template_prefix.endswith(TEMPLATE_SUFFIX):
        return key == template_prefix
    return key.startswith(template_prefix)


def template_keys_for_ship(
    message_bodies: Iterable[str | dict[str, Any]], *, bucket: str, template_prefix: str, ship_name: str
) -> list[str]:
    """The distinct template keys, in arrival order, that these messages name for one ship.

    Events for another bucket, for keys outside the ship's ``TemplatePrefix``, for non-``.yaml`` keys
    or for anything but object creation are ignored with a log line saying why.
    """
    keys: list[str] = []
    for body in message_bodies:
        for event in object_events(records_from_body(body)):
            if event.bucket != bucket:
                log.info(
                    "%s: ignoring s3://%s/%s (not the template bucket %s)", ship_name, event.bucket, event.key, bucket
                )
            elif not event.event_name.startswith("ObjectCreated"):
                log.info(
                    "%s: ignoring %s on %s (only ObjectCreated starts a run)", ship_name, event.event_name, event.key
                )
            elif not event.key.endswith(TEMPLATE_SUFFIX):
                log.info("%s: ignoring %s (templates end in %s)", ship_name, event.key, TEMPLATE_SUFFIX)
            elif not prefix_covers(template_prefix, event.key):
                log.info("%s: ignoring %s (outside TemplatePrefix %s)", ship_name, event.key, template_prefix)
            elif event.key not in keys:
                keys.append(event.key)
    return keys


def message_bodies_from_asset_events(asset_events: Iterable[Any]) -> list[str | dict[str, Any]]:
    """SQS message bodies carried by Airflow asset events that the SQS trigger created.

    The trigger's event payload is ``{"message_batch": [SQS message, ...]}`` and Airflow stores it in
    the asset event's ``extra["payload"]``. Events without it (a manual asset update) carry nothing.
    """
    bodies: list[str | dict[str, Any]] = []
    for event in asset_events:
        extra = getattr(event, "extra", None) or (event.get("extra") if isinstance(event, dict) else None) or {}
        payload = extra.get("payload") or {}
        for message in payload.get("message_batch") or []:
            if isinstance(message, dict) and "Body" in message:
                bodies.append(message["Body"])
    return bodies
