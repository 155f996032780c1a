"""Synthetic organisations in Starfleet's account index format, for tests, benchmarks and the demo.

``sample_organisation`` is a fixed, readable 20-account organisation whose every quirk is there on
purpose (nested OUs, two OUs named ``Web``, mixed-case names and tags, an account with fewer regions, a
suspended account, the org root). ``build_index`` scales the same shape to any size.
"""

from __future__ import annotations

import random
from typing import Any

ORG_ID = "o-sample0001"
ROOT_ID = "r-root"
MANAGEMENT_ACCOUNT_ID = "111111111111"
DEFAULT_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "ap-southeast-2")
OPT_IN_REGION = "af-south-1"  # enabled for a few accounts only


def _parent(ou_id: str, name: str) -> dict[str, str]:
    return {"Id": ou_id, "Type": "ORGANIZATIONAL_UNIT", "Name": name}


ROOT_PARENT = {"Id": ROOT_ID, "Type": "ROOT", "Name": "ROOT"}
PRODUCTION = _parent("ou-root-prod0001", "Production")
PROD_WEB = _parent("ou-root-prodweb1", "Web")
PROD_DATA = _parent("ou-root-proddat1", "Data")
DEVELOPMENT = _parent("ou-root-dev00001", "Development")
DEV_WEB = _parent("ou-root-devweb01", "Web")  # same name as PROD_WEB, different branch
SANDBOX = _parent("ou-root-sandbox1", "Sandbox")


def account_entry(
    account_id: str,
    name: str,
    chain: list[dict[str, str]],
    regions: list[str] | tuple[str, ...],
    tags: dict[str, str],
    *,
    status: str = "ACTIVE",
    management_account_id: str = MANAGEMENT_ACCOUNT_ID,
    org_id: str = ORG_ID,
) -> dict[str, Any]:
    """One account in the generator's output format; ``chain`` lists OUs from the nearest up."""
    return {
        "Id": account_id,
        "Arn": f"arn:aws:organizations::{management_account_id}:account/{org_id}/{account_id}",
        "Email": f"{name.lower()}@example.com",
        "Name": name,
        "Status": status,
        "JoinedMethod": "CREATED",
        "JoinedTimestamp": "2024-01-01 00:00:00+00:00",
        "Parents": [*chain, ROOT_PARENT],
        "Regions": sorted(regions),
        "Tags": tags,
    }


