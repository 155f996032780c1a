"""Base schemas: Starfleet's payload and configuration rules, every problem reported at once."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from starfleet_airflow.core.enums import DeliveryMode
from starfleet_airflow.core.schemas import (
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    StarfleetSchema,
    WorkerShipBaseConfigurationTemplate,
    flatten_errors,
    supported_regions,
)


def problems(schema: Any, data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        schema.load(data)
    return flatten_errors(caught.value.messages)


BASE = {"TemplateName": "t", "TemplateDescription": "d"}


def test_all_accounts_cannot_combine_with_other_selectors() -> None:
    found = problems(
        BaseAccountPayloadTemplate(), {**BASE, "IncludeAccounts": {"AllAccounts": True, "ByIds": ["123456789012"]}}
    )
    assert found == ["IncludeAccounts.ByIds: cannot be combined with AllAccounts: true"]


def test_empty_include_accounts_is_refused() -> None:
    found = problems(BaseAccountPayloadTemplate(), {**BASE, "IncludeAccounts": {}})
    assert found == [
        "IncludeAccounts: expected AllAccounts: true or at least one of ByNames, ByIds, ByOrgUnits, ByTags"
    ]


def test_account_ids_must_have_twelve_digits() -> None:
    found = problems(
        BaseAccountPayloadTemplate(), {**BASE, "IncludeAccounts": {"ByIds": ["12345678901", "123456789012"]}}
    )
    assert found == ["IncludeAccounts.ByIds.0: expected a 12-digit AWS account id, got '12345678901'"]


def test_unknown_regions_and_all_mixed_with_regions() -> None:
    found = problems(
        BaseAccountRegionPayloadTemplate(),
        {
            **BASE,
            "IncludeAccounts": {"AllAccounts": True},
            "IncludeRegions": ["ALL", "us-east-1"],
            "ExcludeRegions": ["mars-1"],
        },
    )
    assert "IncludeRegions: ALL cannot be combined with other regions" in found
    assert any(p.startswith("ExcludeRegions: unknown region mars-1") for p in found)


def test_every_problem_is_reported_together() -> None:
    found = problems(
        BaseAccountRegionPayloadTemplate(),
        {"IncludeAccounts": {"ByIds": ["1"]}, "IncludeRegions": ["nowhere-1"]},
    )
    assert {p.split(":")[0] for p in found} == {
        "TemplateName",
        "TemplateDescription",
        "IncludeAccounts.ByIds.0",
        "IncludeRegions",
    }


def test_all_regions_expand_and_unknown_keys_stay() -> None:
    payload = BaseAccountRegionPayloadTemplate().load(
        {**BASE, "IncludeAccounts": {"AllAccounts": True}, "IncludeRegions": ["ALL"], "RoleName": "x"}
    )
    assert payload["include_regions"] == set(supported_regions())
    assert payload["RoleName"] == "x"
    assert payload["operate_in_org_root"] is False


def test_ship_configuration_defaults_and_airflow_options() -> None:
    loaded = WorkerShipBaseConfigurationTemplate().load(
        {"Enabled": True, "TemplatePrefix": "Ship/", "Airflow": {"DeliveryMode": "INLINE", "FailureTolerance": "10%"}}
    )
    assert loaded["airflow"]["delivery_mode"] is DeliveryMode.INLINE
    assert loaded["airflow"]["failure_tolerance"] == {"percent": 10.0}
    assert loaded["invocation_sources"] == []


def test_ship_configuration_problems() -> None:
    found = problems(
        WorkerShipBaseConfigurationTemplate(),
        {"Enabled": "sometimes", "InvocationSources": ["EVENTBRIDGE_TIMED_EVENT"], "Airflow": {"FailureTolerance": -1}},
    )
    keys = {p.split(":")[0] for p in found}
    assert keys == {
        "Enabled",
        "TemplatePrefix",
        "EventBridgeTimedFrequency",
        "InvocationQueueUrl",
        "Airflow.FailureTolerance",
    }


def test_starfleet_section_needs_a_template_store_and_known_scope() -> None:
    found = problems(StarfleetSchema(), {"DeploymentRegion": "us-east-1", "ScopeToRegions": ["us-east-1", "moon-1"]})
    assert any(p.startswith("ScopeToRegions: unknown region moon-1") for p in found)
    assert any(p.startswith("TemplateBucket: expected TemplateBucket") for p in found)


def test_queue_urls_are_checked() -> None:
    found = problems(
        WorkerShipBaseConfigurationTemplate(),
        {"Enabled": True, "TemplatePrefix": "x/", "InvocationQueueUrl": "sqs:my-queue"},
    )
    assert found == [
        "InvocationQueueUrl: expected an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/my-queue"
    ]
    loaded = WorkerShipBaseConfigurationTemplate().load(
        {"Enabled": True, "TemplatePrefix": "x/", "InvocationQueueUrl": "http://127.0.0.1:5000/123456789012/q"}
    )
    assert loaded["invocation_queue_url"] == "http://127.0.0.1:5000/123456789012/q"
