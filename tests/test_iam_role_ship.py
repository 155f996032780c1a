"""IamRoleWorkerShip against moto's IAM in several accounts: create, update, no-op, dry run, refusals.

moto keeps one IAM per account and routes a request by its credentials: the keys STS AssumeRole returns
for ``arn:aws:iam::ACCOUNT:role/...`` act in ACCOUNT (moto/sts/models.py, moto/core/responses.py
``get_current_account``). The ship reaches its target accounts exactly that way, through
``starfleet_airflow.aws.sessions.assume_role_session``, so these tests check the real cross-account path; the
assertions read IAM back with their own assumed sessions, never through the ship's code.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from marshmallow import ValidationError
from moto import mock_aws

from ships.iam_role import WORKER_SHIP_PLUGINS, IamRoleWorkerShip
from ships.iam_role.plan import RoleState, normalise_policy, plan_changes, same_policy
from ships.iam_role.ship import IamRoleConflictError
from ships.iam_role.variables import VariableError
from starfleet_airflow import (
    STARFLEET_CONFIGURATION,
    AccountIndex,
    FanOutStrategy,
    RunContext,
    assume_role_session,
    flatten_errors,
)
from starfleet_airflow.core.changes import make_change_summary
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.devtools.synthetic_org import sample_organisation

REPO = Path(__file__).resolve().parent.parent
ACCOUNT_A = "100000000001"  # prod-web-1 in the sample organisation
ACCOUNT_B = "100000000011"  # Sandbox-Alice
DEFAULT_ACCOUNT = "123456789012"  # moto's account for the test credentials themselves
WORKER_ROLE = "starfleet-worker-role"
ROLE = "starfleet-audit"

SHIP_SECTION = {
    "Enabled": True,
    "TemplatePrefix": "IamRoleWorkerShip/",
    "WorkerRoleToAssume": WORKER_ROLE,
    "Airflow": {"DeliveryMode": "INLINE"},
}
STARFLEET = {"deployment_region": "us-east-1"}

READ_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["cloudtrail:LookupEvents"], "Resource": "*"}],
}
TEMPLATE: dict[str, Any] = {
    "TemplateName": "AuditRole",
    "TemplateDescription": "Audit role for the tests",
    "IncludeAccounts": {"AllAccounts": True},
    "Variables": {"SecurityAccountId": "100000000014"},
    "RoleName": ROLE,
    "Description": "Read-only audit role",
    "Path": "/security/",
    "MaxSessionDuration": 7200,
    "AssumeRolePolicyDocument": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:${Partition}:iam::${SecurityAccountId}:role/auditor"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "audit-${AccountId}"}},
            }
        ],
    },
    "ManagedPolicyArns": ["arn:${Partition}:iam::${AccountId}:policy/audit-read"],
    "InlinePolicies": {
        "ReadLogs": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:GetLogEvents", "logs:DescribeLogGroups"],
                    # An IAM policy variable: passed to IAM as written, never taken for one of ours.
                    "Resource": "arn:${Partition}:logs:${Region}:${AccountId}:log-group:/audit/${aws:username}*",
                }
            ],
        },
    },
    "Tags": {"Owner": "security", "ManagedBy": "starfleet", "Account": "${AccountId}"},
}


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    """moto's IAM/STS with two member accounts, each holding the customer managed policies templates use."""
    with mock_aws():
        base = boto3.Session(region_name="us-east-1")
        for account in (ACCOUNT_A, ACCOUNT_B):
            iam = iam_in(base, account)
            for name in ("audit-read", "audit-extra", "boundary"):
                iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(READ_POLICY))
        yield base


def iam_in(base: boto3.Session, account: str) -> Any:
    """An IAM client acting in ``account``, obtained independently of the ship."""
    return assume_role_session(base, account, WORKER_ROLE, region="us-east-1", session_name="test").client("iam")


def make_ship(base: boto3.Session, run_context: RunContext | None = None) -> IamRoleWorkerShip:
    configuration = IamRoleWorkerShip.configuration_template_class().load(SHIP_SECTION)
    return IamRoleWorkerShip(configuration, dict(STARFLEET), run_context, aws_session=base)


