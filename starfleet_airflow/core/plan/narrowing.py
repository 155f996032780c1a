"""What a manual trigger restricts a run to: templates, accounts and regions that only ever narrow it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starfleet_airflow.core.plan.errors import PlanRefused

LISTED_LIMIT = 10  # values a refusal names before saying how many more there are


def listed(values: Sequence[str], limit: int = LISTED_LIMIT) -> str:
    """``a, b, c`` or ``a, ..., j ... and 19,990 more (20,000 in all)``: a refusal stays one readable line."""
    shown = ", ".join(values[:limit])
    if len(values) <= limit:
        return shown
    return f"{shown} ... and {len(values) - limit:,} more ({len(values):,} in all)"


def brief(value: Any, limit: int = 80) -> str:
    """A value's type and the start of its repr, for a message about one bad item."""
    text = repr(value)
    return f"a {type(value).__name__} {text[:limit]}{'...' if len(text) > limit else ''}"


@dataclass(frozen=True)
class Narrowing:
    """What a manual trigger restricts the run to; empty tuples mean "no restriction"."""

    templates: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Narrowing:
        """Read the DAG params ``templates``, ``accounts``, ``regions`` (lists of strings, or None)."""
        values: dict[str, tuple[str, ...]] = {}
        for name in ("templates", "accounts", "regions"):
            raw = params.get(name)
            if raw is None:
                raw = []
            if isinstance(raw, str):  # "a, b" or one per line, as a form field may send it
                raw = raw.replace("\n", ",").split(",")
            if not isinstance(raw, (list, tuple)):
                raise PlanRefused(f"param {name!r}: expected a list of strings, got {type(raw).__name__}")
            cleaned: dict[str, None] = {}  # insertion-ordered set: linear, however many values
            for item in raw:
                if not isinstance(item, (str, int)) or isinstance(item, bool):
                    raise PlanRefused(f"param {name!r}: expected strings, got {brief(item)}")
                text = str(item).strip()
                if text:
                    cleaned[text] = None
            values[name] = tuple(cleaned)
        return cls(**values)

    @property
    def empty(self) -> bool:
        return not (self.templates or self.accounts or self.regions)
