"""What AWS Config should look like in one account/region, what it is, and the changes between them.

Kept free of AWS calls: the comparison rules decide whether a second run is a no-op, so they are plain
functions over plain data. Both sides are brought to one canonical form before comparing, because AWS
gives back more than it was sent (empty lists, a ``recordingStrategy`` derived from the other fields, or
none at all on recorders created before strategies existed) and lists in no particular order.

Names are never changed: AWS Config has no rename, only delete and re-create, which would stop recording
and lose the recorder's status. An existing recorder or channel keeps its name; ``PreferredName`` is the
name of one the ship creates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow import role_arn

RECORDER = "ConfigurationRecorder"
CHANNEL = "DeliveryChannel"
RETENTION = "RetentionConfiguration"
STATUS = "RecorderStatus"

ALL_SUPPORTED = "ALL_SUPPORTED_RESOURCE_TYPES"
INCLUSION = "INCLUSION_BY_RESOURCE_TYPES"
EXCLUSION = "EXCLUSION_BY_RESOURCE_TYPES"

#: AWS keeps one retention configuration per account/region, always under this name.
RETENTION_NAME = "default"


@dataclass(frozen=True)
class CurrentState:
    """AWS Config in one account/region as the describe calls return it (None: not there)."""

    recorder: dict[str, Any] | None
    recording: bool
    channel: dict[str, Any] | None
    retention_days: int | None


@dataclass(frozen=True)
class Change:
    """One difference and the API call that removes it.

    ``changes`` maps a dotted field path to ``{"current": ..., "desired": ...}``: the exact difference a
    dry run reports. ``call``/``params`` are the boto3 method and its arguments.
    """

    resource: str
    action: str
    name: str
    changes: dict[str, dict[str, Any]]
    call: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, account_id: str, region: str, source: str) -> dict[str, Any]:
        """The JSON-able record of this change, as ``execute`` returns and logs it."""
        return {
            "account_id": account_id,
            "region": region,
            "configuration": source,
            "resource": self.resource,
            "name": self.name,
            "action": self.action,
            "changes": self.changes,
        }


# --------------------------------------------------------------------------------------------------
# Canonical forms
# --------------------------------------------------------------------------------------------------


def canonical_recording_group(group: dict[str, Any] | None) -> dict[str, Any]:
    """A recording group with every field present, lists sorted and the strategy made explicit."""
    group = group or {}
    all_supported = bool(group.get("allSupported", False))
    resource_types = sorted(group.get("resourceTypes") or [])
    excluded = sorted((group.get("exclusionByResourceTypes") or {}).get("resourceTypes") or [])
    strategy = (group.get("recordingStrategy") or {}).get("useOnly")
    if strategy is None:  # recorders made before recording strategies existed
        strategy = ALL_SUPPORTED if all_supported else (EXCLUSION if excluded else INCLUSION)
    return {
        "allSupported": all_supported,
        "includeGlobalResourceTypes": bool(group.get("includeGlobalResourceTypes", False)),
        "resourceTypes": resource_types,
        "exclusionByResourceTypes": {"resourceTypes": excluded},
        "recordingStrategy": {"useOnly": strategy},
    }


def canonical_recorder(recorder: dict[str, Any]) -> dict[str, Any]:
    """The fields of a recorder this ship manages (``recordingMode`` is not one: it is kept as is)."""
    return {
        "name": recorder.get("name"),
        "roleARN": recorder.get("roleARN"),
        "recordingGroup": canonical_recording_group(recorder.get("recordingGroup")),
    }


def canonical_channel(channel: dict[str, Any]) -> dict[str, Any]:
    """A delivery channel with every field present (None for what is not set)."""
    return {
        "name": channel.get("name"),
        "s3BucketName": channel.get("s3BucketName"),
        "s3KeyPrefix": channel.get("s3KeyPrefix") or None,
        "s3KmsKeyArn": channel.get("s3KmsKeyArn") or None,
        "snsTopicARN": channel.get("snsTopicARN") or None,
        "configSnapshotDeliveryProperties": {
            "deliveryFrequency": (channel.get("configSnapshotDeliveryProperties") or {}).get("deliveryFrequency")
        },
    }


# --------------------------------------------------------------------------------------------------
# Desired state (API request form) from a DefaultConfiguration / override
# --------------------------------------------------------------------------------------------------


def desired_recording_group(group: dict[str, Any], region: str) -> dict[str, Any]:
    """The ``recordingGroup`` request for this region (global types only where the template lists it)."""
    if group.get("record_everything") is not None:
        globals_here = region in group["record_everything"]["record_globals_in_these_regions"]
        return {
            "allSupported": True,
            "includeGlobalResourceTypes": globals_here,
            "recordingStrategy": {"useOnly": ALL_SUPPORTED},
        }
    if group.get("record_specific_resources"):
        return {
            "allSupported": False,
            "includeGlobalResourceTypes": False,
            "resourceTypes": sorted(group["record_specific_resources"]),
            "recordingStrategy": {"useOnly": INCLUSION},
        }
    return {
        "allSupported": False,
        "includeGlobalResourceTypes": False,
        "exclusionByResourceTypes": {"resourceTypes": sorted(group["record_everything_except"])},
        "recordingStrategy": {"useOnly": EXCLUSION},
    }


def desired_recorder(
    recorder_settings: dict[str, Any],
    *,
    account_id: str,
    region: str,
    partition: str,
    current: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``ConfigurationRecorder`` request: the existing name, or ``PreferredName`` for a new one."""
    request: dict[str, Any] = {
        "name": (current or {}).get("name") or recorder_settings["preferred_name"],
        "roleARN": role_arn(account_id, recorder_settings["config_role_name"], partition),
        "recordingGroup": desired_recording_group(recorder_settings["recording_group"], region),
    }
    if current and current.get("recordingMode"):
        request["recordingMode"] = current["recordingMode"]  # not managed here: sent back unchanged
    return request


