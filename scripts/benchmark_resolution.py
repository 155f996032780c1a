"""Benchmark target resolution (BENCHMARKS.md target 6): accounts x regions, median of several runs.

Run: ``python scripts/benchmark_resolution.py [--repeat 7]``. Single-threaded, so the figures are one
core's. Prints the resolution time next to the index load time and the cost per account x region,
which stays flat when the cost is linear.
"""

from __future__ import annotations

import argparse
import statistics
import time

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.resolve import resolve_targets
from starfleet_airflow.core.schemas import BaseAccountRegionPayloadTemplate
from starfleet_airflow.devtools.synthetic_org import build_index

SIZES = [(100, 17), (1_000, 17), (1_000, 30), (5_000, 17), (5_000, 30)]


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    payload = BaseAccountRegionPayloadTemplate().load(
        {
            "TemplateName": "bench",
            "TemplateDescription": "every account, every region",
            "IncludeAccounts": {"AllAccounts": True},
            "ExcludeAccounts": {"ByTags": [{"Name": "Environment", "Value": "sandbox"}]},
            "IncludeRegions": ["ALL"],
        }
    )
    header = (
        f"{'accounts':>8} {'regions':>7} {'targets':>8} {'index load':>11} {'resolve':>9} {'ns/(acct x region)':>19}"
    )
    print(header)
    print("-" * len(header))
    for accounts, regions in SIZES:
        data = build_index(accounts, regions, fewer_regions_every=10**9)
        load = median_seconds(lambda data=data: AccountIndex.from_dict(data), args.repeat)
        index = AccountIndex.from_dict(data)
        targets = resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION)
        resolve = median_seconds(
            lambda index=index: resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION), args.repeat
        )
        per_pair = resolve / (accounts * regions) * 1e9
        print(f"{accounts:>8} {regions:>7} {len(targets):>8} {load:>10.3f}s {resolve:>8.3f}s {per_pair:>19.0f}")
    print("\nTarget: 5,000 accounts x 30 regions well under 1 s on one core; ns per pair flat (linear cost).")


if __name__ == "__main__":
    main()
