"""Loading the account index: Starfleet's format from a file or S3, and precise errors."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.account_index import AccountIndex, AccountIndexError, load_account_index
from starfleet_airflow.locations import parse_location
from starfleet_airflow.synthetic_org import build_index, sample_organisation


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