def run(base: boto3.Session, template: dict[str, Any], account: str, commit: bool, **kwargs: Any) -> list[dict]:
    ship = make_ship(base, **kwargs)
    ship.load_template({**copy.deepcopy(template), "StarbaseAssignedAccount": account})
    result = ship.execute(commit=commit)
    json.dumps(result)  # the outcome detail must be JSON-able
    return result


def role_in_iam(iam: Any, name: str = ROLE) -> dict[str, Any] | None:
    """Everything the ship manages, read straight from IAM."""
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return None
    inline = {
        policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
    }
    return {
        "Path": role["Path"],
        "Description": role.get("Description", ""),
        "MaxSessionDuration": role["MaxSessionDuration"],
        "Trust": role["AssumeRolePolicyDocument"],
        "Boundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "Managed": sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]),
        "Inline": inline,
        "Tags": {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]},
    }


def actions(changes: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(change["action"], change["subject"]) for change in changes}


# --------------------------------------------------------------------------------------------------
# Plugin shape
# --------------------------------------------------------------------------------------------------


def test_plugin_declares_an_account_ship_with_starfleet_configuration_keys() -> None:
    assert [IamRoleWorkerShip] == WORKER_SHIP_PLUGINS
    assert IamRoleWorkerShip.fan_out_strategy is FanOutStrategy.ACCOUNT
    section = yaml.safe_load((REPO / "config" / "iam_role.yaml").read_text())["IamRoleWorkerShip"]
    loaded = IamRoleWorkerShip.configuration_template_class().load(section)
    assert loaded["worker_role_to_assume"] == WORKER_ROLE
    assert loaded["worker_role_session_name"] == "StarfleetIamRoleWorkerShip"  # Starfleet's default
    with pytest.raises(ValidationError) as error:
        IamRoleWorkerShip.configuration_template_class().load(
            {k: v for k, v in section.items() if k != "WorkerRoleToAssume"}
        )
    assert "WorkerRoleToAssume" in error.value.messages


def test_sample_templates_validate() -> None:
    paths = sorted((REPO / "templates" / "IamRoleWorkerShip").rglob("*.yaml"))
    assert paths
    for path in paths:
        payload = IamRoleWorkerShip.payload_template_class().load(yaml.safe_load(path.read_text()))
        assert payload["role_name"]


# --------------------------------------------------------------------------------------------------
# Create, no-op, update, dry run
# --------------------------------------------------------------------------------------------------


def test_creates_the_role_in_each_account_with_per_account_values(aws: boto3.Session) -> None:
    for account in (ACCOUNT_A, ACCOUNT_B):
        changes = run(aws, TEMPLATE, account, commit=True)
        assert actions(changes) == {
            ("create_role", ROLE),
            ("attach_managed_policy", f"arn:aws:iam::{account}:policy/audit-read"),
            ("put_inline_policy", "ReadLogs"),
        }
        assert all(change["applied"] for change in changes)

    for account in (ACCOUNT_A, ACCOUNT_B):
        role = role_in_iam(iam_in(aws, account))
        assert role is not None
        assert role["Path"] == "/security/"
        assert role["Description"] == "Read-only audit role"
        assert role["MaxSessionDuration"] == 7200
        statement = role["Trust"]["Statement"][0]
        assert statement["Principal"] == {"AWS": "arn:aws:iam::100000000014:role/auditor"}
        assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": f"audit-{account}"}}
        assert role["Managed"] == [f"arn:aws:iam::{account}:policy/audit-read"]
        resource = role["Inline"]["ReadLogs"]["Statement"][0]["Resource"]
        assert resource == f"arn:aws:logs:us-east-1:{account}:log-group:/audit/${{aws:username}}*"
        assert role["Tags"] == {"Owner": "security", "ManagedBy": "starfleet", "Account": account}

    # The ship acted in the target accounts only, never with its own credentials' account.
    assert role_in_iam(aws.client("iam")) is None


