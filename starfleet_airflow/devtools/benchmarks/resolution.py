"""Target 8: target resolution, flat per target from 1,000 to 50,000 accounts, >= 3x Starfleet's resolver.

Resolution is ``resolve_targets`` on a built index (the index load is the fan-out's business), for a
template selecting every account and every region, minus a tag-selected exclusion, so that the tag
map is built too. The naive reference, in the same run, loops over the parsed JSON and builds one
``(account, region)`` tuple per target, as a straightforward resolver does.
"""

from __future__ import annotations

import json

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.schemas import BaseAccountRegionPayloadTemplate
from starfleet_airflow.devtools.benchmarks.common import Figure, STARFLEET_RESOLUTION_5000x17, median, timed
from starfleet_airflow.devtools.synthetic_org import build_index

SIZES = (1_000, 5_000, 20_000, 50_000)
REGIONS = 17
TEMPLATE = {
    "TemplateName": "bench",
    "TemplateDescription": "every account, every region, no sandbox",
    "IncludeAccounts": {"AllAccounts": True},
    "ExcludeAccounts": {"ByTags": [{"Name": "Environment", "Value": "sandbox"}]},
    "IncludeRegions": ["ALL"],
}


def naive(data: dict) -> list[tuple[str, str]]:
    regions = sorted({r for account in data["accounts"].values() for r in account["Regions"]})
    targets = []
    for account_id in sorted(data["accounts"]):
        account = data["accounts"][account_id]
        if account.get("Tags", {}).get("Environment") == "sandbox" or account_id == "111111111111":
            continue
        enabled = set(account["Regions"])
        targets.extend((account_id, region) for region in regions if region in enabled)
    return targets


def section_resolution(repeat: int) -> list[Figure]:
    from starfleet_airflow.core.resolve import resolve_targets

    payload = BaseAccountRegionPayloadTemplate().load(TEMPLATE)
    rows = []
    for accounts in SIZES:
        data = build_index(accounts, REGIONS, fewer_regions_every=10**9)
        raw = json.dumps(data).encode()
        ours, theirs = [], []
        for _ in range(repeat):
            index = AccountIndex.from_bytes(raw, source="bench")  # fresh: the maps are built on first use
            seconds, targets = timed(lambda index=index: resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION))
            ours.append(seconds)
            theirs.append(timed(lambda data=data: naive(data))[0])
        assert len(targets) == len(naive(data))
        rows.append((accounts, len(targets), median(ours), median(theirs)))
    per_target = [seconds / targets * 1e9 for _, targets, seconds, _ in rows]
    at_5000 = next(row for row in rows if row[0] == 5_000)
    flat = per_target[-1] / per_target[0]  # growth from the smallest to the largest organisation
    table = "; ".join(
        f"{accounts:,} accounts: {targets:,} targets {seconds * 1000:.1f} ms ({seconds / targets * 1e9:.0f} ns/target,"
        f" naive {naive_seconds / seconds:.0f}x slower)"
        for accounts, targets, seconds, naive_seconds in rows
    )
    return [
        Figure(
            "8. resolution: per-target cost flat 1,000 -> 50,000 accounts (grows <= 1.5x), >= 3x Starfleet's",
            f"{table}; per-target 50,000 / 1,000 {flat:.2f}; at 5,000 x 17 {at_5000[2] * 1000:.1f} ms ="
            f" {STARFLEET_RESOLUTION_5000x17 / at_5000[2]:.1f}x Starfleet's",
            f"Starfleet's resolver {STARFLEET_RESOLUTION_5000x17} s for 85k targets (BENCHMARKS.md); naive loop in"
            " the same run",
            flat <= 1.5 and STARFLEET_RESOLUTION_5000x17 / at_5000[2] >= 3,
        )
    ]
