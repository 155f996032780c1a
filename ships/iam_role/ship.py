"""IamRoleWorkerShip: keep one IAM role identical in every account a template selects.

For each target account the ship assumes the configured worker role there, reads the role, plans the
changes that make it match the template, logs them, and applies them only with ``commit``. The plan is
what ``execute`` returns, applied or not, so the DAG's report shows the same differences in a dry run and
in a commit run. A second run plans nothing.
"""

from __future__ import annotations

import difflib
import json
import logging
from typing import Any

from ships.iam_role.apply import apply_changes, read_role
from ships.iam_role.plan import BLOCKING_ACTIONS, Change, RoleState, plan_changes
from ships.iam_role.schemas import (
    IamRoleWorkerConfigurationTemplate,
    IamRoleWorkerShipPayloadTemplate,
    render_role,
)
from ships.iam_role.variables import VariableError
from starfleet_airflow import (
    AccountIndexError,
    ConfigurationError,
    FanOutStrategy,
    StarfleetWorkerShip,
    assume_role_session,
    index_for_ship,
)

log = logging.getLogger(__name__)

DOCUMENT_ACTIONS = frozenset({"update_trust_policy", "put_inline_policy", "delete_inline_policy"})


class IamRoleConflictError(RuntimeError):
    """The role differs in a way IAM cannot change in place (its path); nothing was changed."""


class IamRoleWorkerShip(StarfleetWorkerShip):
    """Creates or updates one IAM role per target account so that it matches the payload template."""

    fan_out_strategy = FanOutStrategy.ACCOUNT
    payload_template_class = IamRoleWorkerShipPayloadTemplate
    configuration_template_class = IamRoleWorkerConfigurationTemplate

    def execute(self, commit: bool = False) -> list[dict[str, Any]]:
        """Sync the role in ``StarbaseAssignedAccount``; return every difference, applied or planned."""
        account_id = self.payload.get("starbase_assigned_account")
        if not account_id:
            raise ValueError(
                f"{self.worker_ship_name}: the payload has no StarbaseAssignedAccount; this ship runs once per"
                " account and the orchestrator assigns it"
            )
        role_to_assume = self.configuration.get("worker_role_to_assume")
        if not role_to_assume:
            raise ValueError(f"{self.worker_ship_name}: configuration key WorkerRoleToAssume is required")

        region = self._region()
        partition = self.aws_session.get_partition_for_region(region)
        desired = render_role(self.payload, self._resolver(account_id, region, partition))

        session = assume_role_session(
            self.aws_session,
            account_id,
            role_to_assume,
            region=region,
            session_name=self.configuration.get("worker_role_session_name") or self.worker_ship_name,
            partition=partition,
        )
        iam = session.client("iam")
        current = read_role(iam, desired.name)
        changes = plan_changes(desired, current, partition)
        where = f"account {account_id}, role {desired.path}{desired.name}"
        # What a reviewer sees in a reviewed run's approval (and the report): said before anything can fail.
        self.report_changes(
            bool(changes), summary=summarise_changes(desired, changes), diff=describe_changes(changes, indent="")
        )

        if not changes:
            log.info("%s: matches template %s; nothing to do", where, self.payload.get("template_name"))
            return []
        log.info(
            "%s: %s %d %s:\n%s",
            where,
            "applying" if commit else "dry run, would apply",
            len(changes),
            "change" if len(changes) == 1 else "changes",
            describe_changes(changes),
        )

        blocking = [change for change in changes if change.action in BLOCKING_ACTIONS]
        if blocking:
            raise IamRoleConflictError(
                f"{where}: {blocking[0].subject} is {blocking[0].current!r} in IAM and {blocking[0].desired!r} in"
                " the template; IAM cannot move a role to another path. Delete the role (or change the template's"
                " Path) and run again; nothing was changed"
            )
        if commit:
            apply_changes(iam, desired, changes)
            log.info("%s: %d %s applied", where, len(changes), "change" if len(changes) == 1 else "changes")
        return [change.to_dict(desired.name, applied=commit) for change in changes]

    # -- variables ----------------------------------------------------------------------------------

    def _region(self) -> str:
        """The region of the Starfleet deployment (``${Region}``); STS is called there too."""
        return self.starfleet_configuration.get("deployment_region") or self.aws_session.region_name or "us-east-1"

    def _resolver(self, account_id: str, region: str, partition: str) -> Any:
        """Variable name -> value for this account; the account name is looked up only if a template uses it."""
        values = {"AccountId": account_id, "Partition": partition, "Region": region}
        values.update(self.payload.get("variables") or {})

        def resolve(name: str) -> str:
            if name in values:
                return values[name]
            if name == "AccountName":
                values[name] = self._account_name(account_id)
                return values[name]
            raise VariableError([f"unknown variable ${{{name}}}"])

        return resolve

    def _account_name(self, account_id: str) -> str:
        """The account's name, from the account index: the payload carries only the id.

        The index is the run's snapshot when the runner passed one (``run_context.extra["account_index"]``),
        else the one the configuration names (``STARFLEET.AccountIndexLocation`` or Starfleet's
        ``StarfleetDefaultAccountIndex`` section), read once per version of the index per process
        (``index_for_ship``) and only for templates that use ``${AccountName}``. Inactive accounts are
        included: a name is wanted for whatever account the orchestrator sent.
        """
        try:
            index = index_for_ship(self, include_inactive=True)
            if index is None:
                raise ConfigurationError("STARFLEET: no account index location")
        except (ConfigurationError, AccountIndexError) as exc:
            raise VariableError(
                [f"${{AccountName}}: the account name comes from the account index, which could not be read: {exc}"]
            ) from exc
        account = index.accounts.get(account_id)
        if account is None:
            raise VariableError([f"${{AccountName}}: account {account_id} is not in the account index {index.source}"])
        return account.name


def summarise_changes(desired: RoleState, changes: list[Change]) -> str:
    """One line: how many changes to which role, and which (``create_role``, ``attach_managed_policy`` ...)."""
    if not changes:
        return f"role {desired.path}{desired.name} matches the template"
    actions = ", ".join(f"{change.action} {change.subject}" for change in changes)
    noun = "change" if len(changes) == 1 else "changes"
    return f"{len(changes)} {noun} to role {desired.path}{desired.name}: {actions}"


def describe_changes(changes: list[Change], indent: str = "  ") -> str:
    """The exact differences, one per line; policy documents as a unified diff of their JSON.

    Indented for the log by default; ``indent=""`` gives a diff for a reviewer, its lines starting with
    ``-``/``+`` (a new role's document as added lines).
    """
    inner = indent * 2
    lines: list[str] = []
    for change in changes:
        if change.action in DOCUMENT_ACTIONS:
            lines.append(f"{indent}{change.action} {change.subject}:")
            before = _pretty(change.current).splitlines()
            after = _pretty(change.desired).splitlines()
            diff = difflib.unified_diff(before, after, "IAM", "template", lineterm="", n=2)
            lines.extend(f"{inner}{line}" for line in diff)
        elif change.action == "create_role":
            lines.append(f"{indent}create_role {change.subject}:")
            added = "" if indent else "+"
            lines.extend(f"{inner}{added}{line}" for line in _pretty(change.desired).splitlines())
        else:
            lines.append(f"{indent}{change.action} {change.subject}: {change.current!r} -> {change.desired!r}")
    return "\n".join(lines)


def _pretty(document: Any) -> str:
    return "" if document is None else json.dumps(document, indent=2, sort_keys=True)