def test_second_run_changes_nothing(aws: boto3.Session) -> None:
    run(aws, TEMPLATE, ACCOUNT_A, commit=True)
    iam = iam_in(aws, ACCOUNT_A)
    before = role_in_iam(iam)
    assert run(aws, TEMPLATE, ACCOUNT_A, commit=True) == []
    assert run(aws, TEMPLATE, ACCOUNT_A, commit=False) == []
    assert role_in_iam(iam) == before


def test_equivalent_documents_in_iam_are_not_a_difference(aws: boto3.Session) -> None:
    """What IAM stores may be written differently from the template yet mean the same: no change."""
    run(aws, TEMPLATE, ACCOUNT_A, commit=True)
    iam = iam_in(aws, ACCOUNT_A)
    # Same meaning, other spelling: statement as a mapping, one-item lists, action case, key order.
    iam.update_assume_role_policy(
        RoleName=ROLE,
        PolicyDocument=json.dumps(
            {
                "Statement": {
                    "Condition": {"StringEquals": {"STS:externalid": [f"audit-{ACCOUNT_A}"]}},
                    "Action": ["sts:AssumeRole"],
                    "Principal": {"AWS": ["arn:aws:iam::100000000014:role/auditor"]},
                    "Effect": "Allow",
                },
                "Version": "2012-10-17",
            }
        ),
    )
    iam.put_role_policy(
        RoleName=ROLE,
        PolicyName="ReadLogs",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Resource": [f"arn:aws:logs:us-east-1:{ACCOUNT_A}:log-group:/audit/${{aws:username}}*"],
                        "Action": ["logs:describeloggroups", "logs:GetLogEvents"],
                        "Effect": "Allow",
                    }
                ],
            }
        ),
    )
    assert run(aws, TEMPLATE, ACCOUNT_A, commit=False) == []


def test_update_brings_every_managed_attribute_back_to_the_template(aws: boto3.Session) -> None:
    run(aws, TEMPLATE, ACCOUNT_A, commit=True)
    run(aws, TEMPLATE, ACCOUNT_B, commit=True)
    iam = iam_in(aws, ACCOUNT_A)
    # Drift made outside the template: an extra managed policy, inline policy and tag.
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=f"arn:aws:iam::{ACCOUNT_A}:policy/audit-extra")
    iam.put_role_policy(RoleName=ROLE, PolicyName="HandMade", PolicyDocument=json.dumps(READ_POLICY))
    iam.tag_role(RoleName=ROLE, Tags=[{"Key": "Temporary", "Value": "yes"}])

    new = copy.deepcopy(TEMPLATE)
    new["Description"] = "Audit role, v2"
    new["MaxSessionDuration"] = 3600
    new["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {
        "AWS": ["arn:aws:iam::100000000014:role/auditor", "arn:aws:iam::100000000015:role/auditor"]
    }
    new["ManagedPolicyArns"] = ["arn:aws:iam::${AccountId}:policy/audit-extra"]
    new["PermissionsBoundary"] = "arn:aws:iam::${AccountId}:policy/boundary"
    new["InlinePolicies"]["ReadLogs"]["Statement"][0]["Action"] = ["logs:GetLogEvents"]
    new["InlinePolicies"]["ReadTrails"] = READ_POLICY
    new["Tags"] = {"Owner": "secops", "ManagedBy": "starfleet", "CostCentre": "1234"}

    changes = run(aws, new, ACCOUNT_A, commit=True)
    assert actions(changes) == {
        ("update_trust_policy", "AssumeRolePolicyDocument"),
        ("update_description", "Description"),
        ("update_max_session_duration", "MaxSessionDuration"),
        ("put_permissions_boundary", "PermissionsBoundary"),
        ("detach_managed_policy", f"arn:aws:iam::{ACCOUNT_A}:policy/audit-read"),
        ("put_inline_policy", "ReadLogs"),
        ("put_inline_policy", "ReadTrails"),
        ("delete_inline_policy", "HandMade"),
        ("untag_role", "Account"),
        ("untag_role", "Temporary"),
        ("tag_role", "Owner"),
        ("tag_role", "CostCentre"),
    }  # audit-extra is attached already (by hand): no attach change for it
    by_action = {(c["action"], c["subject"]): c for c in changes}
    assert by_action[("tag_role", "Owner")]["current"] == "security"
    assert by_action[("tag_role", "Owner")]["desired"] == "secops"

    role = role_in_iam(iam)
    assert role is not None
    assert role["Description"] == "Audit role, v2"
    assert role["MaxSessionDuration"] == 3600
    assert same_policy(
        role["Trust"],
        new["AssumeRolePolicyDocument"]
        | {
            "Statement": [
                {
                    **new["AssumeRolePolicyDocument"]["Statement"][0],
                    "Condition": {"StringEquals": {"sts:ExternalId": f"audit-{ACCOUNT_A}"}},
                }
            ]
        },
    )
    assert role["Boundary"] == f"arn:aws:iam::{ACCOUNT_A}:policy/boundary"
    assert role["Managed"] == [f"arn:aws:iam::{ACCOUNT_A}:policy/audit-extra"]
    assert sorted(role["Inline"]) == ["ReadLogs", "ReadTrails"]
    assert role["Inline"]["ReadLogs"]["Statement"][0]["Action"] == ["logs:GetLogEvents"]
    assert role["Tags"] == {"Owner": "secops", "ManagedBy": "starfleet", "CostCentre": "1234"}

    assert run(aws, new, ACCOUNT_A, commit=True) == []
    # The other account still has the old template's role: each account is synced on its own.
    assert role_in_iam(iam_in(aws, ACCOUNT_B))["Description"] == "Read-only audit role"

    # Removing the boundary from the template removes it from the role.
    without_boundary = {k: v for k, v in new.items() if k != "PermissionsBoundary"}
    assert actions(run(aws, without_boundary, ACCOUNT_A, commit=True)) == {
        ("delete_permissions_boundary", "PermissionsBoundary")
    }
    assert role_in_iam(iam)["Boundary"] is None


