"""The IamRoleWorkerShip's configuration section and payload template, and the template's IAM rules.

The template is checked twice against the same rules (``role_problems``): when it is loaded, with
example values standing in for the per-account variables, so that a wrong template is refused before any
account is touched; and when it is rendered for an account, with the real values, since only then is,
say, the length of a role name that contains ``${AccountName}`` known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, ValidationError, fields, validate, validates, validates_schema

from ships.iam_role.plan import RoleState
from ships.iam_role.variables import BUILTIN_VARIABLES, IDENTIFIER, find_unknown, substitute
from starfleet_airflow import BaseAccountPayloadTemplate, WorkerShipBaseConfigurationTemplate

# IAM's own limits (IAM API reference, CreateRole / PutRolePolicy / TagRole).
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
ROLE_PATH = re.compile(r"^(/|/[\x21-\x7e]+/)$")
DESCRIPTION = re.compile(r"^[\t\n\r\x20-\x7e\xa1-\xff]*$")
POLICY_ARN = re.compile(r"^arn:[a-z-]+:iam::(aws|\d{12}):policy/[\x21-\x7e]+$")
TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")
MIN_SESSION, MAX_SESSION = 3600, 43200
MAX_TAGS = 50

STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
POLICY_VERSIONS = frozenset({"2012-10-17", "2008-10-17"})

#: Stand-ins for the built-in variables when a template is checked before any account is known.
EXAMPLE_VALUES = {"AccountId": "123456789012", "AccountName": "AccountName", "Partition": "aws", "Region": "us-east-1"}

#: Payload keys that describe the role (variables are substituted in these, and only these).
ROLE_FIELDS = (
    "RoleName",
    "Description",
    "Path",
    "AssumeRolePolicyDocument",
    "ManagedPolicyArns",
    "InlinePolicies",
    "Tags",
    "MaxSessionDuration",
    "PermissionsBoundary",
)


class IamRoleWorkerConfigurationTemplate(WorkerShipBaseConfigurationTemplate):
    """The ship's section: Starfleet's key names, so a Starfleet configuration section loads unchanged."""

    worker_role_to_assume = fields.String(
        required=True, data_key="WorkerRoleToAssume", validate=validate.Length(min=1, max=576)
    )
    worker_role_session_name = fields.String(
        data_key="WorkerRoleSessionName", load_default="StarfleetIamRoleWorkerShip", validate=validate.Length(min=2)
    )


class IamRoleWorkerShipPayloadTemplate(BaseAccountPayloadTemplate):
    """One IAM role and the accounts it belongs in.

    The template is authoritative for what it manages: inline policies, attached managed policies and
    tags that it does not list are removed from the role.
    """

    role_name = fields.String(required=True, data_key="RoleName")
    description = fields.String(data_key="Description", load_default="")
    path = fields.String(data_key="Path", load_default="/")
    assume_role_policy_document = fields.Dict(required=True, data_key="AssumeRolePolicyDocument")
    managed_policy_arns = fields.List(fields.String(), data_key="ManagedPolicyArns", load_default=list)
    inline_policies = fields.Dict(
        keys=fields.String(), values=fields.Dict(), data_key="InlinePolicies", load_default=dict
    )
    tags = fields.Dict(keys=fields.String(), values=fields.String(), data_key="Tags", load_default=dict)
    max_session_duration = fields.Integer(
        data_key="MaxSessionDuration",
        load_default=MIN_SESSION,
        strict=True,
        validate=validate.Range(min=MIN_SESSION, max=MAX_SESSION),
    )
    permissions_boundary = fields.String(data_key="PermissionsBoundary", load_default=None)
    variables = fields.Dict(keys=fields.String(), values=fields.String(), data_key="Variables", load_default=dict)

    class Meta:
        # A misspelt key (``ManagedPolicyArn``) would otherwise be ignored and the role synced without it.
        unknown = RAISE

    @validates("variables")
    def _variable_names(self, value: dict[str, str], **kwargs: Any) -> None:
        problems = []
        for name in value:
            if not IDENTIFIER.match(name):
                problems.append(
                    f"{name!r}: expected a name of letters, digits and underscores, not starting with a digit"
                )
            elif name in BUILTIN_VARIABLES:
                problems.append(f"{name!r}: built-in variable, cannot be redefined")
        if problems:
            raise ValidationError(problems)

    @validates_schema(skip_on_field_errors=True)
    def _role_rules(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Unknown variables first: with one, the example rendering below would be meaningless.
        known = set(BUILTIN_VARIABLES) | set(data.get("variables") or {})
        role = role_fields(data)
        errors: dict[str, list[str]] = {}
        for key, value in role.items():
            problems = find_unknown(value, key, known)
            if problems:
                errors.setdefault(key, []).extend(problems)
        if errors:
            raise ValidationError(errors)
        example = dict(EXAMPLE_VALUES, **(data.get("variables") or {}))
        rendered = substitute(role, example.__getitem__)
        for key, message in role_problems(rendered):
            errors.setdefault(key, []).append(message)
        if errors:
            raise ValidationError(errors)


def _unknown_keys(keys: list[str]) -> str:
    return f"unknown key{'' if len(keys) == 1 else 's'} {', '.join(keys)}"


def role_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The role-describing part of a loaded payload, keyed by its YAML names (for paths in messages)."""
    return {
        "RoleName": payload["role_name"],
        "Description": payload.get("description", ""),
        "Path": payload.get("path", "/"),
        "AssumeRolePolicyDocument": payload["assume_role_policy_document"],
        "ManagedPolicyArns": list(payload.get("managed_policy_arns") or []),
        "InlinePolicies": dict(payload.get("inline_policies") or {}),
        "Tags": dict(payload.get("tags") or {}),
        "MaxSessionDuration": payload.get("max_session_duration", MIN_SESSION),
        "PermissionsBoundary": payload.get("permissions_boundary"),
    }


