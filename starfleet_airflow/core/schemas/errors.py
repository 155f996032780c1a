"""Marshmallow's nested error messages as ``Key.SubKey: message`` lines (one walker for every caller)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def error_items(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Walk marshmallow's nested error messages, yielding ``(dotted key, message)`` pairs.

    ``_schema`` (a whole-object error) adds no key part, so the message lands on its parent. Callers that
    file problems by key (the configuration loader, the registry) use the pairs; others ``flatten_errors``.
    """
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            yield from error_items(value, name)
    elif isinstance(messages, list):
        for item in messages:
            yield from error_items(item, prefix)
    else:
        yield prefix, str(messages)


def flatten_errors(messages: Any, prefix: str = "") -> list[str]:
    """Turn marshmallow's nested error dict into ``Key.SubKey: message`` lines, one per problem."""
    return [f"{key}: {message}" if key else message for key, message in error_items(messages, prefix)]
