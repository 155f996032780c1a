"""AccountIndexGeneratorShip against moto: an organisation of 50+ accounts in nested OUs, seeded through
the AWS APIs by ``starfleet_airflow.devtools.stand_in``, read back by the account index loader and resolved.

The expected values come from the seeder's own record of what it created (``OrgFixture``), never from the
generator, so a generator that walks the tree, reads tags or regions wrongly fails here.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml
from marshmallow import ValidationError
from moto import mock_aws
from moto.core import enable_iam_authentication

from ships.account_index_generator import WORKER_SHIP_PLUGINS, AccountIndexGeneratorShip
from ships.account_index_generator.organization import OrgTree, chain_by_list_parents, root_parent
from ships.account_index_generator.ship import AccountIndexGenerationError
from starfleet_airflow import (
    STARFLEET_CONFIGURATION,
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    FanOutStrategy,
    Location,
)
from starfleet_airflow.core.account_index import AccountIndex, load_account_index
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.outcomes import SUCCEEDED
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.core.resolve import Target, resolve_targets
from starfleet_airflow.core.runner import run_ship_for_target
from starfleet_airflow.devtools.stand_in.org_model import (
    EXTRA_OPT_IN_REGION,
    ORG_OPT_IN_REGIONS,
    OrgFixture,
    OrgSeedError,
)
from starfleet_airflow.devtools.stand_in.org_seeding import seed_organisation
from starfleet_airflow.devtools.stand_in.org_server import serve

REPO = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
BUCKET = "starfleet-account-index"
N_MEMBERS = 50
# Starfleet's index format, written out here rather than imported from the ship under test.
STARFLEET_ACCOUNT_KEYS = {
    "Id",
    "Arn",
    "Email",
    "Name",
    "Status",
    "JoinedMethod",
    "JoinedTimestamp",
    "Parents",
    "Regions",
    "Tags",
}
GENERATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(autouse=True)
def _no_default_amis(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto builds thousands of AMIs per account's EC2 backend unless told not to."""
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def ship_for(
    org: OrgFixture,
    session: boto3.Session,
    payload: dict[str, Any] | None = None,
    starfleet: dict[str, Any] | None = None,
    **section: Any,
) -> AccountIndexGeneratorShip:
    """A ship configured for the seeded organisation, its template loaded."""
    raw_section = {
        "Enabled": True,
        "TemplatePrefix": "AccountIndexGeneratorShip/",
        "OrgAccountId": org.management_account_id,
        "OrgAccountAssumeRole": org.org_reader_role,
        "DescribeRegionsAssumeRole": org.worker_role,
        "Airflow": {"DeliveryMode": "INLINE"},
        **section,
    }
    configuration = AccountIndexGeneratorShip.configuration_template_class().load(raw_section)
    ship = AccountIndexGeneratorShip(
        configuration, {"deployment_region": REGION, **(starfleet or {})}, aws_session=session
    )
    ship.load_template({"TemplateName": "AccountIndexGenerator", "TemplateDescription": "test", **(payload or {})})
    return ship


@dataclass
class Scenario:
    """One seeded organisation and what the generator did with it (moto is gone once it is built)."""

    org: OrgFixture
    dry_summary: dict[str, Any]
    dry_index: dict[str, Any]
    s3_keys_after_dry_run: list[str]
    local_exists_after_dry_run: bool
    s3_summary: dict[str, Any]
    s3_body: bytes
    s3_loaded: AccountIndex
    s3_content_type: str
    local_summary: dict[str, Any]
    local_path: Path


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    local_path = tmp_path_factory.mktemp("index") / "nested" / "accountIndex.json"
    bucket_payload = {"AccountInventoryBucket": BUCKET, "InventoryBucketRegion": REGION}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with mock_aws():
            session = boto3.Session(region_name=REGION)
            org = seed_organisation(session, n_accounts=N_MEMBERS, seed=11)
            s3 = session.client("s3")
            s3.create_bucket(Bucket=BUCKET)

            dry = ship_for(org, session, bucket_payload)
            dry_summary = dry.execute(commit=False)
            keys_after_dry_run = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
            ship_for(org, session, starfleet={"account_index_location": str(local_path)}).execute(commit=False)
            local_exists_after_dry_run = local_path.exists()

            s3_summary = ship_for(org, session, bucket_payload).execute(commit=True)
            s3_object = s3.get_object(Bucket=BUCKET, Key="accountIndex.json")
            s3_loaded = load_account_index(Location(BUCKET, "accountIndex.json"), s3_client=s3)
            local_summary = ship_for(org, session, starfleet={"account_index_location": str(local_path)}).execute(
                commit=True
            )
            assert dry.index is not None
            return Scenario(
                org=org,
                dry_summary=dry_summary,
                dry_index=dry.index,
                s3_keys_after_dry_run=keys_after_dry_run,
                local_exists_after_dry_run=local_exists_after_dry_run,
                s3_summary=s3_summary,
                s3_body=s3_object["Body"].read(),
                s3_loaded=s3_loaded,
                s3_content_type=s3_object["ContentType"],
                local_summary=local_summary,
                local_path=local_path,
            )


