"""AWS-managed IAM policies in the stand-in, the ones the configuration's templates attach.

moto holds AWS's managed policies (``arn:aws:iam::aws:policy/...``) only when told to load all of them
into every account (``MOTO_IAM_LOAD_MANAGED_POLICIES``: ~1,300 policies per account, seconds for the
demo's 61 accounts). Without them ``starfleet-airflow run IamRoleWorkerShip ... --commit`` fails with
``NoSuchEntity`` on ``AttachRolePolicy``. So the stand-in adds just the policies its templates name,
from moto's own copy of AWS's policy documents, to each account's IAM backend (this process holds
moto's backends, as for the per-account regions in ``org_seeding``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

AWS_POLICY = re.compile(r"iam::aws:policy/(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]+)")


def policies_named_in(template_folder: Path) -> set[str]:
    """Names of the AWS-managed policies the templates under ``template_folder`` refer to."""
    names: set[str] = set()
    for path in sorted(template_folder.rglob("*.y*ml")) if template_folder.is_dir() else []:
        names.update(match["name"] for match in AWS_POLICY.finditer(path.read_text(encoding="utf-8")))
    return names


def add_aws_managed_policies(names: Iterable[str], account_ids: Iterable[str]) -> list[str]:
    """Make the named AWS-managed policies attachable in every account; returns the ones moto knows."""
    from moto.backends import get_backend
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy

    wanted = set(names)
    if not wanted:
        return []
    known = {name: data for name, data in json.loads(aws_managed_policies_data).items() if name in wanted}
    iam = get_backend("iam")
    for account_id in account_ids:
        backend = iam[account_id]["global"]
        for name, data in known.items():
            policy = AWSManagedPolicy.from_data(name, account_id, backend.region_name, data)
            backend.managed_policies.setdefault(policy.arn, policy)
    return sorted(known)
