"""One SQS record, checked before the ship sees it: the event's shape, the addressee, the body, the target.

Everything a record can be wrong about is refused here with a ``RecordRefused`` saying what was expected
and what was found, and it fails that record alone (the batch processor reports it; the rest run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starfleet_airflow.core.json_input import JsonInputError, load_json_object
from starfleet_airflow.core.render import ACCOUNT_KEY, REGION_KEY
from starfleet_airflow.core.schemas import ACCOUNT_ID_PATTERN

SHIP_ATTRIBUTE = "StarfleetShip"  # set by the SQS delivery (delivery.sqs_batches.message_attributes)


class LambdaEventError(ValueError):
    """The Lambda's event is not an SQS batch: nothing in it can be reported record by record."""


class RecordRefused(Exception):
    """This record will not run; the message says why (it fails alone and returns to the queue)."""


@dataclass(frozen=True)
class Message:
    """A record's payload (the template plus Starbase's keys) and the target it names."""

    message_id: str
    payload: dict[str, Any]
    account_id: str | None
    region: str | None


def sqs_records(event: Any) -> list[dict[str, Any]]:
    """The records of an SQS event; raises ``LambdaEventError`` when ``event`` is not one."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not all(_is_sqs_record(r) for r in records):
        found = type(event).__name__ if not isinstance(event, dict) else f"keys {sorted(map(str, event))[:10]}"
        raise LambdaEventError(
            f"expected an SQS event ({{'Records': [{{'messageId': ..., 'body': ...}}, ...]}}), got {found}"
        )
    return records


def _is_sqs_record(record: Any) -> bool:
    """A record as Lambda's SQS source builds it: a message id, and objects where SQS puts objects."""
    return (
        isinstance(record, dict)
        and isinstance(record.get("messageId"), str)
        and bool(record["messageId"])
        and isinstance(record.get("attributes", {}), dict)
        and isinstance(record.get("messageAttributes", {}), dict)
    )


def addressed_ship(record: dict[str, Any]) -> str | None:
    """The ship the record's ``StarfleetShip`` message attribute names (None without one: Starbase sets none)."""
    attributes = record.get("messageAttributes")
    attribute = attributes.get(SHIP_ATTRIBUTE) if isinstance(attributes, dict) else None
    if not isinstance(attribute, dict):
        return None
    value = attribute.get("stringValue")
    return value if isinstance(value, str) else str(value)


def _target_value(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordRefused(f"{key}: expected a string, got {type(value).__name__} {str(value)[:40]!r}")
    if key == ACCOUNT_KEY and not ACCOUNT_ID_PATTERN.match(value):
        raise RecordRefused(f"{key}: expected a 12-digit AWS account id, got {value[:40]!r}")
    return value


def read_message(record: dict[str, Any], ship_name: str) -> Message:
    """The record's message for ``ship_name``; raises ``RecordRefused`` saying what is wrong with it."""
    message_id = str(record["messageId"])
    addressee = addressed_ship(record)
    if addressee is not None and addressee != ship_name:
        raise RecordRefused(
            f"message attribute {SHIP_ATTRIBUTE} is {addressee[:100]!r}; this Lambda runs {ship_name}"
            " (a message sent to the wrong queue?)"
        )
    body = record.get("body")
    if not isinstance(body, str):
        raise RecordRefused(f"body: expected the JSON text of a payload template, got {type(body).__name__}")
    try:
        payload = load_json_object(body, "body")
    except JsonInputError as exc:
        raise RecordRefused(str(exc)) from None
    return Message(message_id, payload, _target_value(payload, ACCOUNT_KEY), _target_value(payload, REGION_KEY))
