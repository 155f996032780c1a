"""What an IAM role should be, what it is, and the exact changes that turn one into the other.

Kept free of AWS calls so that the comparison rules (the part most likely to cause a change on every run,
or to miss a real one) are plain functions over plain data.

Policy documents are compared by meaning, not by text. IAM gives back what it stored, which differs from
the template in ways that do not matter: key order, a single value instead of a one-item list, statement
order, action case (``s3:GetObject`` and ``S3:getobject`` are the same action), condition key case, a
bare account id in a trust policy rewritten to ``arn:aws:iam::ID:root``, numbers and booleans in
conditions stored as strings. ``normalise_policy`` removes exactly those differences, and nothing that
IAM treats as meaningful (resource ARNs and condition values keep their case).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

ACCOUNT_ID = re.compile(r"^\d{12}$")

#: Statement keys whose value may be a string or a list, with no meaning in the order.
_LIST_KEYS = ("Action", "NotAction", "Resource", "NotResource")
#: IAM actions are case-insensitive; resources are not.
_CASE_INSENSITIVE_KEYS = frozenset({"Action", "NotAction"})


@dataclass(frozen=True)
class RoleState:
    """Everything the ship manages on one role, as the template wants it or as IAM has it."""

    name: str
    path: str
    description: str
    trust_policy: dict[str, Any]
    max_session_duration: int
    permissions_boundary: str | None
    managed_policy_arns: frozenset[str]
    inline_policies: dict[str, dict[str, Any]]
    tags: dict[str, str]

    def summary(self) -> dict[str, Any]:
        """A JSON-able picture of the role, for logs and for the ``create_role`` change."""
        return {
            "RoleName": self.name,
            "Path": self.path,
            "Description": self.description,
            "AssumeRolePolicyDocument": self.trust_policy,
            "MaxSessionDuration": self.max_session_duration,
            "PermissionsBoundary": self.permissions_boundary,
            "ManagedPolicyArns": sorted(self.managed_policy_arns),
            "InlinePolicies": sorted(self.inline_policies),
            "Tags": dict(sorted(self.tags.items())),
        }


@dataclass(frozen=True)
class Change:
    """One difference between the template and IAM, and the IAM call that removes it.

    ``action`` names the operation (``create_role``, ``update_trust_policy``, ``attach_managed_policy``,
    ...); ``subject`` what it acts on (a policy ARN or name, a tag key, a role attribute); ``current`` and
    ``desired`` the values on either side (``None`` when absent).
    """

    action: str
    subject: str
    current: Any = None
    desired: Any = None

    def to_dict(self, role_name: str, applied: bool) -> dict[str, Any]:
        """The JSON-able record returned by the ship and kept as the target's outcome detail."""
        return {
            "role": role_name,
            "action": self.action,
            "subject": self.subject,
            "current": self.current,
            "desired": self.desired,
            "applied": applied,
        }


#: Changes IAM cannot make in place; the ship refuses to go on rather than delete and recreate a role.
BLOCKING_ACTIONS = frozenset({"replace_role"})


# --------------------------------------------------------------------------------------------------
# Policy documents
# --------------------------------------------------------------------------------------------------


def parse_policy(document: Any) -> dict[str, Any]:
    """A policy as a mapping, whatever form IAM returned it in.

    botocore already URL-decodes and parses the documents of IAM responses; when it could not (or when a
    caller passes the raw text) the string is URL-decoded and parsed here.
    """
    if isinstance(document, dict):
        return document
    if isinstance(document, str):
        from urllib.parse import unquote

        text = document.strip()
        if not text.startswith("{"):
            text = unquote(text)
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            return parsed
    raise ValueError(f"expected a JSON policy document (an object), got {type(document).__name__}")


def _as_sorted_strings(value: Any, lower: bool = False) -> list[str]:
    items = value if isinstance(value, list) else [value]
    texts = {_scalar_text(item) for item in items}
    if lower:
        texts = {text.lower() for text in texts}
    return sorted(texts)


