"""Cross-account sessions: the assumed identity, the session name rules, the shared data loader."""

from __future__ import annotations

import boto3
from moto import mock_aws

from starfleet_airflow.aws.sessions import assume_role_session, role_arn


def test_role_arn_with_path() -> None:
    assert role_arn("123456789012", "/ops/starfleet/") == "arn:aws:iam::123456789012:role/ops/starfleet"


@mock_aws
def test_assumed_session_acts_in_the_target_account() -> None:
    base = boto3.Session(region_name="us-east-1")
    session = assume_role_session(base, "210987654321", "starfleet-worker-role", session_name="x")
    identity = session.client("sts").get_caller_identity()
    assert identity["Account"] == "210987654321"
    assert "assumed-role/starfleet-worker-role/starfleet-airflow" in identity["Arn"]  # "x" is too short for STS
    assert session.region_name == "us-east-1"
    assert session._session.get_component("data_loader") is base._session.get_component("data_loader")


@mock_aws
def test_session_name_is_cleaned_for_sts() -> None:
    base = boto3.Session(region_name="eu-west-1")
    session = assume_role_session(base, "210987654321", "r", session_name="Iam Role/Ship:run#1" * 5)
    arn = session.client("sts").get_caller_identity()["Arn"]
    name = arn.rsplit("/", 1)[1]
    assert len(name) == 64
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-")
