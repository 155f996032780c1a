"""Schemas of payload templates: Starfleet's field names and semantics, so templates and ships port unchanged.

After loading, ``include_regions`` / ``exclude_regions`` are sets with ``ALL`` expanded, as Starfleet
leaves them; account selectors keep Starfleet's keys (``ByNames``, ``ByIds``, ``ByOrgUnits``, ``ByTags``).
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from starfleet_airflow.core.schemas.regions import ALL_REGIONS, check_regions, supported_regions

ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
# AWS Organizations: an OU id is ``ou-`` + 4-32 + ``-`` + 8-32 characters (68 at most); a name up to 128.
OU_ID_MAX_LENGTH = 68
OU_NAME_MAX_LENGTH = 128


class WorkerShipPayloadBaseTemplate(Schema):
    """Every payload template: a name and a description; unknown keys are kept for the ship."""

    template_name = fields.String(required=True, data_key="TemplateName")
    template_description = fields.String(required=True, data_key="TemplateDescription")

    class Meta:
        unknown = INCLUDE


class AccountTagNameValueSchema(Schema):
    """One tag to match: name and value, compared case-insensitively."""

    name = fields.String(required=True, data_key="Name", validate=validate.Length(min=1, max=128))
    value = fields.String(required=True, data_key="Value", validate=validate.Length(max=256))


class AccountsSpecificationSchema(Schema):
    """Account selectors shared by ``IncludeAccounts`` and ``ExcludeAccounts``."""

    by_names = fields.List(
        fields.String(validate=validate.Length(min=1, max=128)), data_key="ByNames", load_default=list
    )
    by_ids = fields.List(fields.String(), data_key="ByIds", load_default=list)
    by_org_units = fields.List(fields.String(validate=validate.Length(min=1)), data_key="ByOrgUnits", load_default=list)
    by_tags = fields.List(fields.Nested(AccountTagNameValueSchema), data_key="ByTags", load_default=list)

    @validates("by_ids")
    def _twelve_digits(self, value: list[str], **kwargs: Any) -> None:
        bad = {
            i: [f"expected a 12-digit AWS account id, got {v!r}"]
            for i, v in enumerate(value)
            if not ACCOUNT_ID_PATTERN.match(str(v))
        }
        if bad:
            raise ValidationError(bad)

    @validates("by_org_units")
    def _org_unit_lengths(self, value: list[str], **kwargs: Any) -> None:
        """Starfleet's limits: ``ou-`` ids up to 68 characters (what AWS issues), any other name up to 128."""
        bad: dict[int, list[str]] = {}
        for i, org_unit in enumerate(value):
            if org_unit.startswith("ou-") and len(org_unit) > OU_ID_MAX_LENGTH:
                bad[i] = [f"an OU id is at most {OU_ID_MAX_LENGTH} characters, got {len(org_unit)}: {org_unit!r}"]
            elif len(org_unit) > OU_NAME_MAX_LENGTH:
                bad[i] = [f"an OU name is at most {OU_NAME_MAX_LENGTH} characters, got {len(org_unit)}"]
        if bad:
            raise ValidationError(bad)


class IncludeAccountsSpecificationSchema(AccountsSpecificationSchema):
    """``IncludeAccounts``: the selectors plus ``AllAccounts``, which excludes every other selector."""

    all_accounts = fields.Boolean(data_key="AllAccounts", load_default=False)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _all_or_some(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        # Judged on the original input: a selector whose values failed validation is still "given".
        original = original if isinstance(original, dict) else {}
        given = [key for key in ("ByNames", "ByIds", "ByOrgUnits", "ByTags") if original.get(key)]
        if data.get("all_accounts") and given:
            raise ValidationError({key: ["cannot be combined with AllAccounts: true"] for key in given})
        if not data.get("all_accounts") and not given:
            raise ValidationError("expected AllAccounts: true or at least one of ByNames, ByIds, ByOrgUnits, ByTags")


class BaseAccountPayloadTemplate(WorkerShipPayloadBaseTemplate):
    """Payload of ACCOUNT ships: which accounts, and whether the organisation root is one of them."""

    include_accounts = fields.Nested(IncludeAccountsSpecificationSchema, data_key="IncludeAccounts", required=True)
    exclude_accounts = fields.Nested(AccountsSpecificationSchema, data_key="ExcludeAccounts", load_default=dict)
    operate_in_org_root = fields.Boolean(data_key="OperateInOrgRoot", load_default=False)
    # Set by the orchestrator for each target; a template should not set it.
    starbase_assigned_account = fields.String(data_key="StarbaseAssignedAccount", load_default=None)

    @post_load
    def _exclude_defaults(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if not data.get("exclude_accounts"):
            data["exclude_accounts"] = {"by_names": [], "by_ids": [], "by_org_units": [], "by_tags": []}
        return data


class BaseAccountRegionPayloadTemplate(BaseAccountPayloadTemplate):
    """Payload of ACCOUNT_REGION ships: accounts plus regions (``ALL`` or a list, minus exclusions).

    After loading, ``include_regions`` and ``exclude_regions`` are sets of region names, ``ALL``
    expanded, as Starfleet leaves them.
    """

    include_regions = fields.List(
        fields.String(), data_key="IncludeRegions", required=True, validate=validate.Length(min=1)
    )
    exclude_regions = fields.List(fields.String(), data_key="ExcludeRegions", load_default=list)
    starbase_assigned_region = fields.String(data_key="StarbaseAssignedRegion", load_default=None)

    @validates_schema(skip_on_field_errors=False)
    def _regions(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        include = data.get("include_regions") or []
        if ALL_REGIONS in include:
            if len(include) > 1:
                errors["IncludeRegions"] = ["ALL cannot be combined with other regions"]
        else:
            problems = check_regions(include)
            if problems:
                errors["IncludeRegions"] = problems
        problems = check_regions(data.get("exclude_regions") or [])
        if problems:
            errors["ExcludeRegions"] = problems
        if errors:
            raise ValidationError(errors)

    @post_load
    def _expand_regions(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        include = data["include_regions"]
        data["include_regions"] = set(supported_regions()) if ALL_REGIONS in include else set(include)
        data["exclude_regions"] = set(data.get("exclude_regions") or [])
        return data
