"""What a mapped deliver task is called in the Airflow grid: the template, the accounts by name, the regions.

A label is read in a list of mapped rows, so it leads with what differs between rows and never needs an
account id to be looked up: ``SecurityAuditRole: production-web-003 (386126951663)`` for an inline
account, ``AwsConfigEnablement: 1121 targets, 60 accounts (development-007, ... and 55 more), 20 regions
(af-south-1, ... and 17 more)`` for an SQS batch. Lists are cut to fit Airflow's 250-character column.
"""

from __future__ import annotations

from collections.abc import Sequence

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.resolve import Target
from starfleet_airflow.core.text import plural

LABEL_LIMIT = 250  # Airflow stores rendered map indexes in a 250-character column
ACCOUNT_NAMES_BUDGET = 90  # characters of account names in one label (both lists fit in LABEL_LIMIT)
REGION_NAMES_BUDGET = 55


def clip(label: str) -> str:
    return label if len(label) <= LABEL_LIMIT else label[: LABEL_LIMIT - 1] + "…"


def account_label(index: AccountIndex, account_id: str) -> str:
    """``production-web-003 (386126951663)``."""
    return f"{index.name_of(account_id)} ({account_id})"


def _some(names: Sequence[str], budget: int) -> str:
    """``a, b, c`` or ``a, b and 7 more``: as many names as fit in ``budget`` characters."""
    shown: list[str] = []
    used = 0
    for name in names:
        if shown and used + len(name) + 2 > budget:
            break
        shown.append(name)
        used += len(name) + 2
    rest = len(names) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "")


def unit_label(name: str, index: AccountIndex, targets: Sequence[Target]) -> str:
    """The label of a work unit over ``targets`` of the template called ``name``."""
    account_ids = list(dict.fromkeys(str(t.account_id) for t in targets if t.account_id))
    regions = sorted({t.region for t in targets if t.region})
    parts: list[str] = []
    if len(account_ids) > 1 and len(regions) > 1:  # otherwise the count is plain from the lists
        parts.append(plural(len(targets), "target"))
    if len(account_ids) == 1:
        parts.append(account_label(index, account_ids[0]))
    elif account_ids:
        names = sorted((index.name_of(a) for a in account_ids), key=str.lower)
        parts.append(f"{plural(len(names), 'account')} ({_some(names, ACCOUNT_NAMES_BUDGET)})")
    if len(regions) == 1:
        parts.append(regions[0])
    elif regions:
        parts.append(f"{plural(len(regions), 'region')} ({_some(regions, REGION_NAMES_BUDGET)})")
    return clip(f"{name}: {', '.join(parts)}" if parts else name)