# -- the seeded organisation -------------------------------------------------------------------------


def test_seeded_organisation_has_the_promised_shape(scenario: Scenario) -> None:
    org = scenario.org
    assert len(org.member_account_ids()) == N_MEMBERS
    assert max(len(org.parent_chain(a)) for a in org.accounts) == 4  # three OU levels, then the root
    assert len(org.org_units_named("Web")) == 2
    assert len(org.org_units_named("Frontend")) == 2
    assert any(a.parent_id == org.root_id for a in org.accounts.values() if a.id != org.management_account_id)
    assert all(ou_id in {a.parent_id for a in org.accounts.values()} for ou_id in org.org_units)
    region_sets = {a.regions for a in org.accounts.values() if a.status == "ACTIVE"}
    assert len(region_sets) == 3  # the standard set, fewer (no opt-in region), more (one extra)
    assert org.regions_varied
    assert {a.status for a in org.accounts.values()} == {"ACTIVE", "SUSPENDED"}


def test_seeding_is_deterministic_for_a_seed() -> None:
    def seeded(seed: int) -> dict[str, Any]:
        with mock_aws():
            fixture = seed_organisation(boto3.Session(region_name=REGION), n_accounts=12, seed=seed)
        return fixture.to_dict()

    first, again, other = seeded(5), seeded(5), seeded(6)
    assert first == again
    assert first["accounts"].keys() != other["accounts"].keys()


def test_seeding_refuses_an_existing_organisation_and_a_target_that_is_not_moto() -> None:
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        seed_organisation(session, n_accounts=2)
        with pytest.raises(OrgSeedError, match=r"create_organization: .*AlreadyInOrganization"):
            seed_organisation(session, n_accounts=2)
    with pytest.raises(OrgSeedError, match=r"127\.0\.0\.1:9/moto-api/seed: moto did not answer"):
        seed_organisation(boto3.Session(region_name=REGION), n_accounts=2, endpoint_url="http://127.0.0.1:9")


# -- the index format ----------------------------------------------------------------------------------


def test_index_has_exactly_starfleets_format(scenario: Scenario) -> None:
    index = json.loads(scenario.s3_body)
    assert set(index) == {"accounts", "generated"}
    assert GENERATED.match(index["generated"])
    assert set(index["accounts"]) == set(scenario.org.accounts)
    for account_id, account in index["accounts"].items():
        assert set(account) == STARFLEET_ACCOUNT_KEYS, account_id
        assert account["Id"] == account_id
        assert account["Arn"] == (
            f"arn:aws:organizations::{scenario.org.management_account_id}:account/"
            f"{scenario.org.organization_id}/{account_id}"
        )
        assert isinstance(account["JoinedTimestamp"], str)
        assert account["JoinedTimestamp"].endswith("+00:00")
        assert account["JoinedMethod"] == "CREATED"
        assert account["Regions"] == sorted(account["Regions"])
        assert all(set(parent) == {"Id", "Type", "Name"} for parent in account["Parents"])
    assert scenario.s3_content_type == "application/json"


def test_parents_are_the_full_chain_up_to_the_root(scenario: Scenario) -> None:
    org = scenario.org
    for account_id, account in scenario.dry_index["accounts"].items():
        chain = org.parent_chain(account_id)
        assert [p["Id"] for p in account["Parents"]] == chain
        assert account["Parents"][-1] == {"Id": org.root_id, "Type": "ROOT", "Name": "ROOT"}
        assert [p["Name"] for p in account["Parents"][:-1]] == [org.org_units[ou].name for ou in chain[:-1]]
        assert {p["Type"] for p in account["Parents"][:-1]} <= {"ORGANIZATIONAL_UNIT"}