def test_dry_run_changes_nothing_and_logs_the_differences(aws: boto3.Session, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ships.iam_role")
    planned = run(aws, TEMPLATE, ACCOUNT_A, commit=False)
    assert ("create_role", ROLE) in actions(planned)
    assert not any(change["applied"] for change in planned)
    assert role_in_iam(iam_in(aws, ACCOUNT_A)) is None
    assert "dry run, would apply 3 changes" in caplog.text

    run(aws, TEMPLATE, ACCOUNT_A, commit=True)
    iam = iam_in(aws, ACCOUNT_A)
    before = role_in_iam(iam)
    changed = copy.deepcopy(TEMPLATE)
    changed["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::100000000015:role/auditor"
    changed["Tags"]["Owner"] = "secops"
    caplog.clear()
    planned = run(aws, changed, ACCOUNT_A, commit=False)
    assert actions(planned) == {("update_trust_policy", "AssumeRolePolicyDocument"), ("tag_role", "Owner")}
    trust = next(c for c in planned if c["action"] == "update_trust_policy")
    assert trust["current"]["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::100000000014:role/auditor"}
    assert trust["desired"]["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::100000000015:role/auditor"}
    assert role_in_iam(iam) == before
    # The log shows the exact difference: a unified diff of the trust policy, the tag's old and new value.
    assert re.search(r'^ +- +"AWS": "arn:aws:iam::100000000014:role/auditor"$', caplog.text, re.MULTILINE)
    assert re.search(r'^ +\+ +"AWS": "arn:aws:iam::100000000015:role/auditor"$', caplog.text, re.MULTILINE)
    assert "tag_role Owner: 'security' -> 'secops'" in caplog.text


def test_path_change_is_refused_without_changing_anything(aws: boto3.Session) -> None:
    run(aws, TEMPLATE, ACCOUNT_A, commit=True)
    iam = iam_in(aws, ACCOUNT_A)
    before = role_in_iam(iam)
    moved = {**copy.deepcopy(TEMPLATE), "Path": "/audit/", "Description": "moved"}
    for commit in (False, True):
        with pytest.raises(IamRoleConflictError, match=r"'/security/' in IAM and '/audit/' in the template"):
            run(aws, moved, ACCOUNT_A, commit=commit)
    assert role_in_iam(iam) == before


# --------------------------------------------------------------------------------------------------
# Variables
# --------------------------------------------------------------------------------------------------


def test_account_name_comes_from_the_account_index(aws: boto3.Session, tmp_path: Path) -> None:
    template = copy.deepcopy(TEMPLATE)
    template["Tags"]["AccountName"] = "${AccountName}"
    index = AccountIndex.from_dict(sample_organisation())
    run(aws, template, ACCOUNT_A, commit=True, run_context=RunContext(extra={"account_index": index}))
    assert role_in_iam(iam_in(aws, ACCOUNT_A))["Tags"]["AccountName"] == "prod-web-1"

    # Without the runner's snapshot, the index the configuration names is read (a path relative to the
    # folder that holds config/, as in the sample configuration).
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "starfleet.yaml").write_text(
        "STARFLEET:\n  DeploymentRegion: us-east-1\n  TemplateLocation: templates\n"
        "  AccountIndexLocation: index/accountIndex.json\n"
    )
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "accountIndex.json").write_text(json.dumps(sample_organisation()))
    with STARFLEET_CONFIGURATION.serving(load_configuration(config_dir)):
        run(aws, template, ACCOUNT_B, commit=True)
    assert role_in_iam(iam_in(aws, ACCOUNT_B))["Tags"]["AccountName"] == "Sandbox-Alice"

    # An index that cannot be read fails the target before the account is touched, saying why.
    (config_dir / "starfleet.yaml").write_text(
        "STARFLEET:\n  DeploymentRegion: us-east-1\n  TemplateLocation: templates\n"
        "  AccountIndexLocation: index/missing.json\n"
    )
    with (
        STARFLEET_CONFIGURATION.serving(load_configuration(config_dir)),
        pytest.raises(VariableError, match=r"\$\{AccountName\}: the account name comes from the account index"),
    ):
        run(aws, template, "100000000002", commit=True)
    assert role_in_iam(iam_in(aws, "100000000002")) is None