def sample_organisation() -> dict[str, Any]:
    """The fixed 20-account organisation used by the resolution tests (ids 1000000000NN)."""
    regions = list(DEFAULT_REGIONS)
    rows: list[tuple[str, str, list[dict[str, str]], list[str], dict[str, str], str]] = [
        (MANAGEMENT_ACCOUNT_ID, "Management", [], regions, {"Environment": "prod"}, "ACTIVE"),
        (
            "100000000001",
            "prod-web-1",
            [PROD_WEB, PRODUCTION],
            regions,
            {"Environment": "Prod", "Team": "web"},
            "ACTIVE",
        ),
        (
            "100000000002",
            "prod-web-2",
            [PROD_WEB, PRODUCTION],
            regions,
            {"Environment": "prod", "Team": "Web"},
            "ACTIVE",
        ),
        (
            "100000000003",
            "prod-web-3",
            [PROD_WEB, PRODUCTION],
            [*regions, OPT_IN_REGION],
            {"Environment": "prod"},
            "ACTIVE",
        ),
        (
            "100000000004",
            "prod-data-1",
            [PROD_DATA, PRODUCTION],
            regions,
            {"Environment": "prod", "Team": "data"},
            "ACTIVE",
        ),
        (
            "100000000005",
            "prod-data-2",
            [PROD_DATA, PRODUCTION],
            ["us-east-1", "eu-west-1"],
            {"Environment": "prod"},
            "ACTIVE",
        ),
        ("100000000006", "prod-shared", [PRODUCTION], regions, {"Environment": "prod", "Critical": "true"}, "ACTIVE"),
        ("100000000007", "dev-web-1", [DEV_WEB, DEVELOPMENT], regions, {"Environment": "dev", "Team": "web"}, "ACTIVE"),
        (
            "100000000008",
            "dev-web-2",
            [DEV_WEB, DEVELOPMENT],
            ["us-east-1"],
            {"Environment": "dev", "Team": "web"},
            "ACTIVE",
        ),
        ("100000000009", "dev-data-1", [DEVELOPMENT], regions, {"Environment": "dev", "Team": "data"}, "ACTIVE"),
        ("100000000010", "dev-shared", [DEVELOPMENT], regions, {"Environment": "dev"}, "ACTIVE"),
        ("100000000011", "Sandbox-Alice", [SANDBOX], regions, {"Environment": "sandbox", "Owner": "alice"}, "ACTIVE"),
        ("100000000012", "Sandbox-Bob", [SANDBOX], ["us-west-2"], {"Environment": "sandbox", "Owner": "bob"}, "ACTIVE"),
        ("100000000013", "sandbox-carol", [SANDBOX], regions, {"Environment": "sandbox", "Owner": "Carol"}, "ACTIVE"),
        ("100000000014", "security-audit", [], regions, {"Environment": "prod", "Team": "security"}, "ACTIVE"),
        ("100000000015", "log-archive", [], regions, {"Environment": "prod", "Team": "security"}, "ACTIVE"),
        (
            "100000000016",
            "networking",
            [],
            [*regions, OPT_IN_REGION],
            {"Environment": "prod", "Team": "network"},
            "ACTIVE",
        ),
        ("100000000017", "old-project", [SANDBOX], regions, {"Environment": "sandbox"}, "SUSPENDED"),
        (
            "100000000018",
            "data-lake",
            [PROD_DATA, PRODUCTION],
            regions,
            {"Environment": "prod", "Team": "data"},
            "ACTIVE",
        ),
        (
            "100000000019",
            "ml-platform",
            [PROD_DATA, PRODUCTION],
            ["us-east-1", "us-west-2"],
            {"Environment": "prod"},
            "ACTIVE",
        ),
    ]
    accounts = {
        account_id: account_entry(account_id, name, chain, account_regions, tags, status=status)
        for account_id, name, chain, account_regions, tags, status in rows
    }
    return {"accounts": accounts, "generated": "2026-11-01T00:00:00Z"}


def build_index(
    n_accounts: int,
    regions: int | list[str] | tuple[str, ...] = 17,
    *,
    seed: int = 0,
    branching: int = 3,
    depth: int = 3,
    fewer_regions_every: int = 10,
) -> dict[str, Any]:
    """A deterministic organisation of ``n_accounts`` (account 0 is the management account).

    OUs form a tree ``branching`` wide and ``depth`` deep whose names repeat across branches
    (``Workloads``, ``Team-1``...), accounts are spread over it, every ``fewer_regions_every``-th account
    has only the first few regions, and tags cycle through environments and teams.
    """
    import botocore.session

    if isinstance(regions, int):
        known = sorted(botocore.session.get_session().get_available_regions("ec2"))
        region_list = known[:regions]
    else:
        region_list = list(regions)
    rng = random.Random(seed)

    # Build the OU tree: each node is its parent chain, nearest OU first.
    chains: list[list[dict[str, str]]] = [[]]
    frontier: list[list[dict[str, str]]] = [[]]
    counter = 0
    for level in range(depth):
        next_frontier = []
        for chain in frontier:
            for b in range(branching):
                counter += 1
                name = ["Workloads", "Platform", "Sandbox"][b % 3] if level == 0 else f"Team-{b + 1}"
                ou = _parent(f"ou-{counter:04x}-{level}{b:07d}", name)
                new_chain = [ou, *chain]
                chains.append(new_chain)
                next_frontier.append(new_chain)
        frontier = next_frontier

    environments = ("prod", "dev", "staging", "sandbox")
    accounts: dict[str, Any] = {}
    for i in range(n_accounts):
        account_id = MANAGEMENT_ACCOUNT_ID if i == 0 else f"{200000000000 + i:012d}"
        name = "Management" if i == 0 else f"account-{i:05d}"
        chain = [] if i == 0 else chains[rng.randrange(len(chains))]
        account_regions = region_list[:3] if i and i % fewer_regions_every == 0 else region_list
        tags = {"Environment": environments[i % len(environments)], "Team": f"team-{i % 7}"}
        accounts[account_id] = account_entry(account_id, name, chain, account_regions, tags)
    return {"accounts": accounts, "generated": "2026-11-01T00:00:00Z"}
