"""The guide's worked example ship against moto: the pattern every ship test follows (ships/README.md).

Run the ship the way the orchestrator does (a payload with ``StarbaseAssignedAccount``), then check the
account with plain boto3 calls, never through the ship's own reading code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from marshmallow import ValidationError
from moto import mock_aws

from ships.s3_public_access_block import WORKER_SHIP_PLUGINS, S3PublicAccessBlockWorkerShip
from ships.s3_public_access_block.ship import (
    S3PublicAccessBlockConfigurationTemplate,
    S3PublicAccessBlockPayloadTemplate,
)
from starfleet_airflow import AccountIndex, FanOutStrategy, assume_role_session, flatten_errors
from starfleet_airflow.core.resolve import resolve_targets
from starfleet_airflow.devtools.synthetic_org import sample_organisation

REPO = Path(__file__).resolve().parents[1]
SECTION = {"Enabled": True, "TemplatePrefix": "S3PublicAccessBlockWorkerShip/", "WorkerRoleToAssume": "worker"}
TEMPLATE = yaml.safe_load(
    (REPO / "templates" / "S3PublicAccessBlockWorkerShip" / "block_public_access.yaml").read_text()
)
ALL_TRUE = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def run(session: boto3.Session, template: dict[str, Any], account_id: str, commit: bool) -> dict[str, Any]:
    ship = S3PublicAccessBlockWorkerShip(
        configuration=S3PublicAccessBlockConfigurationTemplate().load(
            {**SECTION, "Airflow": {"DeliveryMode": "INLINE"}}
        ),
        aws_session=session,
    )
    ship.load_template({**template, "StarbaseAssignedAccount": account_id})
    result = ship.execute(commit=commit)
    json.dumps(result)  # outcome details must be JSON-able
    return result


def account_settings(session: boto3.Session, account_id: str) -> dict[str, bool] | None:
    client = assume_role_session(session, account_id, "reader", session_name="test").client("s3control")
    try:
        return client.get_public_access_block(AccountId=account_id)["PublicAccessBlockConfiguration"]
    except client.exceptions.NoSuchPublicAccessBlockConfiguration:
        return None


def test_sample_template_targets_every_account_but_the_sandboxes() -> None:
    index = AccountIndex.from_dict(sample_organisation())
    payload = S3PublicAccessBlockPayloadTemplate().load(TEMPLATE)
    accounts = {t.account_id for t in resolve_targets(payload, index, FanOutStrategy.ACCOUNT)}
    assert "111111111111" in accounts  # OperateInOrgRoot: true
    assert not accounts & index.by_org_unit("Sandbox")
    assert len(accounts) == len(index.all_ids() - index.by_org_unit("Sandbox"))


def test_dry_run_commit_then_no_op_in_two_accounts(session: boto3.Session) -> None:
    for account_id in ("100000000001", "100000000002"):
        dry = run(session, TEMPLATE, account_id, commit=False)
        assert dry["changes"] == {name: {"current": False, "desired": True} for name in ALL_TRUE}
        assert dry["committed"] is False
        assert account_settings(session, account_id) is None  # the dry run changed nothing

        assert run(session, TEMPLATE, account_id, commit=True)["committed"] is True
        assert account_settings(session, account_id) == ALL_TRUE
        assert run(session, TEMPLATE, account_id, commit=True) == {
            "account_id": account_id,
            "changes": {},
            "committed": False,
        }


def test_a_changed_template_changes_only_what_differs(session: boto3.Session) -> None:
    run(session, TEMPLATE, "100000000001", commit=True)
    relaxed = {**TEMPLATE, "RestrictPublicBuckets": False}
    result = run(session, relaxed, "100000000001", commit=True)
    assert result["changes"] == {"RestrictPublicBuckets": {"current": True, "desired": False}}
    assert account_settings(session, "100000000001") == {**ALL_TRUE, "RestrictPublicBuckets": False}
    assert account_settings(session, "100000000002") is None  # another account is never touched


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"BlockPublicAcl": True}, "BlockPublicAcl"),  # misspelt: refused, not silently defaulted
        ({"BlockPublicPolicy": "sometimes"}, "BlockPublicPolicy"),
        ({"IncludeAccounts": {}}, "IncludeAccounts"),
    ],
)
def test_wrong_template_is_refused(change: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as exc:
        S3PublicAccessBlockPayloadTemplate().load({**TEMPLATE, **change})
    assert any(line.startswith(f"{key}:") for line in flatten_errors(exc.value.messages))


def test_plugin_list() -> None:
    assert list(WORKER_SHIP_PLUGINS) == [S3PublicAccessBlockWorkerShip]
    assert S3PublicAccessBlockWorkerShip.fan_out_strategy is FanOutStrategy.ACCOUNT


def test_the_ship_tells_a_reviewer_what_it_would_change(session: boto3.Session) -> None:
    def said(template: dict[str, Any], commit: bool = False) -> Any:
        ship = S3PublicAccessBlockWorkerShip(
            configuration=S3PublicAccessBlockConfigurationTemplate().load(
                {**SECTION, "Airflow": {"DeliveryMode": "INLINE"}}
            ),
            aws_session=session,
        )
        ship.load_template({**template, "StarbaseAssignedAccount": "100000000001"})
        ship.execute(commit=commit)
        return ship.change_summary

    first = said(TEMPLATE)
    assert first.changed and first.summary.startswith("4 of 4 settings: BlockPublicAcls False -> True, ")
    assert first.diff.splitlines()[:2] == ["- BlockPublicAcls: false", "+ BlockPublicAcls: true"]
    said(TEMPLATE, commit=True)
    assert said(TEMPLATE).changed is False
    loose = said({**TEMPLATE, "RestrictPublicBuckets": False})
    assert (loose.summary, loose.diff) == (
        "1 of 4 settings: RestrictPublicBuckets True -> False",
        "- RestrictPublicBuckets: true\n+ RestrictPublicBuckets: false",
    )