# --------------------------------------------------------------------------------------------------
# Wrong templates
# --------------------------------------------------------------------------------------------------


def load_errors(template: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as error:
        IamRoleWorkerShip.payload_template_class().load(template)
    return flatten_errors(error.value.messages)


def with_changes(**changes: Any) -> dict[str, Any]:
    template = copy.deepcopy(TEMPLATE)
    for key, value in changes.items():
        if value is None:
            template.pop(key, None)
        else:
            template[key] = value
    return template


def test_unknown_variable_is_refused_naming_it_and_where_it_is() -> None:
    template = copy.deepcopy(TEMPLATE)
    template["InlinePolicies"]["ReadLogs"]["Statement"][0]["Resource"] = "arn:aws:s3:::${BucketName}/*"
    errors = load_errors(template)
    assert len(errors) == 1
    message = errors[0]
    assert message.startswith(
        "InlinePolicies: InlinePolicies.ReadLogs.Statement[0].Resource: unknown variable ${BucketName}"
    )
    assert "AccountId" in message and "SecurityAccountId" in message  # the known ones are listed


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"RoleName": None}, "RoleName: Missing data for required field."),
        ({"ManagedPolicyArn": ["arn:aws:iam::aws:policy/SecurityAudit"]}, "ManagedPolicyArn: Unknown field."),
        ({"Tags": {"Owner": "${Account Id}"}}, "Tags: Tags.Owner: malformed variable ${Account Id}"),
        ({"Variables": {"AccountId": "1"}}, "Variables: 'AccountId': built-in variable, cannot be redefined"),
        ({"MaxSessionDuration": 60}, "MaxSessionDuration: Must be greater than or equal to 3600"),
        ({"RoleName": "audit role"}, "RoleName: 'audit role': expected 1-64 characters"),
        ({"Path": "security"}, "Path: 'security': expected '/' or '/a/path/'"),
        ({"ManagedPolicyArns": ["SecurityAudit"]}, "ManagedPolicyArns: [0] 'SecurityAudit': expected arn:"),
        ({"Tags": {"aws:owner": "x"}}, "Tags: 'aws:owner': keys starting with aws: are reserved"),
        ({"Tags": {"Owner": "a", "owner": "b"}}, "Tags: 'owner' and 'Owner' differ only in case"),
        ({"Tags": {"Owner": 5}}, "Tags.Owner.value: Not a valid string."),
        (
            {
                "AssumeRolePolicyDocument": {
                    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
                }
            },
            "AssumeRolePolicyDocument: Statement[0]: a trust policy statement needs Principal",
        ),
        (
            {"InlinePolicies": {"Bad": {"Statement": [{"Effect": "Allow", "Actions": "s3:*", "Resource": "*"}]}}},
            "InlinePolicies: Bad: Statement[0]: unknown key Actions",
        ),
        ({"InlinePolicies": {"Empty": {"Version": "2012-10-17"}}}, "InlinePolicies: Empty: Statement: expected"),
    ],
)
def test_wrong_template_is_refused(changes: dict[str, Any], expected: str) -> None:
    errors = load_errors(with_changes(**changes))
    assert any(line.startswith(expected) for line in errors), errors


