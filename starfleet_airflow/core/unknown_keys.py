"""Keys of a known configuration section that nothing reads, with a "did you mean" for near misses.

Starfleet's schemas keep unknown keys (``unknown = INCLUDE``), so a misspelt ``ScopeToRegion`` turns the
region guard off without a word. Every key of ``STARFLEET``, of Starfleet's default index section and of
a ship's section is checked against what reads it: this project's schemas, Starfleet's own keys (a
Starfleet file loads unchanged, and issue-free) and the ship's configuration schema. What nothing reads
is reported; ``validate`` fails on it and the DAG's docs show it (in a ship's own section only near misses
fail: a Starfleet ship may read an undeclared key of its section, see ``split_ship_keys``). Marshmallow's own
"Unknown field." (from schemas that refuse unknown keys, like ``Airflow``) gets the same suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import Schema

# Starfleet's own keys (starfleet/utils/config_schema.py and ship_schematics.py), read by Starfleet or by
# ported ships even where this project's schemas do not declare them.
STARFLEET_SECTION_KEYS = frozenset(
    {
        "DeploymentRegion",
        "TemplateBucket",
        "FanOutQueueUrl",
        "AccountIndex",
        "ScopeToRegions",
        "SecretsManager",
        "SlackEnabled",
        "LogLevel",
        "ThirdPartyLoggerLevels",
    }
)
SHIP_SECTION_KEYS = frozenset(
    {
        "Enabled",
        "TemplatePrefix",
        "InvocationQueueUrl",
        "InvocationSources",
        "EventBridgeTimedFrequency",
        "StarbaseInvocationTopicArn",
        "AlertConfiguration",
    }
)
DEFAULT_INDEX_KEYS = frozenset({"IndexBucket", "BucketRegion", "IndexObjectPath"})


def declared_keys(schema: type[Schema] | Schema) -> set[str]:
    """The YAML keys a marshmallow schema declares (``data_key`` or the field name)."""
    fields = schema._declared_fields if isinstance(schema, type) else schema.declared_fields
    return {field.data_key or name for name, field in fields.items()}


def unknown_key_message(key: str, known: Iterable[str]) -> str:
    """``unknown key; did you mean ScopeToRegions?`` (or the keys expected when nothing is close)."""
    known = sorted(set(known))
    close = near_miss(key, known)
    if close:
        return f"unknown key; did you mean {close}? (nothing reads {key})"
    shown = ", ".join(known[:25]) + (", ..." if len(known) > 25 else "")
    return f"unknown key; expected one of {shown}"


def near_miss(key: str, known: Iterable[str]) -> str | None:
    """The known key ``key`` is most likely a misspelling of, or None when nothing is close."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


def split_ship_keys(
    section: Mapping[Any, Any], known: Iterable[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A ship section's undeclared keys: ``(near misses, others)``, each as ``(key, message)``.

    Starfleet's ship schema keeps unknown keys on purpose: a Starfleet ship may read a key of its section
    straight from ``STARFLEET_CONFIGURATION.config`` without declaring it. So only a key that is a near miss
    of a declared one is taken for a typo (``validate`` fails on it); any other undeclared key is reported as
    kept for the ship to read, which ``validate`` prints as a warning.
    """
    known = set(known)
    typos: list[tuple[str, str]] = []
    undeclared: list[tuple[str, str]] = []
    for raw_key in section:
        key = str(raw_key)
        if key in known:
            continue
        if near_miss(key, known):
            typos.append((key, unknown_key_message(key, known)))
        else:
            undeclared.append(
                (
                    key,
                    "not declared by the ship's configuration schema: kept for the ship to read (as Starfleet"
                    " ships read STARFLEET_CONFIGURATION.config), never validated; declare it to have it checked",
                )
            )
    return typos, undeclared


def unknown_keys(section: Mapping[Any, Any], known: Iterable[str]) -> list[tuple[str, str]]:
    """``(key, message)`` for every key of ``section`` not in ``known``, in the section's order."""
    known = set(known)
    return [(str(key), unknown_key_message(str(key), known)) for key in section if str(key) not in known]
