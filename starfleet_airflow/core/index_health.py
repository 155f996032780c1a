"""Is the account index fit to plan with? An empty index fails the run; a stale one is noted in the report.

An index with no accounts (a generator that failed half way, a wrong file) would make every template
select nothing: a green run that did nothing. An index generated long ago silently misses every account
created since. Neither may pass unnoticed; how old is too old is ``STARFLEET.AccountIndexMaxAgeHours``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex

DEFAULT_MAX_AGE_HOURS = 72


def empty_index_problem(index: AccountIndex) -> str | None:
    """Why ``index`` cannot be planned with (no account at all, or none ACTIVE), or None."""
    if index.sorted_ids():
        return None
    listed = index.listed
    if not listed:
        return (
            f"account index {index.source} lists no accounts; expected the organisation's accounts"
            " (has the AccountIndexGeneratorShip run?)"
        )
    return (
        f"account index {index.source} lists no ACTIVE account ({listed} are not ACTIVE, and"
        " STARFLEET.IncludeInactiveAccounts is false)"
    )


def _parse_generated(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def stale_index_note(index: AccountIndex, *, now: datetime, max_age_hours: int) -> str | None:
    """A note when the index is older than ``max_age_hours`` (0: never) or its age cannot be told."""
    if max_age_hours <= 0:
        return None
    source = index.source
    value = index.generated
    generated = _parse_generated(value)
    if generated is None:
        found = "none" if value is None else repr(value)[:60]
        return f"account index {source} has no 'generated' time (found {found}): its age is unknown"
    age_hours = (now - generated).total_seconds() / 3600
    if age_hours <= max_age_hours:
        return None
    return (
        f"account index {source} was generated {value}, {age_hours:,.0f} hours ago: older than"
        f" STARFLEET.AccountIndexMaxAgeHours ({max_age_hours}); is the AccountIndexGeneratorShip running?"
    )