def render_role(payload: dict[str, Any], resolve: Callable[[str], str]) -> RoleState:
    """The role for one account: variables substituted, IAM's rules checked on the final values.

    ``resolve`` maps a variable name to its value for this account (built-ins and the template's
    ``Variables``). Raises ``ValidationError`` (keyed by the YAML field) when a rule fails only with the
    account's real values.
    """
    role = substitute(role_fields(payload), resolve)
    errors: dict[str, list[str]] = {}
    for key, message in role_problems(role):
        errors.setdefault(key, []).append(message)
    if errors:
        raise ValidationError(errors)
    return RoleState(
        name=role["RoleName"],
        path=role["Path"],
        description=role["Description"],
        trust_policy=role["AssumeRolePolicyDocument"],
        max_session_duration=role["MaxSessionDuration"],
        permissions_boundary=role["PermissionsBoundary"],
        managed_policy_arns=frozenset(role["ManagedPolicyArns"]),
        inline_policies=role["InlinePolicies"],
        tags=role["Tags"],
    )


# --------------------------------------------------------------------------------------------------
# IAM's rules, on rendered values
# --------------------------------------------------------------------------------------------------


def role_problems(role: dict[str, Any]) -> list[tuple[str, str]]:
    """``(YAML key, message)`` for every IAM rule the rendered role breaks; empty when IAM would accept it."""
    problems: list[tuple[str, str]] = []
    name = role["RoleName"]
    if not ROLE_NAME.match(name):
        problems.append(("RoleName", f"{name!r}: expected 1-64 characters of letters, digits and +=,.@_-"))
    path = role["Path"]
    if len(path) > 512 or not ROLE_PATH.match(path):
        problems.append(("Path", f"{path!r}: expected '/' or '/a/path/' (starts and ends with '/', at most 512)"))
    description = role["Description"]
    if len(description) > 1000 or not DESCRIPTION.match(description):
        problems.append(("Description", "expected at most 1000 printable Latin-1 characters"))
    problems += [
        ("AssumeRolePolicyDocument", message)
        for message in policy_problems(role["AssumeRolePolicyDocument"], trust_policy=True)
    ]
    arns = role["ManagedPolicyArns"]
    for index, arn in enumerate(arns):
        if not POLICY_ARN.match(arn):
            problems.append(
                ("ManagedPolicyArns", f"[{index}] {arn!r}: expected arn:PARTITION:iam::ACCOUNT|aws:policy/NAME")
            )
    duplicates = sorted({arn for arn in arns if arns.count(arn) > 1})
    if duplicates:
        problems.append(("ManagedPolicyArns", f"listed more than once: {', '.join(duplicates)}"))
    for policy_name, document in role["InlinePolicies"].items():
        if not POLICY_NAME.match(policy_name):
            problems.append(
                ("InlinePolicies", f"{policy_name!r}: expected 1-128 characters of letters, digits and +=,.@_-")
            )
        problems += [("InlinePolicies", f"{policy_name}: {message}") for message in policy_problems(document, False)]
    problems += [("Tags", message) for message in tag_problems(role["Tags"])]
    boundary = role["PermissionsBoundary"]
    if boundary is not None and not POLICY_ARN.match(boundary):
        problems.append(("PermissionsBoundary", f"{boundary!r}: expected arn:PARTITION:iam::ACCOUNT|aws:policy/NAME"))
    return problems