def test_rules_are_checked_again_with_the_real_account_values(aws: boto3.Session) -> None:
    """``${AccountName}`` may make a role name invalid only for some accounts: refused before any IAM call."""
    template = with_changes(RoleName="audit-${AccountName}")
    organisation = sample_organisation()
    organisation["accounts"][ACCOUNT_B]["Name"] = "Sandbox Alice"  # a space: not allowed in a role name
    context = RunContext(extra={"account_index": AccountIndex.from_dict(organisation)})

    run(aws, template, ACCOUNT_A, commit=True, run_context=context)
    assert role_in_iam(iam_in(aws, ACCOUNT_A), "audit-prod-web-1") is not None
    with pytest.raises(ValidationError) as error:
        run(aws, template, ACCOUNT_B, commit=True, run_context=context)
    assert flatten_errors(error.value.messages) == [
        "RoleName: 'audit-Sandbox Alice': expected 1-64 characters of letters, digits and +=,.@_-"
    ]
    assert iam_in(aws, ACCOUNT_B).list_roles()["Roles"] == []


# --------------------------------------------------------------------------------------------------
# Policy comparison
# --------------------------------------------------------------------------------------------------


def test_policy_comparison_ignores_only_what_iam_ignores() -> None:
    written = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "100000000014"},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True}},
            },
            {"Effect": "Allow", "Principal": "*", "Action": ["sts:TagSession"]},
        ],
    }
    stored = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "STS:TagSession"},
            {
                "Action": ["sts:assumerole"],
                "Principal": {"AWS": "arn:aws:iam::100000000014:root"},
                "Effect": "Allow",
                "Condition": {"Bool": {"aws:multifactorauthpresent": "true"}},
            },
        ],
    }
    assert same_policy(written, stored)
    # IAM hands documents back URL-encoded; botocore decodes them, and so does the ship when it gets text.
    from urllib.parse import quote

    assert same_policy(written, quote(json.dumps(stored)))
    assert normalise_policy(written) == normalise_policy(json.dumps(stored))

    # Resources are case-sensitive, effects and principals matter, a bare id differs by partition.
    resource = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::Logs"}],
    }
    assert not same_policy(resource, json.loads(json.dumps(resource).replace("Logs", "logs")))
    assert not same_policy(resource, json.loads(json.dumps(resource).replace("Allow", "Deny")))
    assert not same_policy(written, stored, partition="aws-us-gov")


def test_plan_of_an_unchanged_role_is_empty_and_a_missing_role_is_created() -> None:
    desired = RoleState(
        name="r",
        path="/",
        description="",
        trust_policy=TEMPLATE["AssumeRolePolicyDocument"],
        max_session_duration=3600,
        permissions_boundary=None,
        managed_policy_arns=frozenset({"arn:aws:iam::aws:policy/A"}),
        inline_policies={"P": READ_POLICY},
        tags={"k": "v"},
    )
    assert plan_changes(desired, desired) == []
    created = plan_changes(desired, None)
    assert [c.action for c in created] == ["create_role", "attach_managed_policy", "put_inline_policy"]


