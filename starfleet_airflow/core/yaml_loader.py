"""YAML in, with ``yaml.safe_load`` only, and an error that says where: one place for every YAML input.

Configuration files and payload templates report their YAML errors this one way (``invalid YAML at line
L, column C: problem``), each prefixed with its own file by the caller.
"""

from __future__ import annotations

from typing import Any

import yaml


def safe_load_yaml(data: str | bytes) -> tuple[Any, str | None]:
    """``yaml.safe_load`` that returns ``(document, None)`` or ``(None, problem)`` instead of raising.

    The problem names the line and column when YAML knows them; configuration files and templates
    report their YAML errors this one way, each prefixed with its own file by the caller.
    """
    try:
        return yaml.safe_load(data), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is not None:
            return None, f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return None, f"invalid YAML: {problem}"
