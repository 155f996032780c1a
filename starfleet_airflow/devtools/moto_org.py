"""Seed a moto AWS stand-in with a realistic AWS organisation, through the AWS APIs.

The account index generator must read the seeded organisation exactly as it reads a real one
(Organizations, STS AssumeRole, EC2 DescribeRegions), so everything here is created with the public
APIs: it works in-process under ``moto.mock_aws`` and against a moto server on 127.0.0.1
(``endpoint_url``, or the ``AWS_ENDPOINT_URL`` variable that botocore honours).

What gets created, deterministically for a ``seed``:

- an organisation whose management account is the caller's account;
- an OU tree three levels deep in which names repeat across branches (``Production/Web/Frontend`` and
  ``Development/Web/Frontend``), as real organisations do;
- ``n_accounts`` member accounts spread over every OU and the root, tagged ``Environment`` (from the
  top-level branch) and mostly ``Team``; ``n_suspended`` of them closed (SUSPENDED);
- in the management account the role the generator assumes to read Organizations, and in every account
  the worker role ships assume (member accounts are reached through ``OrganizationAccountAccessRole``,
  which Organizations (and moto) create in every account it creates). moto does not require a role to
  exist to assume it; the roles are created anyway so the stand-in looks like a deployed organisation;
- per-account enabled regions (see below).

Enabled regions. Real AWS keeps them per account (opt-in regions are enabled with the Account API's
EnableRegion and show up in EC2 DescribeRegions). moto implements neither the Account API's region
calls nor per-account DescribeRegions: its region table is one class attribute shared by every
account. When moto runs in this process (``mock_aws``, or a ``ThreadedMotoServer`` started here), the
seeder gives each account's EC2 backend its own region table -- the state ``EnableRegion`` would leave
behind -- so the generator reads it honestly through DescribeRegions. That is the one step done on
moto's internals instead of an API; against a moto server in another process it cannot be done, every
account then shows moto's default regions, and ``OrgFixture.regions_varied`` says so.

Region model: regions AWS enables by default are on everywhere; of the opt-in regions, most accounts
have the organisation's standard ones (``ORG_OPT_IN_REGIONS``), some have none ("fewer regions") and
a few also have ``EXTRA_OPT_IN_REGION``.

Tip: set ``MOTO_EC2_LOAD_DEFAULT_AMIS=false`` before seeding; moto otherwise builds thousands of AMIs
for every account's EC2 backend (about 0.15 s per account).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from starfleet_airflow.schemas import supported_regions

if TYPE_CHECKING:  # pragma: no cover - typing only
    import boto3

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


def _plan(
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


def _moto_api_base(endpoint_url: str | None) -> str:
    return (endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or MOTO_API_IN_PROCESS).rstrip("/")


def _seed_moto(endpoint_url: str | None, seed: int) -> None:
    """Seed moto's id generator, which also proves the target is moto and not a real AWS account."""
    import requests

    url = f"{_moto_api_base(endpoint_url)}/moto-api/seed"
    try:
        response = requests.post(url, params={"a": str(seed)}, timeout=10)
    except requests.RequestException as exc:
        raise OrgSeedError(
            f"{url}: moto did not answer ({exc}); start moto.mock_aws() or a moto server and pass its endpoint_url"
        ) from exc
    if response.status_code != 200:
        raise OrgSeedError(f"{url}: HTTP {response.status_code}; expected moto's seed endpoint to answer 200")


