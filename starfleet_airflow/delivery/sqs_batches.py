"""SQS's limits as arithmetic: entries per call, bytes per call, what a message's attributes add.

``cut_batches`` splits a unit's bodies into ``SendMessageBatch`` calls of at most 10 entries and 256 KiB
(bodies plus attributes), so a run costs ceil(messages / 10) calls when every batch of ten fits.
Also the small facts about a queue URL the sender needs (FIFO or not, its region).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 262_144  # SQS's limit for one message and for the whole SendMessageBatch payload

_QUEUE_REGION = re.compile(r"^https?://(?:sqs(?:-fips)?\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:queue\.)?amazonaws\.com")
_POSITION_IDS: list[str] = []
_POSITION_IDS_LOCK = threading.Lock()


def position_ids(count: int) -> list[str]:
    """``["0", "1", ...]`` with at least ``count`` items, built once per process and grown on demand."""
    if len(_POSITION_IDS) < count:
        with _POSITION_IDS_LOCK:
            _POSITION_IDS.extend(map(str, range(len(_POSITION_IDS), count)))
    return _POSITION_IDS


def queue_region(queue_url: str) -> str | None:
    """The region in an AWS queue URL (``https://sqs.eu-west-1.amazonaws.com/...``); None for others."""
    match = _QUEUE_REGION.match(queue_url)
    return match.group(1) if match else None


def is_fifo(queue_url: str) -> bool:
    return queue_url.rstrip("/").endswith(".fifo")


def message_attributes(*, dag_run_id: str | None, ship: str, template: str) -> dict[str, dict[str, str]]:
    """Tracing attributes on every message (empty values are left out: SQS refuses them)."""
    values = {"StarfleetDagRunId": dag_run_id, "StarfleetShip": ship, "StarfleetTemplate": template}
    return {name: {"DataType": "String", "StringValue": str(v)} for name, v in values.items() if v}


def attributes_size(attributes: dict[str, dict[str, str]]) -> int:
    """Bytes SQS counts for message attributes: name, data type and value of each."""
    return sum(
        len(name.encode()) + len(spec["DataType"].encode()) + len(spec.get("StringValue", "").encode())
        for name, spec in attributes.items()
    )


def message_size(body: str) -> int:
    return len(body) if body.isascii() else len(body.encode("utf-8"))


def cut_batches(
    bodies: Sequence[str],
    *,
    extra_bytes: int = 0,
    max_entries: int = MAX_BATCH_ENTRIES,
    max_bytes: int = MAX_BATCH_BYTES,
) -> tuple[list[tuple[int, int]], list[int]]:
    """Split positions ``0..len(bodies)`` into ``(start, stop)`` batches within SQS's limits.

    ``extra_bytes`` is what each message adds besides its body (attributes). Returns the batches and
    the positions of messages too large to send at all.
    """
    count = len(bodies)
    if not count:
        return [], []
    # A character is at most 4 bytes of UTF-8, so when ten of the longest body fit even at 4 bytes per
    # character, the batches are plain runs of ten, found without encoding or measuring each body.
    if (max(map(len, bodies)) * 4 + extra_bytes) * max_entries <= max_bytes:
        return [(start, min(start + max_entries, count)) for start in range(0, count, max_entries)], []
    batches: list[tuple[int, int]] = []
    too_large: list[int] = []
    start, used = 0, 0
    for position, body in enumerate(bodies):
        size = message_size(body) + extra_bytes
        if size > max_bytes:
            if position > start:
                batches.append((start, position))
            too_large.append(position)
            start, used = position + 1, 0
            continue
        if position - start == max_entries or used + size > max_bytes:
            batches.append((start, position))
            start, used = position, 0
        used += size
    if start < count:
        batches.append((start, count))
    return batches, too_large