# --------------------------------------------------------------------------------------------------
# Delivery modes
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def loaded_ship(tmp_path: Path) -> Any:
    """The ship as the orchestrator loads it: discovered in ships/, its section from config/iam_role.yaml."""
    from starfleet_airflow.core.registry import load_ships

    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "starfleet.yaml").write_text(
        "STARFLEET:\n  DeploymentRegion: us-east-1\n  TemplateLocation: templates\n"
        "  AccountIndexLocation: accountIndex.json\n"
    )
    (config_dir / "iam_role.yaml").write_text((REPO / "config" / "iam_role.yaml").read_text())
    configuration = load_configuration(config_dir)
    assert configuration.ok, configuration.errors
    registry = load_ships(configuration, REPO / "ships", use_entry_points=False)
    loaded = registry.get("IamRoleWorkerShip")
    assert loaded is not None, registry.why_not_loaded("IamRoleWorkerShip")
    return loaded


@pytest.fixture
def aws_managed_policies() -> Iterator[boto3.Session]:
    """moto with AWS managed policies (SecurityAudit, ...) in every account: what the sample attaches."""
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        yield boto3.Session(region_name="us-east-1")


def test_inline_delivery_runs_the_sample_template(aws_managed_policies: boto3.Session, loaded_ship: Any) -> None:
    """Inline delivery (Airflow workers) goes through the runner, which assigns the account itself."""
    from starfleet_airflow.core.outcomes import SUCCEEDED
    from starfleet_airflow.core.runner import run_ship_for_target

    aws = aws_managed_policies
    raw = yaml.safe_load((REPO / "templates" / "IamRoleWorkerShip" / "SecurityAuditRole.yaml").read_text())

    dry = run_ship_for_target(loaded_ship, raw, ACCOUNT_A, None, commit=False, aws_session=aws)
    assert dry.status == SUCCEEDED, dry.error
    assert ("create_role", "starfleet-security-audit") in actions(dry.detail)
    assert role_in_iam(iam_in(aws, ACCOUNT_A), "starfleet-security-audit") is None

    applied = run_ship_for_target(loaded_ship, raw, ACCOUNT_A, None, commit=True, aws_session=aws)
    assert applied.status == SUCCEEDED, applied.error
    assert [change["action"] for change in applied.detail] == [c["action"] for c in dry.detail]
    role = role_in_iam(iam_in(aws, ACCOUNT_A), "starfleet-security-audit")
    assert role is not None and role["Path"] == "/security/"
    assert role["Managed"] == [
        "arn:aws:iam::aws:policy/SecurityAudit",
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
    ]
    assert role["Tags"]["AuditScope"] == ACCOUNT_A

    again = run_ship_for_target(loaded_ship, raw, ACCOUNT_A, None, commit=True, aws_session=aws)
    assert (again.status, again.detail) == (SUCCEEDED, [])
    json.dumps(again.to_dict())

    broken = {**raw, "Description": "for ${Team}"}
    refused = run_ship_for_target(loaded_ship, broken, ACCOUNT_B, None, commit=True, aws_session=aws)
    assert refused.status == "invalid"
    assert "unknown variable ${Team}" in (refused.error or "")
    assert role_in_iam(iam_in(aws, ACCOUNT_B), "starfleet-security-audit") is None


def lambda_event(sqs: Any, queue_url: str) -> dict[str, Any]:
    """The event an SQS event source mapping hands the Lambda: one record per message."""
    records = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        records.extend({"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"} for m in batch)
    return {"Records": records}