def _scalar_text(value: Any) -> str:
    """Condition and principal values: IAM compares them as strings (``true`` == ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _normalise_principal(value: Any, partition: str) -> Any:
    if value == "*":
        return {"AWS": ["*"]}
    if not isinstance(value, dict):
        return value
    normalised: dict[str, list[str]] = {}
    for kind, members in value.items():
        texts = _as_sorted_strings(members)
        if kind == "AWS":
            # IAM stores a bare account id as the account's root ARN.
            texts = sorted(f"arn:{partition}:iam::{m}:root" if ACCOUNT_ID.match(m) else m for m in texts)
        normalised[kind] = texts
    return normalised


def _normalise_condition(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    normalised: dict[str, dict[str, list[str]]] = {}
    for operator, pairs in value.items():
        if not isinstance(pairs, dict):
            normalised[operator] = pairs
            continue
        # Condition keys are case-insensitive; their values are not.
        normalised[operator] = {key.lower(): _as_sorted_strings(item) for key, item in pairs.items()}
    return normalised


def _normalise_statement(statement: Any, partition: str) -> Any:
    if not isinstance(statement, dict):
        return statement
    normalised: dict[str, Any] = {}
    for key, value in statement.items():
        if key in _LIST_KEYS:
            normalised[key] = _as_sorted_strings(value, lower=key in _CASE_INSENSITIVE_KEYS)
        elif key in ("Principal", "NotPrincipal"):
            normalised[key] = _normalise_principal(value, partition)
        elif key == "Condition":
            normalised[key] = _normalise_condition(value)
        else:
            normalised[key] = value
    return normalised


def normalise_policy(document: Any, partition: str = "aws") -> dict[str, Any]:
    """The comparable form of a policy document: equal for any two documents IAM treats as the same."""
    policy = parse_policy(document)
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    normalised_statements = [_normalise_statement(s, partition) for s in statements]
    normalised_statements.sort(key=lambda s: json.dumps(s, sort_keys=True))
    normalised = {key: value for key, value in policy.items() if key != "Statement"}
    normalised["Statement"] = normalised_statements
    return normalised


def same_policy(left: Any, right: Any, partition: str = "aws") -> bool:
    """True when IAM would treat the two documents as the same policy."""
    return normalise_policy(left, partition) == normalise_policy(right, partition)


# --------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------


def plan_changes(desired: RoleState, current: RoleState | None, partition: str = "aws") -> list[Change]:
    """The changes that make ``current`` (``None``: the role does not exist) match ``desired``.

    The list is in the order the ship applies it and is empty when nothing differs, which is what makes
    a second run a no-op. A path difference yields a single blocking ``replace_role`` change: IAM has no
    call to move a role, and deleting a role that others trust is not a decision a sync job should take.
    """
    if current is None:
        changes = [Change("create_role", desired.name, None, desired.summary())]
        changes += [Change("attach_managed_policy", arn, None, arn) for arn in sorted(desired.managed_policy_arns)]
        changes += [
            Change("put_inline_policy", name, None, document)
            for name, document in sorted(desired.inline_policies.items())
        ]
        return changes

    if current.path != desired.path:
        return [Change("replace_role", "Path", current.path, desired.path)]

    changes: list[Change] = []
    if not same_policy(current.trust_policy, desired.trust_policy, partition):
        changes.append(
            Change("update_trust_policy", "AssumeRolePolicyDocument", current.trust_policy, desired.trust_policy)
        )
    if current.description != desired.description:
        changes.append(Change("update_description", "Description", current.description, desired.description))
    if current.max_session_duration != desired.max_session_duration:
        changes.append(
            Change(
                "update_max_session_duration",
                "MaxSessionDuration",
                current.max_session_duration,
                desired.max_session_duration,
            )
        )
    if current.permissions_boundary != desired.permissions_boundary:
        action = "put_permissions_boundary" if desired.permissions_boundary else "delete_permissions_boundary"
        changes.append(
            Change(action, "PermissionsBoundary", current.permissions_boundary, desired.permissions_boundary)
        )

    # Grant before revoke, so that a role moving from one policy to another never has neither.
    for arn in sorted(desired.managed_policy_arns - current.managed_policy_arns):
        changes.append(Change("attach_managed_policy", arn, None, arn))
    for name, document in sorted(desired.inline_policies.items()):
        existing = current.inline_policies.get(name)
        if existing is None or not same_policy(existing, document, partition):
            changes.append(Change("put_inline_policy", name, existing, document))
    for name in sorted(set(current.inline_policies) - set(desired.inline_policies)):
        changes.append(Change("delete_inline_policy", name, current.inline_policies[name], None))
    for arn in sorted(current.managed_policy_arns - desired.managed_policy_arns):
        changes.append(Change("detach_managed_policy", arn, arn, None))

    # Untag before tagging: a key whose case changed (``owner`` -> ``Owner``) is removed, then set.
    for key in sorted(set(current.tags) - set(desired.tags)):
        changes.append(Change("untag_role", key, current.tags[key], None))
    for key, value in sorted(desired.tags.items()):
        if current.tags.get(key) != value:
            changes.append(Change("tag_role", key, current.tags.get(key), value))
    return changes
