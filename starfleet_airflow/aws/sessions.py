"""Cross-account access: from the session a ship starts with to a session inside a target account.

Ships run with one identity (the Airflow connection's, or the Lambda's role) and act in hundreds of
accounts by assuming a role there. Every ship needs the same few lines, so they live here once.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import boto3
import botocore.session

ROLE_SESSION_NAME_PATTERN = re.compile(r"[^\w+=,.@-]")
_SESSION_LOCK = threading.Lock()


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    """The ARN of ``role_name`` (which may carry a path, ``path/name``) in ``account_id``."""
    name = role_name.strip("/")
    return f"arn:{partition}:iam::{account_id}:role/{name}"


def assume_role_session(
    base_session: boto3.Session,
    account_id: str,
    role_name: str,
    *,
    region: str | None = None,
    session_name: str = "starfleet-airflow",
    partition: str = "aws",
    duration_seconds: int = 3600,
) -> boto3.Session:
    """A boto3 session acting as ``role_name`` in ``account_id``, obtained with STS AssumeRole.

    ``session_name`` shows up in the target account's CloudTrail, so callers pass the ship name; it is
    cleaned to the characters STS accepts and cut to its 2-64 character limits. The new session shares
    the base session's botocore data loader: a ship assumes a role per target, and re-reading botocore's
    service models for each one doubled the cost of a target.
    """
    with _SESSION_LOCK:  # callers may share one base session across threads
        sts = base_session.client("sts", region_name=region or base_session.region_name)
    clean_name = ROLE_SESSION_NAME_PATTERN.sub("-", session_name)[:64]
    if len(clean_name) < 2:
        clean_name = "starfleet-airflow"
    credentials: dict[str, Any] = sts.assume_role(
        RoleArn=role_arn(account_id, role_name, partition),
        RoleSessionName=clean_name,
        DurationSeconds=duration_seconds,
    )["Credentials"]
    core = botocore.session.Session()
    core.register_component("data_loader", base_session._session.get_component("data_loader"))
    return boto3.Session(
        botocore_session=core,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region or base_session.region_name,
    )
