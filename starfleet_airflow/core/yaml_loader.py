"""YAML in, with ``yaml.safe_load`` only, and an error that says where: one place for every YAML input.

Configuration files and payload templates report their YAML errors this one way (``invalid YAML at line
L, column C: problem``), each prefixed with its own file by the caller.
"""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's safe loader when PyYAML was built with it (its wheels are): the same safe subset of YAML,
# 5-10x faster, which the configuration pays at every parse of the DAG file. A document it refuses is
# read again by the pure-Python loader, so that the error reads the same.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load_yaml(data: str | bytes) -> tuple[Any, str | None]:
    """``yaml.safe_load`` that returns ``(document, None)`` or ``(None, problem)`` instead of raising.

    The problem names the line and column when YAML knows them; configuration files and templates
    report their YAML errors this one way, each prefixed with its own file by the caller.
    """
    try:
        return yaml.load(data, Loader=_SAFE_LOADER), None
    except yaml.YAMLError:
        pass  # parse again with the pure-Python loader: its messages are the ones users (and tests) know
    try:
        return yaml.safe_load(data), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is not None:
            return None, f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return None, f"invalid YAML: {problem}"
