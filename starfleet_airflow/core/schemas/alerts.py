"""Schemas of what a deployment says about alerts and secrets: Starfleet's keys, plus run-failure notices.

``AlertConfiguration`` (a ship's Slack channel and threshold) and ``SecretsManager`` (where Starfleet's one
JSON secret lives) are Starfleet's, with its field names and rules. ``FailureNotifications`` is ours: the
Airflow notifiers (Slack, SNS) told when a ship's run fails, in ``STARFLEET`` or a ship's ``Airflow`` mapping.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from starfleet_airflow.core.enums import AlertPriority

SLACK_API_URL = "https://slack.com/api/"
DEFAULT_SLACK_CONN_ID = "slack_api_default"


class AlertConfiguration(Schema):
    """A ship's ``AlertConfiguration``: the Slack channel id and the quietest priority it still receives."""

    channel_id = fields.String(required=True, data_key="ChannelId", validate=validate.Length(min=1))
    # A name, case-sensitive, as in Starfleet: ``worker_lambda`` looks it up with ``AlertPriority[name]``.
    alert_priority = fields.String(
        required=True, data_key="AlertPriority", validate=validate.OneOf([p.name for p in AlertPriority])
    )


class SecretsManagerSchema(Schema):
    """``STARFLEET.SecretsManager``: the one Secrets Manager secret (a JSON object) Starfleet reads."""

    secret_id = fields.String(required=True, data_key="SecretId", validate=validate.Length(min=1))
    secret_region = fields.String(required=True, data_key="SecretRegion", validate=validate.Length(min=1))


class SlackNotification(Schema):
    """Post to a Slack channel through an Airflow Slack API connection (the provider's ``SlackNotifier``)."""

    channel = fields.String(required=True, data_key="Channel", validate=validate.Length(min=1))
    slack_conn_id = fields.String(data_key="SlackConnId", load_default=DEFAULT_SLACK_CONN_ID)


class SnsNotification(Schema):
    """Publish to an SNS topic (the Amazon provider's ``SnsNotifier``)."""

    target_arn = fields.String(
        required=True,
        data_key="TargetArn",
        validate=validate.Regexp(r"^arn:aws[\w-]*:sns:", error="expected an SNS topic or endpoint ARN"),
    )
    aws_conn_id = fields.String(data_key="AwsConnId", load_default=None)  # None: STARFLEET.AwsConnId
    region_name = fields.String(data_key="RegionName", load_default=None)  # None: the ARN's region


class FailureNotification(Schema):
    """One entry of ``FailureNotifications``: exactly one of ``Slack`` or ``Sns``."""

    slack = fields.Nested(SlackNotification, data_key="Slack", load_default=None)
    sns = fields.Nested(SnsNotification, data_key="Sns", load_default=None)

    @validates_schema(skip_on_field_errors=True)
    def _exactly_one(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [key for key in ("slack", "sns") if data.get(key)]
        if len(given) != 1:
            raise ValidationError(f"expected exactly one of Slack or Sns, got {len(given)}")


def failure_notifications_field(data_key: str = "FailureNotifications") -> fields.List:
    """An optional list of notifications; ``None`` when absent (so a ship can tell "unset" from ``[]``)."""
    return fields.List(fields.Nested(FailureNotification), data_key=data_key, load_default=None)