def test_names_emails_tags_and_status_are_the_organisations(scenario: Scenario) -> None:
    for account_id, seeded in scenario.org.accounts.items():
        account = scenario.dry_index["accounts"][account_id]
        assert (account["Name"], account["Email"], account["Status"]) == (seeded.name, seeded.email, seeded.status)
        assert account["Tags"] == dict(seeded.tags)


def test_regions_are_those_enabled_in_each_account(scenario: Scenario) -> None:
    for account_id, seeded in scenario.org.accounts.items():
        account = scenario.dry_index["accounts"][account_id]
        expected = sorted(seeded.regions) if seeded.status == "ACTIVE" else []  # never entered when suspended
        assert account["Regions"] == expected, account_id
    all_regions = {r for a in scenario.dry_index["accounts"].values() for r in a["Regions"]}
    assert not any(r.startswith(("cn-", "us-gov-")) for r in all_regions)  # moto lists other partitions too


def test_summary_counts_what_was_built(scenario: Scenario) -> None:
    summary, org = scenario.dry_summary, scenario.org
    active = org.active_account_ids()
    assert summary["accounts"] == len(org.accounts)
    assert summary["active_accounts"] == len(active)
    assert summary["org_units"] == len(org.org_units)
    assert sum(summary["regions_per_account"].values()) == len(active)
    assert summary["accounts_per_region"][EXTRA_OPT_IN_REGION] == sum(
        EXTRA_OPT_IN_REGION in org.accounts[a].regions for a in active
    )
    assert summary["destination"] == f"s3://{BUCKET}/accountIndex.json"
    json.dumps(summary)  # JSON-able, it is the target's outcome detail


# -- commit ---------------------------------------------------------------------------------------------


def test_dry_run_writes_nothing(scenario: Scenario) -> None:
    assert scenario.s3_keys_after_dry_run == []
    assert not scenario.local_exists_after_dry_run
    assert scenario.dry_summary["written"] is False


def test_commit_writes_s3_object_and_local_file_the_loader_reads(scenario: Scenario) -> None:
    assert scenario.s3_summary["written"] is True
    assert scenario.local_summary["written"] is True
    assert scenario.local_summary["destination"] == str(scenario.local_path)
    local = load_account_index(Location(None, str(scenario.local_path)))
    expected = scenario.org.active_account_ids()
    assert scenario.s3_loaded.all_ids() == expected
    assert local.all_ids() == expected
    assert (
        local.regions_of(scenario.org.management_account_id)
        == scenario.org.accounts[scenario.org.management_account_id].regions
    )


# -- read back and resolved ------------------------------------------------------------------------------


