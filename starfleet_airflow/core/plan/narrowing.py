"""What a manual trigger restricts a run to: templates, accounts and regions that only ever narrow it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starfleet_airflow.core.plan.errors import PlanRefused


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
            cleaned: list[str] = []
            for item in raw:
                if not isinstance(item, (str, int)) or isinstance(item, bool):
                    raise PlanRefused(f"param {name!r}: expected strings, got {item!r}")
                text = str(item).strip()
                if text and text not in cleaned:
                    cleaned.append(text)
            values[name] = tuple(cleaned)
        return cls(**values)

    @property
    def empty(self) -> bool:
        return not (self.templates or self.accounts or self.regions)
