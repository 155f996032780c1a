"""The AwsConfigWorkerShip's configuration section and payload template.

The payload keeps the shape of Starfleet's AWS Config ship, so its templates load unchanged: a
``DefaultConfiguration`` for every targeted account/region, and ``AccountOverrideConfigurations`` that
replace it wholesale where their ``IncludeAccounts``/``IncludeRegions`` (minus the exclusions) match.

Two differences from Starfleet, both to refuse mistakes before any account is touched:

* unknown keys are refused at every level (a misspelt ``AccountOverrideConfiguration`` would otherwise be
  ignored and the default applied everywhere);
* two overrides that certainly match the same account/region are refused when the template is loaded
  (see ``ships.aws_config.overrides.certain_overlaps``); the rest is checked per target at execute time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from ships.aws_config.overrides import certain_overlaps
from starfleet_airflow import (
    ALL_REGIONS,
    AccountsSpecificationSchema,
    BaseAccountRegionPayloadTemplate,
    IncludeAccountsSpecificationSchema,
    WorkerShipBaseConfigurationTemplate,
    check_regions,
    supported_regions,
)

#: ``RecordGlobalsInTheseRegions: [NONE]``: global resource types are recorded nowhere.
NO_REGIONS = "NONE"

#: AWS Config's snapshot delivery frequencies (``ConfigSnapshotDeliveryProperties.deliveryFrequency``).
DELIVERY_FREQUENCIES = ("One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours")

#: AWS Config's limits on ``PutRetentionConfiguration`` (7 years including leap days at most).
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 30, 2557


@cache
def known_resource_types() -> frozenset[str]:
    """Every resource type AWS Config accepts, from botocore's service model (read once per process).

    A misspelt type would otherwise fail in every account/region at execute time; botocore's list is the
    one the API itself publishes, so a type it does not know is refused at load with that reason.
    """
    import botocore.session

    model = botocore.session.get_session().get_service_model("config")
    return frozenset(model.shape_for("ResourceType").enum)


def _check_resource_types(value: list[str]) -> None:
    unknown = sorted(set(value) - known_resource_types())
    if unknown:
        raise ValidationError(
            f"unknown AWS Config resource {'type' if len(unknown) == 1 else 'types'} {', '.join(unknown)};"
            " expected names such as AWS::EC2::Instance"
            " (the list is botocore's: upgrade botocore if a type is newer than it)"
        )
    duplicates = sorted({t for t in value if value.count(t) > 1})
    if duplicates:
        raise ValidationError(f"listed more than once: {', '.join(duplicates)}")


def _expand_regions(values: list[str], key: str) -> set[str]:
    """``ALL`` -> every supported region; otherwise the listed regions, which must be known."""
    if ALL_REGIONS in values:
        if len(values) > 1:
            raise ValidationError({key: ["ALL cannot be combined with other regions"]})
        return set(supported_regions())
    problems = check_regions(values)
    if problems:
        raise ValidationError({key: problems})
    return set(values)


# --------------------------------------------------------------------------------------------------
# Configuration section
# --------------------------------------------------------------------------------------------------


class AwsConfigWorkerShipConfigurationTemplate(WorkerShipBaseConfigurationTemplate):
    """The ship's section: Starfleet's keys, so a Starfleet configuration section loads unchanged."""

    worker_role_to_assume = fields.String(
        required=True, data_key="WorkerRoleToAssume", validate=validate.Length(min=1, max=576)
    )
    worker_role_session_name = fields.String(
        data_key="WorkerRoleSessionName",
        load_default="StarfleetAwsConfigWorkerShip",
        validate=validate.Length(min=2, max=64),
    )


# --------------------------------------------------------------------------------------------------
# Payload template
# --------------------------------------------------------------------------------------------------


class RecordEverythingSchema(Schema):
    """``RecordEverything``: every supported resource type; global types only in the listed regions.

    Recording IAM and other global resources in every region records them many times over (and bills
    each copy), hence the region list: ``[us-east-1]`` is the usual choice, ``[ALL]`` and ``[NONE]``
    the two extremes.
    """

    record_globals_in_these_regions = fields.List(
        fields.String(), required=True, data_key="RecordGlobalsInTheseRegions", validate=validate.Length(min=1)
    )

    class Meta:
        unknown = RAISE

    @post_load
    def _expand(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        values = data["record_globals_in_these_regions"]
        if NO_REGIONS in values:
            if len(values) > 1:
                raise ValidationError({"RecordGlobalsInTheseRegions": ["NONE cannot be combined with other regions"]})
            data["record_globals_in_these_regions"] = set()
        else:
            data["record_globals_in_these_regions"] = _expand_regions(values, "RecordGlobalsInTheseRegions")
        return data


class RecordingGroupSchema(Schema):
    """Exactly one of the three recording strategies AWS Config offers."""

    record_everything = fields.Nested(RecordEverythingSchema, data_key="RecordEverything", load_default=None)
    record_specific_resources = fields.List(
        fields.String(), data_key="RecordSpecificResources", load_default=None, validate=validate.Length(min=1)
    )
    record_everything_except = fields.List(
        fields.String(), data_key="RecordEverythingExcept", load_default=None, validate=validate.Length(min=1)
    )

    class Meta:
        unknown = RAISE

    @validates("record_specific_resources")
    def _specific(self, value: list[str] | None, **kwargs: Any) -> None:
        if value:
            _check_resource_types(value)

    @validates("record_everything_except")
    def _except(self, value: list[str] | None, **kwargs: Any) -> None:
        if value:
            _check_resource_types(value)

    @validates_schema(pass_original=True)
    def _exactly_one(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        options = ("RecordEverything", "RecordSpecificResources", "RecordEverythingExcept")
        given = [key for key in options if isinstance(original, dict) and original.get(key) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            raise ValidationError(f"expected exactly one of {', '.join(options)}{found}")


class RecorderConfigurationSchema(Schema):
    """The configuration recorder: its service role, what it records, and whether it runs."""

    config_role_name = fields.String(required=True, data_key="ConfigRoleName", validate=validate.Length(min=1, max=512))
    # Starfleet's default, kept so that its templates mean the same here: a template that does not say
    # RecordingEnabled: true configures the recorder and leaves it (or turns it) off.
    recording_enabled = fields.Boolean(data_key="RecordingEnabled", load_default=False)
    recording_group = fields.Nested(RecordingGroupSchema, required=True, data_key="RecordingGroup")
    preferred_name = fields.String(
        data_key="PreferredName", load_default="default", validate=validate.Length(min=1, max=256)
    )

    class Meta:
        unknown = RAISE


class DeliveryChannelDetailsSchema(Schema):
    """Where AWS Config delivers history and snapshots: an S3 bucket (and prefix), optionally SNS."""

    bucket_name = fields.String(required=True, data_key="BucketName", validate=validate.Length(min=3, max=63))
    s3_delivery_frequency = fields.String(
        required=True, data_key="S3DeliveryFrequency", validate=validate.OneOf(DELIVERY_FREQUENCIES)
    )
    preferred_name = fields.String(
        data_key="PreferredName", load_default="default", validate=validate.Length(min=1, max=256)
    )
    # AWS refuses an empty prefix or ARN: leave the key out instead.
    bucket_key_prefix = fields.String(
        data_key="BucketKeyPrefix", load_default=None, validate=validate.Length(min=1, max=1024)
    )
    s3_kms_key_arn = fields.String(data_key="S3KmsKeyArn", load_default=None, validate=validate.Length(min=1))
    sns_topic_arn = fields.String(data_key="SnsTopicArn", load_default=None, validate=validate.Length(min=1))

    class Meta:
        unknown = RAISE


class DefaultConfigurationSchema(Schema):
    """A complete AWS Config set-up for one account/region: recorder, delivery channel, retention."""

    delivery_channel_details = fields.Nested(
        DeliveryChannelDetailsSchema, required=True, data_key="DeliveryChannelDetails"
    )
    recorder_configuration = fields.Nested(RecorderConfigurationSchema, required=True, data_key="RecorderConfiguration")
    retention_period_in_days = fields.Integer(
        required=True,
        data_key="RetentionPeriodInDays",
        strict=True,
        validate=validate.Range(min=MIN_RETENTION_DAYS, max=MAX_RETENTION_DAYS),
    )

    class Meta:
        unknown = RAISE


class AccountOverrideConfigurationSchema(DefaultConfigurationSchema):
    """A complete set-up that replaces the default where its accounts and regions match.

    The selectors mean what they mean at the top of a template (``AllAccounts``, ``ByIds``, ``ByNames``,
    ``ByOrgUnits``, ``ByTags``; ``ALL`` regions), except that the organisation root is never removed: the
    template's own ``OperateInOrgRoot`` already decides whether the root is a target at all.
    """

    include_accounts = fields.Nested(IncludeAccountsSpecificationSchema, required=True, data_key="IncludeAccounts")
    exclude_accounts = fields.Nested(AccountsSpecificationSchema, data_key="ExcludeAccounts", load_default=dict)
    include_regions = fields.List(
        fields.String(), required=True, data_key="IncludeRegions", validate=validate.Length(min=1)
    )
    exclude_regions = fields.List(fields.String(), data_key="ExcludeRegions", load_default=list)

    @post_load
    def _normalise(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        try:
            data["include_regions"] = _expand_regions(data["include_regions"], "IncludeRegions")
        except ValidationError as exc:
            errors.update(exc.normalized_messages())
        problems = check_regions(data.get("exclude_regions") or [])
        if problems:
            errors["ExcludeRegions"] = problems
        if errors:
            raise ValidationError(errors)
        data["exclude_regions"] = set(data.get("exclude_regions") or [])
        exclude = data.get("exclude_accounts") or {}
        selectors = ("by_names", "by_ids", "by_org_units", "by_tags")
        data["exclude_accounts"] = {key: exclude.get(key) or [] for key in selectors}
        return data


class AwsConfigWorkerShipPayloadTemplate(BaseAccountRegionPayloadTemplate):
    """Where and how to set AWS Config up: accounts/regions, a default, and per-target overrides."""

    default_configuration = fields.Nested(DefaultConfigurationSchema, required=True, data_key="DefaultConfiguration")
    account_override_configurations = fields.List(
        fields.Nested(AccountOverrideConfigurationSchema),
        data_key="AccountOverrideConfigurations",
        load_default=list,
    )

    class Meta:
        unknown = RAISE

    @validates_schema
    def _no_certain_overlap(self, data: dict[str, Any], **kwargs: Any) -> None:
        problems = certain_overlaps(data)
        if problems:
            raise ValidationError({"AccountOverrideConfigurations": problems})