def _trust_policy(principal_account_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{principal_account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _role_policy(actions: Sequence[str]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


class _Seeder:
    """The API calls, in order; one instance per seeding."""

    def __init__(self, session: boto3.Session, endpoint_url: str | None) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.region = session.region_name or "us-east-1"

    def client(self, service: str, credentials: Mapping[str, str] | None = None) -> Any:
        extra: dict[str, Any] = {}
        if credentials:
            extra = {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
        return self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url, **extra)

    def create_role(self, iam: Any, name: str, trusted_account: str, actions: Sequence[str]) -> None:
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=_trust_policy(trusted_account),
            Description="Created by starfleet_airflow.devtools.moto_org",
        )
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=_role_policy(actions))


def _in_process_org(management_account_id: str, organization_id: str) -> bool:
    """True when moto's backends in this process hold the organisation just created via the API."""
    try:
        from moto.backends import get_backend
    except ImportError:  # pragma: no cover - moto is installed wherever this module is used
        return False
    org = get_backend("organizations")[management_account_id]["aws"].org
    return org is not None and org.id == organization_id


def _set_region_table(account_id: str, lookup_regions: Iterable[str], enabled: frozenset[str]) -> None:
    """Give one account's EC2 backends the region table EnableRegion/DisableRegion would leave.

    moto's table is a class attribute shared by all accounts; an instance attribute overrides it for
    this account only. Opt-in regions not enabled read ``not-opted-in``, as DescribeRegions reports.
    """
    from moto.backends import get_backend
    from moto.ec2.models.availability_zones_and_regions import Region

    table = []
    for name in commercial_regions():
        if name not in AWS_OPT_IN_REGIONS:
            status = "opt-in-not-required"
        else:
            status = "opted-in" if name in enabled else "not-opted-in"
        table.append(Region(name, f"ec2.{name}.amazonaws.com", status))
    for region in lookup_regions:
        get_backend("ec2")[account_id][region].regions = table


def moto_default_regions() -> frozenset[str]:
    """What moto reports as enabled for an account whose region table was not replaced."""
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    commercial = set(commercial_regions())
    return frozenset(
        r.name
        for r in RegionsAndZonesBackend.regions
        if r.name in commercial and r.opt_in_status in ("opt-in-not-required", "opted-in")
    )


def seed_organisation(
    session: boto3.Session,
    *,
    n_accounts: int = 60,
    seed: int = 0,
    endpoint_url: str | None = None,
    n_suspended: int = 1,
    fewer_regions_fraction: float = 0.2,
    extra_region_fraction: float = 0.1,
    org_reader_role: str = ORG_READER_ROLE,
    worker_role: str = WORKER_ROLE,
    worker_role_actions: Sequence[str] = ("ec2:DescribeRegions",),
    other_worker_roles: Sequence[str] = (),
    lookup_regions: Iterable[str] | None = None,
    vary_regions: bool | None = None,
) -> OrgFixture:
    """Create the organisation in a fresh moto and return what was created.

    ``session`` is the caller's identity (it becomes the management account). ``lookup_regions`` are
    the regions from which DescribeRegions will be called (the generator uses STARFLEET's
    DeploymentRegion; default: the session's region). ``other_worker_roles`` are created next to
    ``worker_role`` in every account, for ships configured with other role names. ``vary_regions``:
    None varies the enabled regions when moto runs in this process and skips it otherwise, True
    insists (OrgSeedError when it cannot), False never varies. Raises OrgSeedError when the target
    is not moto or already has an organisation.
    """
    from botocore.exceptions import ClientError

    planned = _plan(n_accounts, seed, n_suspended, fewer_regions_fraction, extra_region_fraction)
    _seed_moto(endpoint_url, seed)
    api = _Seeder(session, endpoint_url)
    lookup = tuple(lookup_regions) if lookup_regions is not None else (api.region,)

    org_client = api.client("organizations")
    try:
        organization = org_client.create_organization(FeatureSet="ALL")["Organization"]
    except ClientError as exc:
        raise OrgSeedError(
            f"create_organization: {exc}; seed a fresh moto (POST /moto-api/reset or a new server)"
        ) from exc
    management_id = organization["MasterAccountId"]
    root_id = org_client.list_roots()["Roots"][0]["Id"]

    org_units: dict[str, SeededOrgUnit] = {}
    ou_id_of_path: dict[tuple[str, ...], str] = {(): root_id}
    for path in OU_PATHS:
        parent_id = ou_id_of_path[path[:-1]]
        ou = org_client.create_organizational_unit(ParentId=parent_id, Name=path[-1])["OrganizationalUnit"]
        ou_id_of_path[path] = ou["Id"]
        org_units[ou["Id"]] = SeededOrgUnit(ou["Id"], path[-1], parent_id, path)

    management_tags = {"Environment": "prod", "Team": "platform"}
    org_client.tag_resource(ResourceId=management_id, Tags=[{"Key": k, "Value": v} for k, v in management_tags.items()])
    regions_of: dict[str, frozenset[str]] = {management_id: enabled_regions(ORG_OPT_IN_REGIONS)}
    management_name = next(a["Name"] for a in org_client.list_accounts()["Accounts"] if a["Id"] == management_id)
    accounts: dict[str, SeededAccount] = {}
    iam = api.client("iam")
    api.create_role(iam, org_reader_role, management_id, ("organizations:List*", "organizations:Describe*"))
    for role in (worker_role, *other_worker_roles):
        api.create_role(iam, role, management_id, worker_role_actions)
    sts = api.client("sts")

    for plan in planned:
        email = f"{plan.name}@example.com"
        status = org_client.create_account(
            Email=email, AccountName=plan.name, Tags=[{"Key": k, "Value": v} for k, v in plan.tags.items()]
        )["CreateAccountStatus"]
        if status.get("State") != "SUCCEEDED":
            raise OrgSeedError(f"create_account {plan.name}: state {status.get('State')}, expected SUCCEEDED")
        account_id = status["AccountId"]
        parent_id = ou_id_of_path[plan.ou_path]
        if parent_id != root_id:
            org_client.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=parent_id)
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{ACCOUNT_ACCESS_ROLE}", RoleSessionName="starfleet-seed"
        )["Credentials"]
        member_iam = api.client("iam", credentials)
        for role in (worker_role, *other_worker_roles):
            api.create_role(member_iam, role, management_id, worker_role_actions)
        if plan.suspended:
            org_client.close_account(AccountId=account_id)
        regions_of[account_id] = enabled_regions(plan.opt_ins)
        accounts[account_id] = SeededAccount(
            account_id, plan.name, email, parent_id, "SUSPENDED" if plan.suspended else "ACTIVE", plan.tags, frozenset()
        )

    in_process = _in_process_org(management_id, organization["Id"])
    if vary_regions and not in_process:
        raise OrgSeedError(
            "vary_regions: moto's backends are not in this process (a separate moto server?), and moto offers "
            "no API to enable or disable regions per account; pass vary_regions=None to accept moto's defaults"
        )
    varied = in_process if vary_regions is None else bool(vary_regions)
    if varied:
        for account_id, regions in regions_of.items():
            _set_region_table(account_id, lookup, regions)
    else:
        default = moto_default_regions()
        regions_of = dict.fromkeys(regions_of, default)

    accounts[management_id] = SeededAccount(
        management_id,
        management_name,
        organization["MasterAccountEmail"],
        root_id,
        "ACTIVE",
        management_tags,
        frozenset(),
    )
    accounts = {
        account_id: replace(account, regions=regions_of[account_id]) for account_id, account in accounts.items()
    }
    return OrgFixture(
        organization_id=organization["Id"],
        root_id=root_id,
        management_account_id=management_id,
        org_reader_role=org_reader_role,
        worker_role=worker_role,
        lookup_regions=lookup,
        regions_varied=varied,
        org_units=org_units,
        accounts=dict(sorted(accounts.items())),
        endpoint_url=endpoint_url,
    )


