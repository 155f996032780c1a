"""The S3 invocation source in Airflow: one asset fed by the template bucket's S3 notifications.

The template bucket sends ``s3:ObjectCreated:*`` notifications to an SQS queue
(``STARFLEET.TemplateEventsQueueUrl``). One asset watches that queue through the Amazon provider's
SQS event trigger, run by the triggerer; every ship that lists ``S3`` in ``InvocationSources`` is
scheduled on that asset. One watcher, not one per ship: watchers consume (delete) what they read, so
several watchers on one queue would steal each other's notifications. Each ship's run then keeps the
keys under its own ``TemplatePrefix`` (``starfleet_airflow.aws.s3_events``) and renders only those.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from starfleet_airflow.aws.s3_events import message_bodies_from_asset_events, template_keys_for_ship
from starfleet_airflow.core.text import plural

if TYPE_CHECKING:  # pragma: no cover - typing only
    from airflow.sdk import Asset

    from starfleet_airflow.core.config import Configuration
    from starfleet_airflow.core.registry import LoadedShip

log = logging.getLogger(__name__)

ASSET_NAME = "starfleet_template_events"
WATCHER_NAME = "starfleet_template_events_queue"
MAX_MESSAGES_PER_POLL = 10  # SQS ReceiveMessage's maximum


def template_bucket(configuration: Configuration) -> tuple[str, str] | None:
    """(bucket, key prefix of the template store) when templates live in S3, else None."""
    location = configuration.template_location
    if location is None or not location.is_s3:
        return None
    prefix = location.key if not location.key or location.key.endswith("/") else location.key + "/"
    return location.bucket, prefix


def template_events_asset(configuration: Configuration) -> Asset | None:
    """The shared asset, or None when no queue is configured or templates are not in S3.

    Building it imports the provider's trigger but makes no AWS call: the triggerer polls, not the
    DAG processor.
    """
    queue_url = configuration.starfleet.get("template_events_queue_url")
    bucket = template_bucket(configuration)
    if not queue_url or bucket is None:
        return None
    from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger
    from airflow.sdk import Asset, AssetWatcher

    trigger = SqsSensorTrigger(
        sqs_queue=queue_url,
        aws_conn_id=configuration.starfleet.get("aws_conn_id"),
        region_name=configuration.starfleet.get("deployment_region"),
        max_messages=MAX_MESSAGES_PER_POLL,
        waiter_delay=int(configuration.starfleet.get("template_events_poll_seconds") or 30),
    )
    return Asset(
        name=ASSET_NAME,
        uri=f"s3://{bucket[0]}/{bucket[1]}",
        group="starfleet",
        watchers=[AssetWatcher(name=WATCHER_NAME, trigger=trigger)],
    )


def template_keys_from_events(
    triggering_asset_events: Mapping[Any, Any] | None, loaded: LoadedShip, configuration: Configuration
) -> Collection[str] | None:
    """Template keys (relative to the template store) that an asset-triggered run must render.

    None when the run was not started by template events (scheduled, manual, backfill): then every
    template of the ship is rendered. An empty list means the events named nothing for this ship,
    and the run has nothing to do.
    """
    if not triggering_asset_events:
        return None
    events = [event for key, group in triggering_asset_events.items() if _is_ours(key) for event in group]
    if not events:
        return None
    bucket = template_bucket(configuration)
    if bucket is None:
        return []
    store_prefix = bucket[1]
    prefix = loaded.configuration["template_prefix"]
    full_keys = template_keys_for_ship(
        message_bodies_from_asset_events(events),
        bucket=bucket[0],
        template_prefix=store_prefix + prefix,
        ship_name=loaded.name,
    )
    keys = [key[len(store_prefix) :] for key in full_keys]
    log.info(
        "%s: S3 events name %s for this ship: %s", loaded.name, plural(len(keys), "template"), ", ".join(keys) or "-"
    )
    return keys


def _is_ours(key: Any) -> bool:
    """Whether a key of ``triggering_asset_events`` is the template events asset."""
    return getattr(key, "name", None) == ASSET_NAME
