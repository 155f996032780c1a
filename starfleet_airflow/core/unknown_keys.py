"""Keys of a known configuration section that nothing reads, with a "did you mean" for near misses.

Starfleet's schemas keep unknown keys (``unknown = INCLUDE``), so a misspelt ``ScopeToRegion`` turns the
region guard off without a word. Every key of ``STARFLEET``, of Starfleet's default index section and of
a ship's section is checked against what reads it: this project's schemas, Starfleet's own keys (a
Starfleet file loads unchanged, and issue-free) and the ship's configuration schema. What nothing reads
is reported; ``validate`` fails on it and the DAG's docs show it. Marshmallow's own "Unknown field." (from
schemas that refuse unknown keys, like ``Airflow``) gets the same suggestion.
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
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.75)
    if close:
        return f"unknown key; did you mean {by_lower[close[0]]}? (nothing reads {key})"
    shown = ", ".join(known[:25]) + (", ..." if len(known) > 25 else "")
    return f"unknown key; expected one of {shown}"


def unknown_keys(section: Mapping[Any, Any], known: Iterable[str]) -> list[tuple[str, str]]:
    """``(key, message)`` for every key of ``section`` not in ``known``, in the section's order."""
    known = set(known)
    return [(str(key), unknown_key_message(str(key), known)) for key in section if str(key) not in known]