def policy_problems(document: Any, trust_policy: bool) -> list[str]:
    """Structural problems of a policy document: the mistakes IAM would refuse, found before calling it.

    Trust policies name who may assume the role (``Principal``) and have no ``Resource``; permission
    policies are the other way round. Unknown statement keys (``Actions``) are typos, refused here.
    """
    if not isinstance(document, dict):
        return ["expected a policy document (a mapping with Statement)"]
    problems: list[str] = []
    version = document.get("Version")
    if version is not None and version not in POLICY_VERSIONS:
        problems.append(f"Version: {version!r}, expected 2012-10-17")
    unknown_top = sorted(set(document) - {"Version", "Id", "Statement"})
    if unknown_top:
        problems.append(f"{_unknown_keys(unknown_top)}; expected Version, Id, Statement")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return [*problems, "Statement: expected a statement or a non-empty list of statements"]
    for index, statement in enumerate(statements):
        where = f"Statement[{index}]"
        if not isinstance(statement, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        unknown = sorted(set(statement) - STATEMENT_KEYS)
        if unknown:
            problems.append(f"{where}: {_unknown_keys(unknown)}; expected {', '.join(sorted(STATEMENT_KEYS))}")
        if statement.get("Effect") not in ("Allow", "Deny"):
            problems.append(f"{where}.Effect: expected Allow or Deny")
        if ("Action" in statement) == ("NotAction" in statement):
            problems.append(f"{where}: expected exactly one of Action, NotAction")
        has_principal = "Principal" in statement or "NotPrincipal" in statement
        has_resource = "Resource" in statement or "NotResource" in statement
        if trust_policy and not has_principal:
            problems.append(f"{where}: a trust policy statement needs Principal (who may assume the role)")
        if trust_policy and has_resource:
            problems.append(f"{where}: a trust policy statement has no Resource (the role is the resource)")
        if not trust_policy and has_principal:
            problems.append(f"{where}: a permission policy statement has no Principal")
        if not trust_policy and ("Resource" in statement) == ("NotResource" in statement):
            problems.append(f"{where}: expected exactly one of Resource, NotResource")
        condition = statement.get("Condition")
        if condition is not None and not (
            isinstance(condition, dict) and all(isinstance(v, dict) for v in condition.values())
        ):
            problems.append(f"{where}.Condition: expected {{Operator: {{ConditionKey: value or [values]}}}}")
    return problems


def tag_problems(tags: dict[str, str]) -> list[str]:
    """IAM's tag rules: at most 50, key 1-128 and value 0-256 characters, no ``aws:`` prefix.

    IAM refuses two keys that differ only in case on one role, so the template may not list both.
    """
    problems: list[str] = []
    if len(tags) > MAX_TAGS:
        problems.append(f"{len(tags)} tags, IAM allows at most {MAX_TAGS}")
    seen: dict[str, str] = {}
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not TAG_TEXT.match(key):
            problems.append(f"{key!r}: expected a key of 1-128 letters, digits, spaces and _.:/=+-@")
        elif key.lower().startswith("aws:"):
            problems.append(f"{key!r}: keys starting with aws: are reserved for AWS")
        if len(value) > 256 or not TAG_TEXT.match(value):
            problems.append(f"{key}: value expected to be at most 256 letters, digits, spaces and _.:/=+-@")
        other = seen.setdefault(key.lower(), key)
        if other != key:
            problems.append(f"{key!r} and {other!r} differ only in case; IAM keeps one of them")
    return problems