def serve(
    host: str = "127.0.0.1", port: int = 5000, *, region: str = "us-east-1", **seed_options: Any
) -> tuple[Any, OrgFixture]:
    """Start a moto server in this process and seed it through its endpoint; returns (server, fixture).

    The server shares this process's moto backends, so the per-account regions are varied even for
    clients in other processes (Airflow workers) that reach it over 127.0.0.1. Stop it with ``stop()``.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    endpoint = f"http://{bound_host}:{bound_port}"
    # Stand-in credentials only: whatever the environment holds is never used to seed.
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    try:
        fixture = seed_organisation(session, endpoint_url=endpoint, **seed_options)
    except BaseException:
        server.stop()
        raise
    return server, fixture


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m starfleet_airflow.devtools.moto_org``: a seeded moto server until interrupted."""
    import argparse
    import signal
    import threading

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--region", default="us-east-1", help="the deployment region (DescribeRegions is read there)")
    parser.add_argument("--accounts", type=int, default=60, help="member accounts to create")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fixture-out", help="write what was seeded (JSON) to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # this process is the stand-in
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server, fixture = serve(args.host, args.port, region=args.region, n_accounts=args.accounts, seed=args.seed)
    if args.fixture_out:
        with open(args.fixture_out, "w", encoding="utf-8") as handle:
            json.dump(fixture.to_dict(), handle, indent=2)
    host, port = server.get_host_and_port()
    print(
        f"moto on http://{host}:{port}: organisation {fixture.organization_id} (root {fixture.root_id}),"
        f" {len(fixture.accounts)} accounts, {len(fixture.org_units)} OUs, regions varied: {fixture.regions_varied}",
        flush=True,
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover - command-line entry
    raise SystemExit(main())
