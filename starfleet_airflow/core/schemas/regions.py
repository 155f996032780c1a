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


def check_regions(regions: list[str] | set[str]) -> list[str]:
    """Return one error message naming every unknown region (empty when all are known)."""
    if not regions:
        return []  # no need to load botocore's region table (~0.2 s) at DAG parse time
    unknown = sorted(set(regions) - supported_regions())
    if not unknown:
        return []
    named = ", ".join(unknown[:10]) + (f" ... and {len(unknown) - 10:,} more" if len(unknown) > 10 else "")
    return [f"unknown {listed(unknown, 'region')} {named}; expected AWS region names such as us-east-1"]