def desired_channel(details: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """The ``DeliveryChannel`` request; optional fields appear only when the template sets them."""
    request: dict[str, Any] = {
        "name": (current or {}).get("name") or details["preferred_name"],
        "s3BucketName": details["bucket_name"],
        "configSnapshotDeliveryProperties": {"deliveryFrequency": details["s3_delivery_frequency"]},
    }
    optional = {"s3KeyPrefix": "bucket_key_prefix", "s3KmsKeyArn": "s3_kms_key_arn", "snsTopicARN": "sns_topic_arn"}
    for api_key, template_key in optional.items():
        if details.get(template_key):
            request[api_key] = details[template_key]
    return request


# --------------------------------------------------------------------------------------------------
# Differences
# --------------------------------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, sub in value.items():
            flat.update(_flatten(sub, f"{prefix}.{key}" if prefix else key))
        return flat
    return {prefix: value}


def differences(current: dict[str, Any] | None, desired: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"a.b": {"current": x, "desired": y}}`` for every leaf that differs (all of them when absent)."""
    wanted = _flatten(desired)
    have = _flatten(current) if current is not None else {}
    return {
        path: {"current": have.get(path), "desired": value}
        for path, value in wanted.items()
        if current is None or have.get(path) != value
    }


def plan_changes(
    current: CurrentState,
    settings: dict[str, Any],
    *,
    account_id: str,
    region: str,
    partition: str,
) -> list[Change]:
    """Every change, in the order AWS needs them: recorder, channel, retention, then start or stop.

    (A delivery channel needs a recorder; a recorder starts only with a delivery channel.)
    """
    changes: list[Change] = []
    recorder_settings = settings["recorder_configuration"]

    recorder_request = desired_recorder(
        recorder_settings, account_id=account_id, region=region, partition=partition, current=current.recorder
    )
    diff = differences(
        canonical_recorder(current.recorder) if current.recorder else None, canonical_recorder(recorder_request)
    )
    if diff:
        changes.append(
            Change(
                RECORDER,
                "update" if current.recorder else "create",
                recorder_request["name"],
                diff,
                "put_configuration_recorder",
                {"ConfigurationRecorder": recorder_request},
            )
        )

    channel_request = desired_channel(settings["delivery_channel_details"], current.channel)
    diff = differences(
        canonical_channel(current.channel) if current.channel else None, canonical_channel(channel_request)
    )
    if diff:
        changes.append(
            Change(
                CHANNEL,
                "update" if current.channel else "create",
                channel_request["name"],
                diff,
                "put_delivery_channel",
                {"DeliveryChannel": channel_request},
            )
        )

    days = settings["retention_period_in_days"]
    if current.retention_days != days:
        changes.append(
            Change(
                RETENTION,
                "update" if current.retention_days is not None else "create",
                RETENTION_NAME,
                {"RetentionPeriodInDays": {"current": current.retention_days, "desired": days}},
                "put_retention_configuration",
                {"RetentionPeriodInDays": days},
            )
        )

    enabled = recorder_settings["recording_enabled"]
    if enabled != current.recording:
        changes.append(
            Change(
                STATUS,
                "start" if enabled else "stop",
                recorder_request["name"],
                {"recording": {"current": current.recording, "desired": enabled}},
                "start_configuration_recorder" if enabled else "stop_configuration_recorder",
                {"ConfigurationRecorderName": recorder_request["name"]},
            )
        )
    return changes
