"""Starfleet-compatible message bodies, built fast.

Starfleet's Starbase sets ``StarbaseAssignedAccount`` (and ``StarbaseAssignedRegion``) on the template
dict as loaded from YAML and calls ``json.dumps`` on the whole template for every target. An existing
Starfleet worker Lambda parses exactly that, so our bodies must be byte-for-byte the same string.

Since the template is the same for every target, ``BodyRenderer`` serialises it once and splices the
per-target keys onto the end. ``json.dumps`` with default separators writes ``{"a": 1, "b": 2}``; a key
added to a dict goes last, so the body for a target is the serialised template without its closing
brace, then ``, "StarbaseAssignedAccount": "<id>"`` (and the region), then ``}``. When the template
already holds one of those keys, Python keeps the key where it was and only replaces its value, so the
splice would be wrong: the renderer then falls back to the slow path (copy, set, dump), which is exact
by construction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from starfleet_airflow.core.targets import TargetList

ACCOUNT_KEY = "StarbaseAssignedAccount"
REGION_KEY = "StarbaseAssignedRegion"


class RenderError(ValueError):
    """A template cannot be rendered into a message body (e.g. it holds values JSON cannot encode)."""


def render_body(raw_template: dict[str, Any], account_id: str | None, region: str | None) -> str:
    """The body Starfleet's Starbase would send for one target; the reference implementation.

    ``account_id`` None means SINGLE_INVOCATION (the template unchanged); ``region`` None means an
    ACCOUNT fan-out (no region key). The caller's dict is never modified.
    """
    message = dict(raw_template)
    if account_id is not None:
        message[ACCOUNT_KEY] = account_id
        if region is not None:
            message[REGION_KEY] = region
    try:
        return json.dumps(message)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"the template cannot be encoded as JSON ({exc})") from exc


class BodyRenderer:
    """Render many bodies of one template: one ``json.dumps`` of the template, then string splices.

    ``body`` and ``bodies`` return exactly what ``render_body`` returns for the same targets. ``bodies``
    is the hot path: targets arrive sorted by account, so each account's part of the body is built
    once and each target costs one string concatenation.
    """

    def __init__(self, raw_template: dict[str, Any]) -> None:
        self._template = raw_template
        try:
            self._whole = json.dumps(raw_template)
        except (TypeError, ValueError) as exc:
            raise RenderError(f"the template cannot be encoded as JSON ({exc})") from exc
        # A template that already holds a Starbase key keeps it in place: splicing would be wrong.
        self.fast = ACCOUNT_KEY not in raw_template and REGION_KEY not in raw_template
        # '{"a": 1}' -> '{"a": 1, ' ; an empty template '{}' -> '{' (no separator).
        self._head = self._whole[:-1] + (", " if raw_template else "")

    @property
    def template_json(self) -> str:
        """The template serialised once (also the SINGLE_INVOCATION body)."""
        return self._whole

    def body(self, account_id: str | None, region: str | None = None) -> str:
        """The body for one target."""
        return self.bodies([(account_id, region)])[0]

    def bodies(self, targets: Sequence[tuple[str | None, str | None]]) -> list[str]:
        """Bodies for many (account_id, region) targets, in order; equal to ``[body(a, r) ...]``.

        Accounts of an organisation mostly share the same region list, so the region tails of a
        list (``'"us-east-1"}'``...) are built once per distinct list and every body is one
        concatenation of the account's prefix and a tail, done by ``map`` at C speed.
        """
        if not self.fast:
            return [render_body(self._template, account_id, region) for account_id, region in targets]
        account_key = f"{self._head}{_json_string(ACCOUNT_KEY)}: "
        region_key = f", {_json_string(REGION_KEY)}: "
        tails_of: dict[tuple[str | None, ...], list[str]] = {}
        out: list[str] = []
        extend = out.extend
        if isinstance(targets, TargetList):  # already grouped by account, region tuples shared
            groups: Iterable[tuple[str | None, tuple[str | None, ...]]] = targets.groups()
        else:
            groups = ((account, tuple(map(_REGION, group))) for account, group in groupby(targets, key=_ACCOUNT))
        for account_id, regions in groups:
            if account_id is None:  # SINGLE_INVOCATION: the template unchanged
                extend(self._whole for _ in regions)
                continue
            tails = tails_of.get(regions)
            if tails is None:
                tails = tails_of[regions] = [
                    "}" if region is None else f"{region_key}{_json_string(region)}}}" for region in regions
                ]
            extend(map((account_key + _json_string(account_id)).__add__, tails))
        return out


_ACCOUNT = itemgetter(0)
_REGION = itemgetter(1)


_SAFE = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.")


def _json_string(text: str) -> str:
    """``json.dumps(text)``, with a shortcut for ids and region names that need no escaping."""
    if _SAFE.issuperset(text):
        return f'"{text}"'
    return json.dumps(text)
