"""AWS region names: what ``ALL`` expands to and which names are real (botocore's table, read once)."""

from __future__ import annotations

from functools import cache

from starfleet_airflow.core.text import listed

ALL_REGIONS = "ALL"


@cache
def supported_regions() -> frozenset[str]:
    """Every region botocore knows for EC2, read once per process.

    Starfleet built a fresh boto3 session for every template validation (60-110 ms each); the list
    only changes with the botocore release, so one read per process is enough.
    """
    import botocore.session

    return frozenset(botocore.session.get_session().get_available_regions("ec2"))


@cache
def partition_regions() -> tuple[str, ...]:
    """The region names of AWS's commercial partition, sorted, from botocore's small ``partitions.json``.

    Reading it costs well under a millisecond (``supported_regions`` reads the whole endpoint table,
    ~0.15 s), so the trigger form offers this list at DAG parse time. It may name a region or two that
    EC2's table does not list yet; no account has those enabled, so they select nothing.
    """
    from botocore.loaders import Loader

    partitions = Loader().load_data("partitions")["partitions"]
    regions = next(p["regions"] for p in partitions if p["id"] == "aws")
    return tuple(sorted(name for name in regions if not name.endswith("-global")))


def check_regions(regions: list[str] | set[str]) -> list[str]:
    """Return one error message naming every unknown region (empty when all are known)."""
    if not regions:
        return []
    unknown_here = set(regions) - set(partition_regions())
    if not unknown_here:
        return []  # no need to load botocore's region table (~0.15 s), e.g. at DAG parse time
    unknown = sorted(unknown_here - supported_regions())
    if not unknown:
        return []
    named = ", ".join(unknown[:10]) + (f" ... and {len(unknown) - 10:,} more" if len(unknown) > 10 else "")
    return [f"unknown {listed(unknown, 'region')} {named}; expected AWS region names such as us-east-1"]