def test_sqs_fed_lambda_runs_the_ship_unchanged(
    aws: boto3.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """SQS delivery: the bodies the DAG sends, consumed by the Lambda handler; commit from STARFLEET_COMMIT."""
    from starfleet_airflow.core.render import BodyRenderer
    from starfleet_airflow.delivery.sqs import SqsSender
    from starfleet_airflow.lambda_worker import handler as lambda_handler

    config_dir = tmp_path / "lambda-config"
    config_dir.mkdir()
    (config_dir / "starfleet.yaml").write_text(
        "STARFLEET:\n  DeploymentRegion: us-east-1\n  TemplateLocation: templates\n"
        "  AccountIndexLocation: accountIndex.json\n"
    )
    (config_dir / "iam_role.yaml").write_text((REPO / "config" / "iam_role.yaml").read_text())
    monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("STARFLEET_SHIP", "IamRoleWorkerShip")
    monkeypatch.delenv("STARFLEET_COMMIT", raising=False)
    lambda_handler._LOADED.clear()

    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="starfleet-iam-role-worker")["QueueUrl"]
    broken = {**TEMPLATE, "Description": "for ${Team}"}

    def deliver_and_handle() -> tuple[dict[str, Any], dict[str, str]]:
        targets = [(ACCOUNT_A, None), (ACCOUNT_B, None)]
        SqsSender(sqs, queue_url).send(BodyRenderer(TEMPLATE).bodies(targets), targets)
        SqsSender(sqs, queue_url).send(BodyRenderer(broken).bodies([("100000000002", None)]), [("100000000002", None)])
        event = lambda_event(sqs, queue_url)
        ids = {json.loads(r["body"])["StarbaseAssignedAccount"]: r["messageId"] for r in event["Records"]}
        return lambda_handler.handler(event, None), ids

    previous = STARFLEET_CONFIGURATION.current  # the handler serves the configuration it loads
    try:
        response, ids = deliver_and_handle()  # STARFLEET_COMMIT unset: a dry run
        assert response == {"batchItemFailures": [{"itemIdentifier": ids["100000000002"]}]}
        assert role_in_iam(iam_in(aws, ACCOUNT_A)) is None

        monkeypatch.setenv("STARFLEET_COMMIT", "true")
        response, ids = deliver_and_handle()
        assert response == {"batchItemFailures": [{"itemIdentifier": ids["100000000002"]}]}
        roles = {account: role_in_iam(iam_in(aws, account)) for account in (ACCOUNT_A, ACCOUNT_B)}
        for account, role in roles.items():
            assert role is not None
            assert role["Tags"]["Account"] == account
            assert role["Managed"] == [f"arn:aws:iam::{account}:policy/audit-read"]
        assert role_in_iam(iam_in(aws, "100000000002")) is None

        # Redelivered (SQS delivers at least once): succeeds and changes nothing.
        caplog.clear()
        caplog.set_level(logging.INFO, logger="ships.iam_role")
        response, _ = deliver_and_handle()
        assert len(response["batchItemFailures"]) == 1
        assert caplog.text.count("matches template AuditRole; nothing to do") == 2
        assert {account: role_in_iam(iam_in(aws, account)) for account in roles} == roles
    finally:
        if previous is None:
            STARFLEET_CONFIGURATION.reset()
        else:
            STARFLEET_CONFIGURATION.use(previous)
        lambda_handler._LOADED.clear()


def test_the_ship_tells_a_reviewer_what_it_would_change(aws: boto3.Session) -> None:
    """report_changes: a summary and a diff whose lines start with -/+, the same for the same state."""

    def said(template: dict[str, Any], commit: bool = False) -> Any:
        ship = make_ship(aws)
        ship.load_template({**copy.deepcopy(template), "StarbaseAssignedAccount": ACCOUNT_A})
        ship.execute(commit=commit)
        return ship.change_summary

    created = said(TEMPLATE)
    assert created.changed is True
    assert created.summary.startswith("3 changes to role /security/starfleet-audit: create_role starfleet-audit,")
    assert created.diff.splitlines()[:2] == ["create_role starfleet-audit:", "+{"]
    assert said(TEMPLATE) == created  # same state, same report: what a reviewed run's apply re-checks

    said(TEMPLATE, commit=True)
    assert said(TEMPLATE) == make_change_summary(False, "role /security/starfleet-audit matches the template", "")
    changed = copy.deepcopy(TEMPLATE)
    changed["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::100000000015:role/auditor"
    diff = said(changed).diff.splitlines()
    assert diff[0] == "update_trust_policy AssumeRolePolicyDocument:"
    assert '-        "AWS": "arn:aws:iam::100000000014:role/auditor"' in diff
    assert '+        "AWS": "arn:aws:iam::100000000015:role/auditor"' in diff
