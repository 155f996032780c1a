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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from starfleet_airflow.devtools.stand_in.org_model import (
    ACCOUNT_ACCESS_ROLE,
    AWS_OPT_IN_REGIONS,
    MOTO_API_IN_PROCESS,
    ORG_OPT_IN_REGIONS,
    ORG_READER_ROLE,
    OU_PATHS,
    WORKER_ROLE,
    OrgFixture,
    OrgSeedError,
    SeededAccount,
    SeededOrgUnit,
    commercial_regions,
    enabled_regions,
    plan_accounts,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import boto3


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
            Description="Created by starfleet_airflow.devtools.stand_in",
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

    planned = plan_accounts(n_accounts, seed, n_suspended, fewer_regions_fraction, extra_region_fraction)
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