def _accounts(index: AccountIndex, selection: dict[str, Any], **extra: Any) -> set[str]:
    payload = BaseAccountPayloadTemplate().load(
        {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": selection, **extra}
    )
    return {t.account_id for t in resolve_targets(payload, index, FanOutStrategy.ACCOUNT)}  # type: ignore[misc]


def test_by_org_unit_on_a_parent_ou_includes_nested_ous(scenario: Scenario) -> None:
    org, index = scenario.org, scenario.s3_loaded
    members = org.active_account_ids() - {org.management_account_id}
    (production,) = (ou.id for ou in org.org_units.values() if ou.path == ("Production",))
    expected = org.accounts_under(production) & members
    assert any(len(org.parent_chain(a)) == 4 for a in expected)  # some sit two OUs below Production
    assert _accounts(index, {"ByOrgUnits": [production]}) == expected
    assert _accounts(index, {"ByOrgUnits": ["production"]}) == expected  # by name, any case


def test_by_org_unit_name_matches_both_ous_of_that_name(scenario: Scenario) -> None:
    org, index = scenario.org, scenario.s3_loaded
    members = org.active_account_ids() - {org.management_account_id}
    expected = set().union(*(org.accounts_under(ou) for ou in org.org_units_named("Web"))) & members
    assert {org.org_units[org.accounts[a].parent_id].path[0] for a in expected} == {"Production", "Development"}
    assert _accounts(index, {"ByOrgUnits": ["Web"]}) == expected


def test_by_tags_and_org_root(scenario: Scenario) -> None:
    org, index = scenario.org, scenario.s3_loaded
    members = org.active_account_ids() - {org.management_account_id}
    web_team = org.accounts_tagged("Team", "web") & members
    assert web_team
    assert _accounts(index, {"ByTags": [{"Name": "team", "Value": "WEB"}]}) == web_team
    platform = org.accounts_tagged("Team", "platform") & org.active_account_ids()
    assert org.management_account_id in platform
    assert _accounts(index, {"ByTags": [{"Name": "Team", "Value": "platform"}]}) == platform - {
        org.management_account_id
    }
    assert _accounts(index, {"ByTags": [{"Name": "Team", "Value": "platform"}]}, OperateInOrgRoot=True) == platform


def test_account_region_pairs_respect_enabled_regions(scenario: Scenario) -> None:
    org, index = scenario.org, scenario.s3_loaded
    wanted = ["us-east-1", ORG_OPT_IN_REGIONS[0], EXTRA_OPT_IN_REGION]
    payload = BaseAccountRegionPayloadTemplate().load(
        {
            "TemplateName": "t",
            "TemplateDescription": "d",
            "IncludeAccounts": {"AllAccounts": True},
            "IncludeRegions": wanted,
        }
    )
    targets = resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION)
    members = org.active_account_ids() - {org.management_account_id}
    expected = sorted(Target(a, r) for a in members for r in wanted if r in org.accounts[a].regions)
    assert targets == expected
    per_account = {a: sum(t.account_id == a for t in targets) for a in members}
    assert set(per_account.values()) == {1, 2, 3}  # fewer, standard and extra accounts all present


# -- configuration, payload, destination ------------------------------------------------------------------


def test_plugin_list_and_strategy() -> None:
    assert [AccountIndexGeneratorShip] == WORKER_SHIP_PLUGINS
    assert AccountIndexGeneratorShip.fan_out_strategy is FanOutStrategy.SINGLE_INVOCATION


def test_a_starfleet_section_loads_unchanged() -> None:
    section = {
        "Enabled": True,
        "TemplatePrefix": "AccountIndexGeneratorShip/",
        "InvocationQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/starfleet-account-index-generator",
        "InvocationSources": ["EVENTBRIDGE_TIMED_EVENT"],
        "EventBridgeTimedFrequency": "HOURLY",
        "OrgAccountAssumeRole": "starfleet-worker-basic-test-role",
        "OrgAccountId": "123456789012",
        "OrgRootId": "r-123456",
        "DescribeRegionsAssumeRole": "starfleet-worker-basic-test-role",
    }
    loaded = AccountIndexGeneratorShip.configuration_template_class().load(section)
    assert loaded["org_root_id"] == "r-123456"
    assert loaded["lookup_concurrency"] == 16


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"OrgAccountId": "12345678901"}, "OrgAccountId", "12-digit"),
        ({"OrgRootId": "ou-abcd-12345678"}, "OrgRootId", "root id"),
        ({"DescribeRegionsAssumeRole": None}, "DescribeRegionsAssumeRole", "null"),
        ({"LookupConcurrency": 0}, "LookupConcurrency", "greater than or equal to 1"),
    ],
)
def test_configuration_errors_name_the_key(change: dict[str, Any], key: str, message: str) -> None:
    section = {
        "Enabled": True,
        "TemplatePrefix": "AccountIndexGeneratorShip/",
        "OrgAccountAssumeRole": "r",
        "OrgAccountId": "123456789012",
        "DescribeRegionsAssumeRole": "r",
        "Airflow": {"DeliveryMode": "INLINE"},
        **change,
    }
    with pytest.raises(ValidationError) as raised:
        AccountIndexGeneratorShip.configuration_template_class().load(section)
    assert message in " ".join(raised.value.messages[key])  # type: ignore[index]


