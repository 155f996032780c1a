"""S3PublicAccessBlockWorkerShip: the account-level S3 Block Public Access settings, the same everywhere.

The smallest complete ship, and the worked example of ``ships/README.md``: a configuration schema (the
role to assume), a payload schema (which accounts, and the four settings), and ``execute`` that reads,
compares, reports and (only with commit) writes. One target is one account (ACCOUNT fan-out): the
setting is account-wide, so there is nothing to do per region.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError
from marshmallow import RAISE, fields, validate

from starfleet_airflow import (
    BaseAccountPayloadTemplate,
    FanOutStrategy,
    StarfleetWorkerShip,
    WorkerShipBaseConfigurationTemplate,
    assume_role_session,
)

LOGGER = logging.getLogger(__name__)

#: The four settings: API name -> payload key. All default to true (block everything).
SETTINGS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}


class S3PublicAccessBlockConfigurationTemplate(WorkerShipBaseConfigurationTemplate):
    """The ship's configuration section: the base keys plus the role to assume in each account."""

    worker_role_to_assume = fields.String(
        required=True, data_key="WorkerRoleToAssume", validate=validate.Length(min=1, max=576)
    )
    worker_role_session_name = fields.String(
        data_key="WorkerRoleSessionName", load_default="StarfleetS3PublicAccessBlock", validate=validate.Length(min=2)
    )


class S3PublicAccessBlockPayloadTemplate(BaseAccountPayloadTemplate):
    """Which accounts (the base class's IncludeAccounts/ExcludeAccounts/...) and the four settings."""

    block_public_acls = fields.Boolean(data_key="BlockPublicAcls", load_default=True)
    ignore_public_acls = fields.Boolean(data_key="IgnorePublicAcls", load_default=True)
    block_public_policy = fields.Boolean(data_key="BlockPublicPolicy", load_default=True)
    restrict_public_buckets = fields.Boolean(data_key="RestrictPublicBuckets", load_default=True)

    class Meta:
        unknown = RAISE  # a misspelt setting must not silently fall back to its default


class S3PublicAccessBlockWorkerShip(StarfleetWorkerShip):
    """Keep S3 Block Public Access at the account level as the template says, in every selected account."""

    fan_out_strategy = FanOutStrategy.ACCOUNT
    payload_template_class = S3PublicAccessBlockPayloadTemplate
    configuration_template_class = S3PublicAccessBlockConfigurationTemplate

    def execute(self, commit: bool = False) -> dict[str, Any]:
        """Compare the account's settings with the template; write them only with ``commit``.

        Returns ``{"account_id", "changes": {Setting: {"current", "desired"}}, "committed"}``; no changes
        means the account already matches (so a second run is a no-op).
        """
        account_id = self.payload["starbase_assigned_account"]
        session = assume_role_session(
            self.aws_session,
            account_id,
            self.configuration["worker_role_to_assume"],
            session_name=self.configuration["worker_role_session_name"],
        )
        client = session.client("s3control")
        current = read_settings(client, account_id)
        desired = {name: self.payload[key] for name, key in SETTINGS.items()}
        changes = {
            name: {"current": current[name], "desired": value}
            for name, value in desired.items()
            if current[name] != value
        }
        self.report_changes(
            bool(changes),
            summary=(
                f"{len(changes)} of 4 settings: "
                + ", ".join(f"{name} {c['current']} -> {c['desired']}" for name, c in changes.items())
                if changes
                else "S3 Block Public Access matches the template"
            ),
            diff="\n".join(
                f"- {name}: {str(c['current']).lower()}\n+ {name}: {str(c['desired']).lower()}"
                for name, c in changes.items()
            ),
        )
        if not changes:
            LOGGER.info("%s: S3 Block Public Access already matches the template", account_id)
        elif commit:
            LOGGER.info("%s: setting S3 Block Public Access: %s", account_id, changes)
            client.put_public_access_block(AccountId=account_id, PublicAccessBlockConfiguration=desired)
        else:
            LOGGER.info("%s: dry run, would set S3 Block Public Access: %s", account_id, changes)
        return {"account_id": account_id, "changes": changes, "committed": bool(commit and changes)}


def read_settings(client: Any, account_id: str) -> dict[str, bool]:
    """The account's four settings; an account that never set them blocks nothing (all false)."""
    try:
        found = client.get_public_access_block(AccountId=account_id)["PublicAccessBlockConfiguration"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchPublicAccessBlockConfiguration":
            raise
        found = {}
    return {name: bool(found.get(name, False)) for name in SETTINGS}
