"""Read a role from IAM and apply a plan to it: the only module of the ship that calls AWS.

Every list call is paginated (a role may carry up to 20 managed policies and many inline ones; tags and
policies come back in pages on real IAM), and every change is one documented IAM call, so what the
dry run printed is exactly what the commit run does.
"""

from __future__ import annotations

import logging
from typing import Any

from ships.iam_role.plan import Change, RoleState, parse_policy

log = logging.getLogger(__name__)


def read_role(iam: Any, role_name: str) -> RoleState | None:
    """The role as IAM has it, or ``None`` when no role of that name exists in the account."""
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return None

    managed: set[str] = set()
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
        managed.update(policy["PolicyArn"] for policy in page["AttachedPolicies"])

    inline: dict[str, dict[str, Any]] = {}
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for policy_name in page["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
            inline[policy_name] = parse_policy(document)

    tags: dict[str, str] = {}
    for page in iam.get_paginator("list_role_tags").paginate(RoleName=role_name):
        tags.update({tag["Key"]: tag["Value"] for tag in page["Tags"]})

    boundary = role.get("PermissionsBoundary") or {}
    return RoleState(
        name=role["RoleName"],
        path=role.get("Path", "/"),
        description=role.get("Description", ""),
        trust_policy=parse_policy(role["AssumeRolePolicyDocument"]),
        max_session_duration=int(role.get("MaxSessionDuration", 3600)),
        permissions_boundary=boundary.get("PermissionsBoundaryArn"),
        managed_policy_arns=frozenset(managed),
        inline_policies=inline,
        tags=tags,
    )


def _json(document: dict[str, Any]) -> str:
    import json

    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def apply_changes(iam: Any, desired: RoleState, changes: list[Change]) -> None:
    """Make IAM match ``desired`` by applying ``changes`` in order (as ``plan_changes`` produced them).

    Description and maximum session duration share one ``UpdateRole`` call, tags one ``UntagRole`` and
    one ``TagRole``; everything else is one call per change. A failure stops the run with IAM's error:
    the changes already made stay, and the next run plans only what is left.
    """
    name = desired.name
    role_updated = False
    untag = [c.subject for c in changes if c.action == "untag_role"]
    tag = {c.subject: c.desired for c in changes if c.action == "tag_role"}
    for change in changes:
        action = change.action
        if action == "create_role":
            arguments: dict[str, Any] = {
                "RoleName": name,
                "Path": desired.path,
                "AssumeRolePolicyDocument": _json(desired.trust_policy),
                "Description": desired.description,
                "MaxSessionDuration": desired.max_session_duration,
            }
            if desired.tags:
                arguments["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(desired.tags.items())]
            if desired.permissions_boundary:
                arguments["PermissionsBoundary"] = desired.permissions_boundary
            iam.create_role(**arguments)
        elif action == "update_trust_policy":
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=_json(desired.trust_policy))
        elif action in ("update_description", "update_max_session_duration"):
            if not role_updated:
                # Both values every time: UpdateRole on some implementations clears what it is not given.
                iam.update_role(
                    RoleName=name, Description=desired.description, MaxSessionDuration=desired.max_session_duration
                )
                role_updated = True
        elif action == "put_permissions_boundary":
            iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=desired.permissions_boundary)
        elif action == "delete_permissions_boundary":
            iam.delete_role_permissions_boundary(RoleName=name)
        elif action == "attach_managed_policy":
            iam.attach_role_policy(RoleName=name, PolicyArn=change.subject)
        elif action == "detach_managed_policy":
            iam.detach_role_policy(RoleName=name, PolicyArn=change.subject)
        elif action == "put_inline_policy":
            iam.put_role_policy(RoleName=name, PolicyName=change.subject, PolicyDocument=_json(change.desired))
        elif action == "delete_inline_policy":
            iam.delete_role_policy(RoleName=name, PolicyName=change.subject)
        elif action == "untag_role":
            if untag:
                iam.untag_role(RoleName=name, TagKeys=untag)
                untag = []
        elif action == "tag_role":
            if tag:
                iam.tag_role(RoleName=name, Tags=[{"Key": k, "Value": v} for k, v in sorted(tag.items())])
                tag = {}
        else:
            raise ValueError(f"{name}: cannot apply {action!r} ({change.subject}); IAM has no call for it")
        log.debug("IAM role %s: applied %s %s", name, action, change.subject)
