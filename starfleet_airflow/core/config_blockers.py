"""Why a ship's section cannot be trusted, so that the ship shows up broken instead of vanishing.

A file that is not valid YAML hides every section it holds; a section defined in two files leaves it
unclear which one is meant; an unusable ``STARFLEET`` section leaves every ship without its locations.
Building the ship from what is left would run it with a configuration nobody wrote, and skipping it
would make it disappear from the UI. The registry asks ``blockers`` for each discovered ship and turns
each reason into a problem: the ship becomes its own broken DAG, and ``validate`` names the cause.
"""

from __future__ import annotations

import re
from pathlib import Path

from starfleet_airflow.core.config import Configuration


def _names_top_level_key(text: str, name: str) -> bool:
    """Does an unparseable file hold ``name:`` as a top-level key (plain or quoted, at column 0)?"""
    return re.search(rf"""^["']?{re.escape(name)}["']?[ \t]*:""", text, re.MULTILINE) is not None


def blockers(configuration: Configuration, name: str) -> list[tuple[Path | None, str]]:
    """``(file, reason)`` for each reason ship ``name``'s configuration cannot be used (empty when it can)."""
    reasons: list[tuple[Path | None, str]] = []
    unreadable = [path for path, (text, _) in configuration.unreadable.items() if _names_top_level_key(text, name)]
    if not configuration.starfleet and (name in configuration.raw or unreadable):
        problems = "; ".join(str(p) for p in configuration.errors) or "the STARFLEET section is missing"
        reasons.append(
            (
                configuration.section_files.get(name),
                f"{name} cannot be configured: the STARFLEET section cannot be used ({problems})",
            )
        )
        return reasons
    files = configuration.duplicates.get(name)
    if files:
        listed = ", ".join(map(str, files[:-1])) + f" and in {files[-1]}"
        reasons.append((files[-1], f"section {name} is defined in {listed}; expected one definition"))
    for path in unreadable:
        problem = configuration.unreadable[path][1]
        reasons.append((path, f"{problem} (this file holds the {name} section, which cannot be read)"))
    return reasons
