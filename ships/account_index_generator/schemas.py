"""The AccountIndexGeneratorShip's configuration section and payload template.

Starfleet's keys load unchanged. Two relaxations, both optional so a Starfleet file still means the
same thing:

* ``OrgRootId`` may be left out: an organisation has exactly one root, and ``ListRoots`` finds it
  (a local AWS stand-in gets a new root id every time it is seeded).
* ``AccountInventoryBucket``/``InventoryBucketRegion`` may be left out: the index is then written where
  the orchestrator reads it, ``STARFLEET.AccountIndexLocation`` (or Starfleet's
  ``StarfleetDefaultAccountIndex`` section), which may also be a local file.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from starfleet_airflow import (
    ACCOUNT_ID_PATTERN,
    WorkerShipBaseConfigurationTemplate,
    WorkerShipPayloadBaseTemplate,
    check_regions,
)

ROOT_ID_PATTERN = re.compile(r"^r-[0-9a-z]{4,32}$")
# IAM role names, optionally with a path (path/name), as STS accepts them in a role ARN.
ROLE_NAME_PATTERN = re.compile(r"^[\w+=,.@/-]{1,512}$")
DEFAULT_INVENTORY_OBJECT = "accountIndex.json"


def _role_name(value: str) -> None:
    if not ROLE_NAME_PATTERN.match(value) or not value.strip("/"):
        raise ValidationError(f"expected an IAM role name (optionally path/name), got {value!r}")


class AccountIndexGeneratorShipConfigurationTemplate(WorkerShipBaseConfigurationTemplate):
    """Where the organisation is and which roles read it (Starfleet's keys) plus two tuning knobs."""

    org_account_assume_role = fields.String(required=True, data_key="OrgAccountAssumeRole", validate=_role_name)
    org_account_id = fields.String(
        required=True,
        data_key="OrgAccountId",
        validate=validate.Regexp(ACCOUNT_ID_PATTERN, error="expected a 12-digit AWS account id (quote it in YAML)"),
    )
    org_root_id = fields.String(
        data_key="OrgRootId",
        load_default=None,
        validate=validate.Regexp(ROOT_ID_PATTERN, error="expected the organisation root id, such as r-ab12"),
    )
    describe_regions_assume_role = fields.String(
        required=True, data_key="DescribeRegionsAssumeRole", validate=_role_name
    )
    # Ours: how many accounts are looked up at once (Organizations and STS throttle per account, so
    # more is not always faster), and how many attempts botocore makes on throttling and transient errors.
    lookup_concurrency = fields.Integer(
        data_key="LookupConcurrency", load_default=16, validate=validate.Range(min=1, max=64)
    )
    api_max_attempts = fields.Integer(data_key="ApiMaxAttempts", load_default=10, validate=validate.Range(min=1))


class AccountIndexGeneratorShipPayloadTemplate(WorkerShipPayloadBaseTemplate):
    """Where to write the index: Starfleet's bucket keys, or nothing for the configured location."""

    account_inventory_bucket = fields.String(
        data_key="AccountInventoryBucket", load_default=None, validate=validate.Length(min=3, max=63)
    )
    inventory_bucket_region = fields.String(data_key="InventoryBucketRegion", load_default=None)
    inventory_object_prefix = fields.String(
        data_key="InventoryObjectPrefix", load_default=DEFAULT_INVENTORY_OBJECT, validate=validate.Length(min=1)
    )

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _bucket_keys(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        original = original if isinstance(original, dict) else {}
        errors: dict[str, list[str]] = {}
        if data.get("account_inventory_bucket"):
            region = data.get("inventory_bucket_region")
            if not region:
                errors["InventoryBucketRegion"] = ["required when AccountInventoryBucket is set; expected a region"]
            else:
                problems = check_regions([region])
                if problems:
                    errors["InventoryBucketRegion"] = problems
        else:
            for key in ("InventoryBucketRegion", "InventoryObjectPrefix"):
                if key in original:
                    errors[key] = [
                        "only used with AccountInventoryBucket; without it the index goes to"
                        " STARFLEET.AccountIndexLocation"
                    ]
        if errors:
            raise ValidationError(errors)
