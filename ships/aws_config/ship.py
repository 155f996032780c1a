"""AwsConfigWorkerShip: AWS Config recorder, delivery channel and retention, the same in every account/region.

One run handles one account/region (the ACCOUNT_REGION fan-out): it assumes ``WorkerRoleToAssume`` in the
account, reads AWS Config's state in the region, works out the configuration that applies there (the
template's default, or the one override that matches), and changes only what differs. Without commit it
changes nothing and logs (and returns) the exact differences; a second run finds none.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ships.aws_config.describe import describe_changes, summarise_changes
from ships.aws_config.overrides import (
    OverrideError,
    index_selectors_used,
    needs_index,
    possible_accounts,
    select_configuration,
)
from ships.aws_config.schemas import AwsConfigWorkerShipConfigurationTemplate, AwsConfigWorkerShipPayloadTemplate
from ships.aws_config.state import Change, CurrentState, plan_changes
from starfleet_airflow import (
    AccountIndex,
    AccountIndexError,
    ConfigurationError,
    FanOutStrategy,
    StarfleetWorkerShip,
    assume_role_session,
    index_for_ship,
    resolve_accounts,
)

LOGGER = logging.getLogger(__name__)


class AwsConfigShipError(Exception):
    """The ship refused a target or AWS refused a change; the message names the target and the cause."""


class AwsConfigWorkerShip(StarfleetWorkerShip):
    """Enable and configure AWS Config in each account/region a template selects."""

    fan_out_strategy = FanOutStrategy.ACCOUNT_REGION
    payload_template_class = AwsConfigWorkerShipPayloadTemplate
    configuration_template_class = AwsConfigWorkerShipConfigurationTemplate

    def execute(self, commit: bool = False) -> list[dict[str, Any]]:
        """Make AWS Config in the assigned account/region match the template.

        Returns the differences found (applied when ``commit``), one JSON-able dict per changed resource;
        an empty list means the target already matches.
        """
        account_id, region = self._assigned_target()
        self._check_target(account_id, region)
        index = self._account_index()
        if index is not None:
            self._check_target_in_index(account_id, region, index)
        try:
            source, settings = select_configuration(self.payload, account_id, region, index)
        except OverrideError as exc:
            raise AwsConfigShipError(f"{self.payload['template_name']}: {exc}") from exc
        LOGGER.info("%s/%s: using %s of template %s", account_id, region, source, self.payload["template_name"])

        client = self._config_client(account_id, region)
        partition = self.aws_session.get_partition_for_region(region)
        current = read_current(client)
        changes = plan_changes(current, settings, account_id=account_id, region=region, partition=partition)
        self._note_kept_names(current, settings, account_id, region)
        self.report_changes(bool(changes), summary=summarise_changes(changes, source), diff=describe_changes(changes))

        if not changes:
            LOGGER.info("%s/%s: AWS Config already matches the template; nothing to do", account_id, region)
            return []
        for change in changes:
            LOGGER.info(
                "%s/%s: %s %s %s %r: %s",
                account_id,
                region,
                "applying" if commit else "dry run, would",
                change.action,
                change.resource,
                change.name,
                change.changes,
            )
            if commit:
                apply_change(client, change, account_id, region)
        if not settings["recorder_configuration"]["recording_enabled"]:
            LOGGER.warning(
                "%s/%s: RecordingEnabled is false in %s: the recorder is configured but not recording",
                account_id,
                region,
                source,
            )
        return [change.to_dict(account_id, region, source) for change in changes]

    # -- target checks ------------------------------------------------------------------------------

    def _assigned_target(self) -> tuple[str, str]:
        account_id = self.payload.get("starbase_assigned_account")
        region = self.payload.get("starbase_assigned_region")
        if not account_id or not region:
            raise AwsConfigShipError(
                f"{self.payload.get('template_name')}: expected StarbaseAssignedAccount and StarbaseAssignedRegion"
                " in the payload (the orchestrator sets them for each account/region)"
            )
        return str(account_id), str(region)

    def _check_target(self, account_id: str, region: str) -> None:
        """Refuse a target the template cannot have produced: a second guard behind the orchestrator.

        Regions are fully known from the template (and ``STARFLEET.ScopeToRegions``). Accounts are checked
        as far as the template's literals go: an account excluded by id, or missing from a ``ByIds``-only
        selection; selections by name, OU or tag were already resolved by the orchestrator.
        """
        name = self.payload["template_name"]
        wanted = set(self.payload["include_regions"]) - set(self.payload["exclude_regions"])
        if region not in wanted:
            raise AwsConfigShipError(
                f"{name}: region {region} is outside the template's IncludeRegions/ExcludeRegions; refusing to touch it"
            )
        scope = set(self.starfleet_configuration.get("scope_to_regions") or ())
        if scope and region not in scope:
            raise AwsConfigShipError(
                f"{name}: region {region} is outside STARFLEET.ScopeToRegions; refusing to touch it"
            )
        possible = possible_accounts(self.payload["include_accounts"], self.payload["exclude_accounts"])
        if not (possible.every and account_id not in possible.excluded) and account_id not in possible.ids:
            raise AwsConfigShipError(
                f"{name}: account {account_id} is not selected by the template's IncludeAccounts/ExcludeAccounts;"
                " refusing to touch it"
            )

    def _check_target_in_index(self, account_id: str, region: str, index: AccountIndex) -> None:
        """With the index at hand, refuse exactly what the orchestrator would not have sent.

        That is: an account the template does not select (names, OUs, tags, the organisation root
        included) or a region not enabled for the account. Without the index (no override needs it and
        the run passed no snapshot) only the literal checks of ``_check_target`` apply.
        """
        name = self.payload["template_name"]
        if account_id not in resolve_accounts(self.payload, index):
            raise AwsConfigShipError(
                f"{name}: account {account_id} is not selected by the template in the account index ({index.source});"
                " refusing to touch it"
            )
        if region not in index.regions_of(account_id):
            raise AwsConfigShipError(
                f"{name}: region {region} is not enabled for account {account_id} in the account index"
                f" ({index.source}); refusing to touch it"
            )

    # -- AWS access ---------------------------------------------------------------------------------

    def _config_client(self, account_id: str, region: str) -> Any:
        role = self.configuration.get("worker_role_to_assume")
        if not role:
            raise AwsConfigShipError(
                f"{self.worker_ship_name}: WorkerRoleToAssume is missing from the ship's configuration section"
            )
        session = assume_role_session(
            self.aws_session,
            account_id,
            role,
            region=region,
            session_name=self.configuration.get("worker_role_session_name") or self.worker_ship_name,
            partition=self.aws_session.get_partition_for_region(region),
        )
        return session.client("config", region_name=region)

    def _account_index(self) -> AccountIndex | None:
        """The run's index snapshot when the orchestrator passed one; otherwise read only when needed.

        The snapshot (``run_context.extra["account_index"]``) is the very index the targets were resolved
        with, used for the target checks even when no override needs it. Without it, the index is read only
        when an override selects by name, OU or tag, from the location the configuration names
        (``STARFLEET.AccountIndexLocation``, or Starfleet's ``StarfleetDefaultAccountIndex`` section), once
        per version of the index per process (``index_for_ship``), as the IamRoleWorkerShip does.
        """
        overrides = self.payload.get("account_override_configurations") or []
        needed = any(needs_index(o) for o in overrides)
        name = self.payload["template_name"]
        uses = "; ".join(index_selectors_used(overrides)) if needed else ""
        try:
            index = index_for_ship(self, load=needed)
        except (ConfigurationError, AccountIndexError) as exc:
            raise AwsConfigShipError(f"{name}: overrides need the account index ({uses}): {exc}") from exc
        if index is None and needed:
            raise AwsConfigShipError(
                f"{name}: AccountOverrideConfigurations select accounts by name, OU or tag ({uses}), which needs the"
                " account index; expected STARFLEET.AccountIndexLocation (s3://bucket/key or a local path) or a"
                " StarfleetDefaultAccountIndex section in the configuration"
            )
        return index

    def _note_kept_names(self, current: CurrentState, settings: dict[str, Any], account_id: str, region: str) -> None:
        """Say so when an existing recorder/channel keeps a name other than PreferredName (no rename in AWS)."""
        pairs = (
            ("configuration recorder", current.recorder, settings["recorder_configuration"]["preferred_name"]),
            ("delivery channel", current.channel, settings["delivery_channel_details"]["preferred_name"]),
        )
        for what, existing, preferred in pairs:
            if existing and existing.get("name") != preferred:
                LOGGER.info(
                    "%s/%s: keeping the existing %s name %r (PreferredName %r applies only to a new one)",
                    account_id,
                    region,
                    what,
                    existing.get("name"),
                    preferred,
                )


def read_current(client: Any) -> CurrentState:
    """AWS Config's state in the client's account/region: at most one of each resource exists there.

    Service-linked recorders (``servicePrincipal`` set) belong to other AWS services and are ignored.
    """
    described = client.describe_configuration_recorders().get("ConfigurationRecorders", [])
    recorders = [r for r in described if not r.get("servicePrincipal")]
    recorder = recorders[0] if recorders else None
    recording = False
    if recorder:
        statuses = client.describe_configuration_recorder_status(ConfigurationRecorderNames=[recorder["name"]]).get(
            "ConfigurationRecordersStatus", []
        )
        recording = bool(statuses and statuses[0].get("recording"))
    channels = client.describe_delivery_channels().get("DeliveryChannels", [])
    retention = client.describe_retention_configurations().get("RetentionConfigurations", [])
    return CurrentState(
        recorder=recorder,
        recording=recording,
        channel=channels[0] if channels else None,
        retention_days=retention[0]["RetentionPeriodInDays"] if retention else None,
    )


def apply_change(client: Any, change: Change, account_id: str, region: str) -> None:
    """Make one API call; a refusal names the target, the call and AWS's reason."""
    try:
        getattr(client, change.call)(**change.params)
    except (ClientError, BotoCoreError) as exc:
        raise AwsConfigShipError(f"{account_id}/{region}: {change.call} failed: {exc}") from exc
