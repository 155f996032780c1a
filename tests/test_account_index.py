"""Loading the account index: Starfleet's format from a file or S3, and precise errors."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.aws.locations import parse_location
from starfleet_airflow.core.account_index import AccountIndex, AccountIndexError, load_account_index
from starfleet_airflow.devtools.synthetic_org import build_index, sample_organisation


def test_loads_from_a_local_file(tmp_path: Path) -> None:
    path = tmp_path / "accountIndex.json"
    raw = json.dumps(sample_organisation()).encode()
    path.write_bytes(raw)
    index = load_account_index(parse_location("accountIndex.json", tmp_path))
    assert len(index.accounts) == 19  # 20 minus the suspended one
    assert index.name_of("100000000001") == "prod-web-1"
    assert index.regions_of("100000000005") == {"us-east-1", "eu-west-1"}
    assert index.generated == "2026-11-01T00:00:00Z"
    # Same bytes, same fingerprint: what snapshots of a run rely on.
    assert index.fingerprint == AccountIndex.from_bytes(raw, source="x").fingerprint


@mock_aws
def test_loads_from_s3() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="index-bucket")
    s3.put_object(Bucket="index-bucket", Key="accountIndex.json", Body=json.dumps(build_index(50, 5)).encode())
    index = load_account_index(parse_location("s3://index-bucket/accountIndex.json"), s3_client=s3)
    assert len(index.accounts) == 50


@mock_aws
def test_missing_s3_object_names_the_location() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="index-bucket")
    with pytest.raises(AccountIndexError, match=r"s3://index-bucket/nope\.json"):
        load_account_index(parse_location("s3://index-bucket/nope.json"), s3_client=s3)


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(AccountIndexError, match=r"bad\.json: not valid JSON"):
        load_account_index(parse_location(str(path)))


def test_wrong_shape_lists_every_problem() -> None:
    data = sample_organisation()
    data["accounts"]["100000000001"]["Regions"] = "us-east-1"
    data["accounts"]["100000000002"]["Parents"] = [{"Id": "ou-1"}]
    data["accounts"]["100000000003"]["Id"] = "999"
    with pytest.raises(AccountIndexError) as caught:
        AccountIndex.from_dict(data, source="idx.json")
    message = str(caught.value)
    assert "idx.json: accounts.100000000001.Regions: expected a list of region names" in message
    assert "accounts.100000000002.Parents" in message
    assert "accounts.100000000003.Id" in message


def test_missing_accounts_mapping() -> None:
    with pytest.raises(AccountIndexError, match="expected a JSON object with an 'accounts' mapping"):
        AccountIndex.from_dict({"generated": "x"}, source="idx.json")


def test_index_for_ship_prefers_the_run_snapshot_and_reads_the_configured_s3_index_once_per_etag(
    tmp_path: Path,
) -> None:
    from starfleet_airflow.core.config import load_configuration
    from starfleet_airflow.core.index_cache import index_for_ship
    from starfleet_airflow.core.ship import RunContext, StarfleetWorkerShip
    from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION

    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "starfleet.yaml").write_text(
        "STARFLEET:\n  DeploymentRegion: us-east-1\n  TemplateLocation: templates\n"
        "  AccountIndexLocation: s3://index-bucket/accountIndex.json\n"
    )
    organisation = sample_organisation()
    inactive = next(iter(organisation["accounts"]))
    organisation["accounts"][inactive]["Status"] = "SUSPENDED"
    with mock_aws(), STARFLEET_CONFIGURATION.serving(load_configuration(config_dir)):
        session = boto3.Session(region_name="us-east-1")
        s3 = session.client("s3")
        s3.create_bucket(Bucket="index-bucket")
        s3.put_object(Bucket="index-bucket", Key="accountIndex.json", Body=json.dumps(organisation).encode())

        snapshot = AccountIndex.from_dict(build_index(3, ["us-east-1"]), source="snapshot")
        with_snapshot = StarfleetWorkerShip(
            run_context=RunContext(extra={"account_index": snapshot}), aws_session=session
        )
        assert index_for_ship(with_snapshot) is snapshot
        assert index_for_ship(with_snapshot, load=False) is snapshot

        ship = StarfleetWorkerShip(aws_session=session)
        assert index_for_ship(ship, load=False) is None
        first = index_for_ship(ship)
        assert first is not None and first.source == "s3://index-bucket/accountIndex.json"
        assert inactive not in first.accounts  # STARFLEET.IncludeInactiveAccounts is false by default
        assert index_for_ship(StarfleetWorkerShip(aws_session=session)) is first  # same ETag: not read again
        with_inactive = index_for_ship(ship, include_inactive=True)
        assert with_inactive is not None and inactive in with_inactive.accounts

        del organisation["accounts"][inactive]
        s3.put_object(Bucket="index-bucket", Key="accountIndex.json", Body=json.dumps(organisation).encode())
        second = index_for_ship(ship, include_inactive=True)
        assert second is not with_inactive and second is not None
        assert inactive not in second.accounts