@pytest.mark.parametrize(
    ("payload", "key", "message"),
    [
        ({"AccountInventoryBucket": "b-bucket"}, "InventoryBucketRegion", "required when AccountInventoryBucket"),
        ({"AccountInventoryBucket": "b-bucket", "InventoryBucketRegion": "mars-1"}, "InventoryBucketRegion", "mars-1"),
        ({"InventoryObjectPrefix": "x.json"}, "InventoryObjectPrefix", "only used with AccountInventoryBucket"),
    ],
)
def test_payload_errors_name_the_key(payload: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        AccountIndexGeneratorShip.payload_template_class().load(
            {"TemplateName": "t", "TemplateDescription": "d", **payload}
        )
    assert message in " ".join(raised.value.messages[key])  # type: ignore[index]


def _ship_with_destination(payload: dict[str, Any], starfleet: dict[str, Any]) -> AccountIndexGeneratorShip:
    ship = AccountIndexGeneratorShip({}, starfleet)
    ship.load_template({"TemplateName": "t", "TemplateDescription": "d", **payload})
    return ship


def test_destination_from_payload_or_starfleet(tmp_path: Path) -> None:
    bucket = {
        "AccountInventoryBucket": "inventory",
        "InventoryBucketRegion": REGION,
        "InventoryObjectPrefix": "a/i.json",
    }
    assert _ship_with_destination(bucket, {}).destination() == Location("inventory", "a/i.json")
    s3 = _ship_with_destination({}, {"account_index_location": "s3://idx/accountIndex.json"})
    assert s3.destination() == Location("idx", "accountIndex.json")
    absolute = _ship_with_destination({}, {"account_index_location": str(tmp_path / "i.json")})
    assert absolute.destination() == Location(None, str(tmp_path / "i.json"))


def _config_folder(tmp_path: Path, index_location: str) -> Path:
    """A configuration folder with this project's generator section and a STARFLEET section of our own."""
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(REPO / "config" / "account_index_generator.yaml", folder)
    (folder / "starfleet.yaml").write_text(
        "STARFLEET:\n"
        f"  DeploymentRegion: {REGION}\n"
        f"  TemplateLocation: {REPO / 'templates'}\n"
        f"  AccountIndexLocation: {index_location}\n"
    )
    return folder


def test_relative_location_resolves_against_the_configuration_folder(tmp_path: Path) -> None:
    configuration = load_configuration(_config_folder(tmp_path, "var/accountIndex.json"))
    configuration.raise_for_errors()
    with STARFLEET_CONFIGURATION.serving(configuration):
        ship = _ship_with_destination({}, configuration.starfleet)
        assert ship.destination() == Location(None, str(tmp_path / "var" / "accountIndex.json"))
        other = _ship_with_destination({}, {"account_index_location": "elsewhere/index.json"})
        with pytest.raises(AccountIndexGenerationError, match=r"elsewhere/index\.json"):
            other.destination()


# -- through the project's own configuration, registry and runner -----------------------------------------


def test_sample_configuration_and_template_run_through_the_runner(tmp_path: Path) -> None:
    """config/account_index_generator.yaml + templates/AccountIndexGeneratorShip/generate.yaml, as shipped."""
    configuration = load_configuration(_config_folder(tmp_path, "var/accountIndex.json"))
    configuration.raise_for_errors()
    registry = load_ships(configuration, use_entry_points=False)
    loaded = registry.ships["AccountIndexGeneratorShip"]
    assert loaded.airflow_options["delivery_mode"].value == "INLINE"
    template = REPO / "templates" / "AccountIndexGeneratorShip" / "generate.yaml"
    raw_template = yaml.safe_load(template.read_text())
    with mock_aws(), STARFLEET_CONFIGURATION.serving(configuration):
        session = boto3.Session(region_name=REGION)
        org = seed_organisation(session, n_accounts=6, seed=2)
        assert org.management_account_id == loaded.configuration["org_account_id"]
        outcome = run_ship_for_target(loaded, raw_template, None, None, commit=True, aws_session=session)
    assert outcome.status == SUCCEEDED, outcome.error
    written = load_account_index(Location(None, str(tmp_path / "var" / "accountIndex.json")))
    assert written.all_ids() == org.active_account_ids()
    assert outcome.detail["written"] is True


# -- reading Organizations ---------------------------------------------------------------------------------


def test_list_parents_fallback_gives_the_walks_chain() -> None:
    """For an account that moved while the tree was walked, ListParents rebuilds the same chain."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        org = seed_organisation(session, n_accounts=14, seed=4)
        client = session.client("organizations")
        deepest = max(org.accounts, key=lambda a: len(org.parent_chain(a)))
        tree = OrgTree(org.root_id, chains={org.root_id: [root_parent(org.root_id)]})
        chain = chain_by_list_parents(client, deepest, tree)
    assert [p["Id"] for p in chain] == org.parent_chain(deepest)
    assert [p["Name"] for p in chain[:-1]] == [org.org_units[ou].name for ou in org.parent_chain(deepest)[:-1]]
    assert org.accounts[deepest].parent_id in tree.chains  # learnt for the next missed account


def test_wrong_root_id_fails_naming_it() -> None:
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        org = seed_organisation(session, n_accounts=3, seed=1)
        ship = ship_for(org, session, {"AccountInventoryBucket": BUCKET, "InventoryBucketRegion": REGION})
        ship.configuration = {**ship.configuration, "org_root_id": "r-zzzz"}
        with pytest.raises(Exception, match="r-zzzz"):
            ship.execute(commit=False)


def _policy(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_under_iam_enforcement_the_seeded_roles_suffice_and_a_missing_permission_names_the_account(
    tmp_path: Path,
) -> None:
    """moto checks IAM policies here: the orchestrator may only assume roles, the roles have the seeder's policies.

    moto does not treat an account-root principal as delegating to the account's IAM policies, so the
    two roles trusted in the orchestrator's own account name the orchestrator user explicitly.
    """
    destination = tmp_path / "accountIndex.json"
    with mock_aws():
        admin = boto3.Session(region_name=REGION)
        org = seed_organisation(admin, n_accounts=5, seed=8)
        iam = admin.client("iam")
        user_arn = iam.create_user(UserName="orchestrator")["User"]["Arn"]
        iam.put_user_policy(
            UserName="orchestrator",
            PolicyName="assume-only",
            PolicyDocument=_policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}),
        )
        trust = _policy({"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"})
        for role in (org.org_reader_role, org.worker_role):
            iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust)
        key = iam.create_access_key(UserName="orchestrator")["AccessKey"]
        orchestrator = boto3.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
        )
        starfleet = {"account_index_location": str(destination)}

        with enable_iam_authentication():
            summary = ship_for(org, orchestrator, starfleet=starfleet).execute(commit=False)
        assert summary["active_accounts"] == len(org.active_account_ids())

        victim = min(org.active_account_ids() - {org.management_account_id})
        access = admin.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{victim}:role/OrganizationAccountAccessRole", RoleSessionName="test-setup"
        )["Credentials"]
        admin.client(
            "iam",
            aws_access_key_id=access["AccessKeyId"],
            aws_secret_access_key=access["SecretAccessKey"],
            aws_session_token=access["SessionToken"],
        ).put_role_policy(
            RoleName=org.worker_role,
            PolicyName=f"{org.worker_role}-policy",
            PolicyDocument=_policy({"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}),
        )
        with enable_iam_authentication(), pytest.raises(AccountIndexGenerationError) as raised:
            ship_for(org, orchestrator, starfleet=starfleet).execute(commit=True)
    message = str(raised.value)
    assert message.startswith("1 account lookup failed: ")
    assert f"DescribeRegions in {victim}: " in message
    assert "not authorized to perform: ec2:DescribeRegions" in message
    assert not destination.exists()


def test_moto_server_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's path: a moto server on 127.0.0.1, seeded through its endpoint, read over HTTP."""
    server, org = serve("127.0.0.1", 0, region=REGION, n_accounts=8, seed=3)
    try:
        host, port = server.get_host_and_port()
        assert org.endpoint_url == f"http://{host}:{port}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", org.endpoint_url)
        session = boto3.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        summary = ship_for(org, session, starfleet={"account_index_location": f"s3://{BUCKET}/idx.json"}).execute(
            commit=True
        )
        index = load_account_index(Location(BUCKET, "idx.json"), s3_client=session.client("s3"))
    finally:
        requests.post(f"{org.endpoint_url}/moto-api/reset", timeout=10)  # leave no state for other tests
        server.stop()
    assert summary["written"] is True
    assert index.all_ids() == org.active_account_ids()
    assert all(index.regions_of(a) == org.accounts[a].regions for a in index.all_ids())
    assert org.regions_varied
