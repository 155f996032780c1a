"""The synthetic organisation seeded into the stand-in: its shape, decided with no AWS call.

An OU tree three levels deep whose names repeat across branches, accounts spread over it with tags and
per-account enabled regions, a few suspended; the same ``seed`` always gives the same organisation.
``OrgFixture`` is what seeding returns, so tests compare what the generator reads with what was made.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starfleet_airflow.core.schemas import supported_regions

if TYPE_CHECKING:  # pragma: no cover - typing only
    pass
ORG_READER_ROLE = "starfleet-org-reader"
WORKER_ROLE = "starfleet-worker-role"
ACCOUNT_ACCESS_ROLE = "OrganizationAccountAccessRole"
MOTO_API_IN_PROCESS = "http://motoapi.amazonaws.com"

# Regions that AWS enables only on request (opt-in regions), as documented by AWS; every other
# commercial region is enabled in every account and cannot be disabled.
AWS_OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)
ORG_OPT_IN_REGIONS: tuple[str, ...] = ("af-south-1", "eu-south-1")
EXTRA_OPT_IN_REGION = "me-south-1"

# The OU tree, parents before children. Names repeat across branches on purpose.
OU_PATHS: tuple[tuple[str, ...], ...] = (
    ("Production",),
    ("Production", "Web"),
    ("Production", "Web", "Frontend"),
    ("Production", "Data"),
    ("Production", "Data", "Analytics"),
    ("Development",),
    ("Development", "Web"),
    ("Development", "Web", "Frontend"),
    ("Development", "Data"),
    ("Sandbox",),
    ("Security",),
)
ENVIRONMENT_OF_BRANCH = {"Production": "prod", "Development": "dev", "Sandbox": "sandbox", "Security": "prod"}
TEAMS = ("web", "data", "platform", "security")


class OrgSeedError(Exception):
    """The stand-in could not be seeded; the message says which step and why."""


@dataclass(frozen=True)
class SeededOrgUnit:
    """One OU as created: ``path`` holds the names from the top-level OU down to this one."""

    id: str
    name: str
    parent_id: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class SeededAccount:
    """One account as created, with the enabled regions the stand-in reports for it."""

    id: str
    name: str
    email: str
    parent_id: str
    status: str
    tags: Mapping[str, str]
    regions: frozenset[str]


@dataclass(frozen=True)
class OrgFixture:
    """What was seeded: ids and names for tests to assert against, and for the demo to configure."""

    organization_id: str
    root_id: str
    management_account_id: str
    org_reader_role: str
    worker_role: str
    lookup_regions: tuple[str, ...]
    regions_varied: bool
    org_units: Mapping[str, SeededOrgUnit]
    accounts: Mapping[str, SeededAccount]
    endpoint_url: str | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, for a demo that configures itself from what was seeded."""
        return {
            "organization_id": self.organization_id,
            "root_id": self.root_id,
            "management_account_id": self.management_account_id,
            "org_reader_role": self.org_reader_role,
            "worker_role": self.worker_role,
            "lookup_regions": list(self.lookup_regions),
            "regions_varied": self.regions_varied,
            "endpoint_url": self.endpoint_url,
            "org_units": {
                ou.id: {"name": ou.name, "parent_id": ou.parent_id, "path": "/".join(ou.path)}
                for ou in self.org_units.values()
            },
            "accounts": {
                a.id: {
                    "name": a.name,
                    "email": a.email,
                    "parent_id": a.parent_id,
                    "status": a.status,
                    "tags": dict(a.tags),
                    "regions": sorted(a.regions),
                }
                for a in self.accounts.values()
            },
        }

    def member_account_ids(self) -> set[str]:
        """Every account but the management account."""
        return set(self.accounts) - {self.management_account_id}

    def active_account_ids(self) -> set[str]:
        """Accounts whose status is ACTIVE."""
        return {a.id for a in self.accounts.values() if a.status == "ACTIVE"}

    def parent_chain(self, account_id: str) -> list[str]:
        """Parent ids of an account from its own OU up to the root (the root last)."""
        chain: list[str] = []
        parent = self.accounts[account_id].parent_id
        while parent != self.root_id:
            chain.append(parent)
            parent = self.org_units[parent].parent_id
        chain.append(self.root_id)
        return chain

    def org_units_named(self, name: str) -> set[str]:
        """Ids of every OU with this name (names repeat across branches)."""
        return {ou.id for ou in self.org_units.values() if ou.name == name}

    def accounts_under(self, org_unit_id: str) -> set[str]:
        """Accounts in an OU or in any OU nested below it."""
        return {a for a in self.accounts if org_unit_id in self.parent_chain(a)}

    def accounts_tagged(self, key: str, value: str) -> set[str]:
        """Accounts carrying exactly this tag."""
        return {a.id for a in self.accounts.values() if a.tags.get(key) == value}


@dataclass(frozen=True)
class _PlannedAccount:
    name: str
    ou_path: tuple[str, ...]  # () for the root
    tags: dict[str, str]
    opt_ins: frozenset[str]
    suspended: bool


def commercial_regions() -> list[str]:
    """The regions of the ``aws`` partition that botocore knows for EC2 (the project's region list)."""
    return sorted(supported_regions())


def enabled_regions(opt_ins: Iterable[str], regions: Sequence[str] | None = None) -> frozenset[str]:
    """Regions enabled in an account that opted in to ``opt_ins``: every default region plus those."""
    regions = commercial_regions() if regions is None else regions
    chosen = set(opt_ins)
    return frozenset(r for r in regions if r not in AWS_OPT_IN_REGIONS or r in chosen)


def plan_accounts(
    n_accounts: int, seed: int, n_suspended: int, fewer_regions_fraction: float, extra_region_fraction: float
) -> list[_PlannedAccount]:
    """Decide names, OUs, tags and regions of the member accounts; no AWS call, fully seeded."""
    if n_accounts < 1:
        raise OrgSeedError(f"n_accounts: expected at least 1, got {n_accounts}")
    if not 0 <= n_suspended < n_accounts:
        raise OrgSeedError(f"n_suspended: expected 0 <= n_suspended < n_accounts ({n_accounts}), got {n_suspended}")
    rng = random.Random(seed)
    homes: list[tuple[str, ...]] = [(), *OU_PATHS]
    # Every OU (and the root) gets an account first when there are enough, then the rest at random.
    placement = [homes[i] for i in range(min(n_accounts, len(homes)))]
    placement += [rng.choice(homes) for _ in range(n_accounts - len(placement))]
    order = list(range(n_accounts))
    rng.shuffle(order)
    fewer = set(order[: max(1, round(n_accounts * fewer_regions_fraction))])
    extra_count = max(1, round(n_accounts * extra_region_fraction)) if n_accounts > len(fewer) else 0
    extra = set(order[len(fewer) : len(fewer) + extra_count])
    suspended = set(rng.sample(range(n_accounts), n_suspended))
    planned = []
    for i, path in enumerate(placement):
        slug = "-".join(p.lower() for p in path) or "root"
        tags = {"Environment": ENVIRONMENT_OF_BRANCH.get(path[0], "prod") if path else "prod"}
        if rng.random() < 0.8:
            tags["Team"] = rng.choice(TEAMS)
        if i in fewer:
            opt_ins: frozenset[str] = frozenset()
        elif i in extra:
            opt_ins = frozenset((*ORG_OPT_IN_REGIONS, EXTRA_OPT_IN_REGION))
        else:
            opt_ins = frozenset(ORG_OPT_IN_REGIONS)
        planned.append(_PlannedAccount(f"{slug}-{i + 1:03d}", path, tags, opt_ins, i in suspended))
    return planned
