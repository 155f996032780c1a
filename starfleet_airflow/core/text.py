"""Counted nouns for messages a person reads: ``1 target``, ``2 targets``, never ``1 failures`` or ``target(s)``.

One helper for the CLI, the task logs, the report's verdict and the demo, so every message agrees.
"""

from __future__ import annotations

from collections.abc import Sized


def noun(count: int, word: str, plural: str | None = None) -> str:
    """``word`` or its plural (``word + "s"`` unless given) for ``count`` things, without the number."""
    return word if count == 1 else (plural or word + "s")


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    """``1 target``, ``2 targets``, ``0 targets``; ``plural(2, "entry", "entries")`` for irregular nouns."""
    return f"{count} {noun(count, word, plural_form)}"


def listed(items: Sized, word: str, plural_form: str | None = None) -> str:
    """``account`` or ``accounts`` for a list of things named right after it (``accounts a, b are ...``)."""
    return noun(len(items), word, plural_form)


def verb_be(items: Sized) -> str:
    """``is`` for one thing, ``are`` for several (or none)."""
    return "is" if len(items) == 1 else "are"
