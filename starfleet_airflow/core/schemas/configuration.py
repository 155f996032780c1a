"""Schemas of the configuration: a ship's section (with our optional ``Airflow`` mapping) and ``STARFLEET``.

YAML keys are UpperCamelCase and Python keys snake_case (``data_key=``), as in Starfleet, so a Starfleet
configuration file loads unchanged; the ``Airflow`` mapping and the location keys are this project's.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates, validates_schema

from starfleet_airflow.core.enums import DeliveryMode, EventBridgeFrequency, InvocationSource, TargetCheck
from starfleet_airflow.core.schemas.alerts import (
    SLACK_API_URL,
    AlertConfiguration,
    SecretsManagerSchema,
    failure_notifications_field,
)
from starfleet_airflow.core.schemas.regions import check_regions

# A light check on purpose: marshmallow's full URL field compiles a large regex on first use, which
# cost 47 ms of every DAG parse; SQS rejects a wrong URL with a clear error anyway.
QUEUE_URL_PATTERN = r"^https?://[^/\s]+/\S+$"
DEFAULT_REVIEW_TIMEOUT_SECONDS = 24 * 60 * 60
REVIEW_NEEDS_INLINE = (
    "reviewed mode runs the ship's dry run and its apply in Airflow workers: set Airflow.DeliveryMode: INLINE"
    " (an SQS-fed Lambda takes commit from its STARFLEET_COMMIT environment and sends nothing back to review;"
    " see the README's 'Reviewed runs')"
)
QUEUE_URL_ERROR = "expected an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/my-queue"


def queue_url_field(data_key: str) -> fields.String:
    """An optional SQS queue URL (http allowed, for a local AWS stand-in)."""
    return fields.String(
        data_key=data_key, load_default=None, validate=validate.Regexp(QUEUE_URL_PATTERN, error=QUEUE_URL_ERROR)
    )


class FailureTolerance(fields.Field):
    """A count (``3``) or a percentage (``"5%"``) of targets allowed to fail before the run fails."""

    default_error_messages = {"invalid": "expected a non-negative integer or a percentage such as '5%'"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int) and value >= 0:
            return {"count": value}
        if isinstance(value, str):
            text = value.strip()
            if text.endswith("%"):
                try:
                    percent = float(text[:-1])
                except ValueError:
                    raise self.make_error("invalid") from None
                if 0 <= percent <= 100:
                    return {"percent": percent}
            elif text.isdigit():
                return {"count": int(text)}
        raise self.make_error("invalid")


def _seconds(data_key: str, default: int) -> fields.Integer:
    """A time limit in whole seconds (at least one)."""
    return fields.Integer(data_key=data_key, load_default=default, validate=validate.Range(min=1))


class AirflowShipOptions(Schema):
    """Per-ship keys that only this orchestrator reads; all optional, Starfleet ignores them."""

    delivery_mode = fields.Enum(DeliveryMode, data_key="DeliveryMode", load_default=DeliveryMode.SQS)
    aws_conn_id = fields.String(data_key="AwsConnId", load_default=None)
    default_commit = fields.Boolean(data_key="DefaultCommit", load_default=False)
    concurrency = fields.Integer(data_key="Concurrency", load_default=8, validate=validate.Range(min=1, max=256))
    failure_tolerance = FailureTolerance(data_key="FailureTolerance", load_default={"count": 0})
    retries = fields.Integer(data_key="Retries", load_default=2, validate=validate.Range(min=0, max=20))
    retry_delay_seconds = fields.Integer(data_key="RetryDelaySeconds", load_default=60, validate=validate.Range(min=0))
    pool = fields.String(data_key="Pool", load_default=None)
    # Celery queue of the ship's tasks (a worker started with `airflow celery worker -q <queue>` takes them).
    queue = fields.String(data_key="Queue", load_default=None, validate=validate.Length(min=1))
    # Airflow 3 multi-executor: one of the executors of [core] executor (class name or alias).
    executor = fields.String(data_key="Executor", load_default=None, validate=validate.Length(min=1))
    targets_per_unit = fields.Integer(data_key="TargetsPerUnit", load_default=None, validate=validate.Range(min=1))
    max_active_runs = fields.Integer(data_key="MaxActiveRuns", load_default=1, validate=validate.Range(min=1))
    # Replaces STARFLEET.FailureNotifications for this ship when given ([] turns them off).
    failure_notifications = failure_notifications_field()
    # Reviewed mode: dry run -> human approval -> apply of what the dry run found, in one run (INLINE only).
    review = fields.Boolean(data_key="Review", load_default=False)
    review_timeout_seconds = fields.Integer(
        data_key="ReviewTimeoutSeconds", load_default=DEFAULT_REVIEW_TIMEOUT_SECONDS, validate=validate.Range(min=1)
    )
    reviewers = fields.List(fields.String(validate=validate.Length(min=1)), data_key="Reviewers", load_default=list)
    # Nothing may hang: every task, every run and every inline target has a time limit.
    plan_timeout_seconds = _seconds("PlanTimeoutSeconds", 600)
    deliver_timeout_seconds = _seconds("DeliverTimeoutSeconds", 3_600)
    report_timeout_seconds = _seconds("ReportTimeoutSeconds", 600)
    run_timeout_seconds = _seconds("RunTimeoutSeconds", 21_600)
    target_timeout_seconds = _seconds("TargetTimeoutSeconds", 900)  # a Lambda's own maximum
    # Read by the SQS-fed Lambda (lambda_worker): what it checks about a message's target before running it.
    lambda_target_check = fields.Enum(TargetCheck, data_key="LambdaTargetCheck", load_default=TargetCheck.NONE)

    @validates_schema(skip_on_field_errors=True)
    def _target_within_task(self, data: dict[str, Any], **kwargs: Any) -> None:
        target, task = data["target_timeout_seconds"], data["deliver_timeout_seconds"]
        if target >= task:
            raise ValidationError(
                f"expected less than Airflow.DeliverTimeoutSeconds ({task}), got {target}: a target that hangs"
                " must time out before its deliver task does, or the task loses every outcome of its unit",
                "TargetTimeoutSeconds",
            )


class WorkerShipBaseConfigurationTemplate(Schema):
    """Every ship section: Starfleet's keys plus the optional ``Airflow`` mapping."""

    enabled = fields.Boolean(required=True, data_key="Enabled")
    template_prefix = fields.String(required=True, data_key="TemplatePrefix", validate=validate.Length(min=1))
    invocation_queue_url = queue_url_field("InvocationQueueUrl")
    invocation_sources = fields.List(fields.Enum(InvocationSource), data_key="InvocationSources", load_default=list)
    eventbridge_timed_frequency = fields.Enum(
        EventBridgeFrequency, data_key="EventBridgeTimedFrequency", load_default=None
    )
    starbase_invocation_topic_arn = fields.String(data_key="StarbaseInvocationTopicArn", load_default=None)
    alert_configuration = fields.Nested(AlertConfiguration, data_key="AlertConfiguration", load_default=None)
    airflow = fields.Nested(AirflowShipOptions, data_key="Airflow", load_default=lambda: AirflowShipOptions().load({}))

    class Meta:
        unknown = INCLUDE  # ship-specific keys live in subclasses; unknown keys are Starfleet's habit too

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _check_sources(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        sources = data.get("invocation_sources") or []
        if InvocationSource.EVENTBRIDGE_TIMED_EVENT in sources and not data.get("eventbridge_timed_frequency"):
            errors["EventBridgeTimedFrequency"] = [
                "required when InvocationSources lists EVENTBRIDGE_TIMED_EVENT; expected one of "
                + ", ".join(f.value for f in EventBridgeFrequency)
            ]
        options = data.get("airflow") or {}
        if options.get("delivery_mode", DeliveryMode.SQS) is DeliveryMode.SQS and not (
            isinstance(original, dict) and original.get("InvocationQueueUrl")  # a bad URL has its own error
        ):
            errors["InvocationQueueUrl"] = [
                "required for SQS delivery (the default); set it, or set Airflow.DeliveryMode: INLINE"
            ]
        if options.get("review") and options.get("delivery_mode", DeliveryMode.SQS) is DeliveryMode.SQS:
            errors["Airflow"] = {"Review": [REVIEW_NEEDS_INLINE]}  # type: ignore[assignment]
        if errors:
            raise ValidationError(errors)


class StarfleetDefaultAccountIndexSchema(Schema):
    """Starfleet's ``StarfleetDefaultAccountIndex`` section: where the generated index lives in S3."""

    index_bucket = fields.String(required=True, data_key="IndexBucket")
    bucket_region = fields.String(required=True, data_key="BucketRegion")
    index_object_path = fields.String(data_key="IndexObjectPath", load_default="accountIndex.json")

    class Meta:
        unknown = INCLUDE


class StarfleetSchema(Schema):
    """The ``STARFLEET`` section. Starfleet's keys load unchanged; the location keys are ours.

    ``TemplateLocation`` and ``AccountIndexLocation`` accept ``s3://bucket/key`` or a local path, so the
    embedded default runs without AWS. Without them, templates come from ``TemplateBucket`` and the
    index from the ``StarfleetDefaultAccountIndex`` section, exactly as in Starfleet.
    """

    deployment_region = fields.String(required=True, data_key="DeploymentRegion")
    template_bucket = fields.String(data_key="TemplateBucket", load_default=None)
    fan_out_queue_url = fields.String(data_key="FanOutQueueUrl", load_default=None)
    account_index = fields.String(data_key="AccountIndex", load_default="StarfleetDefaultAccountIndex")
    log_level = fields.String(
        data_key="LogLevel",
        load_default="INFO",
        validate=validate.OneOf(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"]),
    )
    third_party_logger_levels = fields.Dict(data_key="ThirdPartyLoggerLevels", load_default=dict)
    scope_to_regions = fields.List(fields.String(), data_key="ScopeToRegions", load_default=list)
    # Ours:
    template_location = fields.String(data_key="TemplateLocation", load_default=None)
    account_index_location = fields.String(data_key="AccountIndexLocation", load_default=None)
    snapshot_location = fields.String(data_key="SnapshotLocation", load_default=None)
    # Each plan prunes its ship's snapshots older than this many days beyond the newest few (0: keep all).
    snapshot_max_age_days = fields.Float(data_key="SnapshotMaxAgeDays", load_default=30, validate=validate.Range(min=0))
    snapshot_keep_latest = fields.Integer(
        data_key="SnapshotKeepLatest", load_default=10, validate=validate.Range(min=0)
    )
    include_inactive_accounts = fields.Boolean(data_key="IncludeInactiveAccounts", load_default=False)
    # A run notes (in its report) an index generated longer ago than this; 0: never.
    account_index_max_age_hours = fields.Integer(
        data_key="AccountIndexMaxAgeHours", load_default=72, validate=validate.Range(min=0)
    )
    aws_conn_id = fields.String(data_key="AwsConnId", load_default="aws_default")
    # The SQS queue receiving the template bucket's s3:ObjectCreated:* notifications (S3 invocation source).
    template_events_queue_url = queue_url_field("TemplateEventsQueueUrl")
    template_events_poll_seconds = fields.Integer(
        data_key="TemplateEventsPollSeconds", load_default=30, validate=validate.Range(min=1)
    )
    # Starfleet's secrets and ship alerts (SlackEnabled), and ours: an Airflow Slack connection for ship
    # alerts in Airflow tasks, the Slack Web API's base URL, the notifiers of failed runs.
    secrets_manager = fields.Nested(SecretsManagerSchema, data_key="SecretsManager", load_default=None)
    slack_enabled = fields.Boolean(data_key="SlackEnabled", load_default=False)
    slack_conn_id = fields.String(data_key="SlackConnId", load_default=None)
    slack_api_url = fields.String(
        data_key="SlackApiUrl",
        load_default=SLACK_API_URL,
        validate=validate.Regexp(r"^https?://\S+/$", error="expected a URL ending in /, like https://slack.com/api/"),
    )
    failure_notifications = failure_notifications_field()

    class Meta:
        unknown = INCLUDE

    @validates("scope_to_regions")
    def _known_regions(self, value: list[str], **kwargs: Any) -> None:
        problems = check_regions(value)
        if problems:
            raise ValidationError(problems)

    @validates_schema(skip_on_field_errors=False)
    def _template_store(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if not data.get("template_bucket") and not data.get("template_location"):
            errors["TemplateBucket"] = [
                "expected TemplateBucket (S3, as in Starfleet) or TemplateLocation"
                " (s3://bucket/prefix or a local folder)"
            ]
        if data.get("slack_enabled") and not data.get("secrets_manager") and not data.get("slack_conn_id"):
            # Starfleet's rule, widened: inside Airflow the token may come from a Slack connection instead.
            errors["SlackEnabled"] = [
                "Slack can only be enabled with a token: set SecretsManager (the secret's STARFLEET.SlackToken,"
                " as in Starfleet) or SlackConnId (an Airflow Slack API connection; Airflow tasks only)"
            ]
        if errors:
            raise ValidationError(errors)
