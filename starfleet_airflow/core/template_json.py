"""Does a template survive JSON unchanged? One check, one message per value, used by every caller.

A template travels as a Starfleet SQS message: ``json.dumps`` of the template as loaded from YAML. YAML
has values JSON has not: dates and timestamps (``When: 2024-01-01``), ``!!binary``, ``!!set``, ordered
maps, non-string keys (``123456789012: prod``), NaN and infinity (``.nan``, ``.inf``; ``json.dumps``
writes them as ``NaN``, which no JSON parser accepts). The loader refuses such a template with one line
per value naming its key, what it is and what to write instead, so ``validate``, ``render``, ``plan`` and
the run say the same thing about the same template.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from starfleet_airflow.core.text import plural

MAX_PROBLEMS = 20


def _key_text(key: Any) -> str:
    """A mapping key as YAML would show it (``true``, ``null``, ``12``)."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _value_problem(value: Any) -> str | None:
    """Why one scalar-or-container value cannot be JSON, or None when it can (containers: their type only)."""
    if value is None or isinstance(value, (str, bool, int, dict, list)):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN (YAML .nan) is not a JSON number; use a number or a quoted string"
        if math.isinf(value):
            sign = "-" if value < 0 else ""
            return f"{sign}infinity (YAML {sign}.inf) is not a JSON number; use a number or a quoted string"
        return None
    if isinstance(value, datetime.datetime):
        return f"a YAML timestamp ({value}) cannot be encoded as JSON; quote it: '{value}'"
    if isinstance(value, datetime.date):
        return f"a YAML date ({value}) cannot be encoded as JSON; quote it: '{value}'"
    if isinstance(value, (bytes, bytearray)):
        return "YAML binary data (!!binary) cannot be encoded as JSON; write the base64 text without the !!binary tag"
    if isinstance(value, (set, frozenset)):
        return "a YAML set (!!set) cannot be encoded as JSON; use a list"
    if isinstance(value, tuple):
        return "a YAML ordered mapping (!!omap or !!pairs) does not survive JSON; use a plain mapping"
    return f"a {type(value).__name__} value cannot be encoded as JSON"


def json_problems(template: Any) -> list[str]:
    """``Key.SubKey: problem`` for every value of ``template`` that JSON cannot carry unchanged.

    Iterative (a template's depth is bounded by the YAML loader, but a dict built in memory is not), and
    each container is walked once: YAML aliases share one, and a cycle would never end. At most
    ``MAX_PROBLEMS`` lines, then one saying how many more there are.
    """
    problems: list[str] = []
    more = 0
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", template)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, (dict, list)):
            if id(value) in seen:
                continue
            seen.add(id(value))
        problem = _value_problem(value)
        if problem is not None:
            if isinstance(value, tuple):  # an omap's items are tuples: one message for the whole list
                path = path.rpartition(".")[0]
            if len(problems) < MAX_PROBLEMS:
                problems.append(f"{path}: {problem}" if path else problem)
            else:
                more += 1
            continue
        if isinstance(value, dict):
            children = []
            for key, child in value.items():
                child_path = f"{path}.{_key_text(key)}" if path else _key_text(key)
                if not isinstance(key, str):
                    kind = "null" if key is None else type(key).__name__
                    text = _key_text(key)
                    problem = f"the key {text} is a YAML {kind}; JSON keys are strings: quote it: '{text}'"
                    if len(problems) < MAX_PROBLEMS:
                        problems.append(f"{path}: {problem}" if path else problem)
                    else:
                        more += 1
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value)]))
    problems = list(dict.fromkeys(problems))  # an omap reports once, not once per item
    if more:
        problems.append(f"... and {plural(more, 'more value')} JSON cannot carry")
    return problems
