"""JSON in, within bounds: an object, no deeper than a template may be, no NaN, an error saying where.

``json.loads`` accepts ``NaN`` and ``Infinity`` (which no other JSON parser does) and raises
``RecursionError``, not ``ValueError``, for a deeply nested document; a message body, a trigger's conf
or an index is input from outside, so each of those becomes a ``JsonInputError`` naming what was read.
"""

from __future__ import annotations

import json
from typing import Any

from starfleet_airflow.core.yaml_loader import TEMPLATE_LIMITS

MAX_DEPTH = TEMPLATE_LIMITS.max_depth


class JsonInputError(ValueError):
    """A JSON input is not what was expected; the message names it, what was expected and what was found."""


def _no_constants(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON value; expected a number or a quoted string")


def depth_of(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), walked without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in item if isinstance(child, (dict, list)))
    return deepest


def load_json_object(text: str | bytes, what: str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Parse ``text`` as one JSON object of at most ``max_depth`` levels; ``what`` names it in errors."""
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except JsonInputError as exc:
        raise JsonInputError(f"{what}: {exc}") from None
    except RecursionError:
        raise JsonInputError(f"{what}: nested too deeply; expected at most {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"{what}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # bytes that are not UTF-8
        raise JsonInputError(f"{what}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise JsonInputError(f"{what}: expected a JSON object, got {type(value).__name__}")
    depth = depth_of(value)
    if depth > max_depth:
        raise JsonInputError(f"{what}: nested {depth} levels deep; expected at most {max_depth}")
    return value
