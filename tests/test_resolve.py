"""Target resolution against the fixed 20-account organisation (Starfleet's documented semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.resolve import Target, resolve_accounts, resolve_targets, unmatched_selectors
from starfleet_airflow.core.schemas import (
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    supported_regions,
)
from starfleet_airflow.devtools.synthetic_org import DEFAULT_REGIONS, MANAGEMENT_ACCOUNT_ID, sample_organisation

PROD_WEB = {"100000000001", "100000000002", "100000000003"}
PROD_DATA = {"100000000004", "100000000005", "100000000018", "100000000019"}
PRODUCTION = PROD_WEB | PROD_DATA | {"100000000006"}
DEV_WEB = {"100000000007", "100000000008"}
SUSPENDED = "100000000017"


@pytest.fixture(scope="module")
def index() -> AccountIndex:
    return AccountIndex.from_dict(sample_organisation())


def account_payload(include: dict[str, Any], **extra: Any) -> dict[str, Any]:
    raw = {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": include, **extra}
    return BaseAccountPayloadTemplate().load(raw)


def region_payload(include: dict[str, Any], regions: list[str], **extra: Any) -> dict[str, Any]:
    raw = {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": include, "IncludeRegions": regions}
    return BaseAccountRegionPayloadTemplate().load({**raw, **extra})


def accounts_of(payload: dict[str, Any], index: AccountIndex) -> set[str]:
    return {t.account_id for t in resolve_targets(payload, index, FanOutStrategy.ACCOUNT)}


def test_all_accounts_skips_org_root_and_suspended(index: AccountIndex) -> None:
    found = accounts_of(account_payload({"AllAccounts": True}), index)
    assert len(found) == 18
    assert MANAGEMENT_ACCOUNT_ID not in found
    assert SUSPENDED not in found


def test_org_root_only_with_operate_in_org_root(index: AccountIndex) -> None:
    found = accounts_of(account_payload({"AllAccounts": True}, OperateInOrgRoot=True), index)
    assert MANAGEMENT_ACCOUNT_ID in found
    # Included explicitly but without the flag, the root is still left out (Starfleet's rule).
    assert accounts_of(account_payload({"ByIds": [MANAGEMENT_ACCOUNT_ID, "100000000001"]}), index) == {"100000000001"}


def test_org_unit_by_name_includes_nested_ous(index: AccountIndex) -> None:
    assert accounts_of(account_payload({"ByOrgUnits": ["production"]}), index) == PRODUCTION


def test_two_ous_with_the_same_name_both_match(index: AccountIndex) -> None:
    assert accounts_of(account_payload({"ByOrgUnits": ["WEB"]}), index) == PROD_WEB | DEV_WEB


def test_org_unit_by_id_matches_only_that_ou(index: AccountIndex) -> None:
    assert accounts_of(account_payload({"ByOrgUnits": ["ou-root-prodweb1"]}), index) == PROD_WEB


def test_root_ou_means_every_account(index: AccountIndex) -> None:
    assert accounts_of(account_payload({"ByOrgUnits": ["ROOT"]}), index) == accounts_of(
        account_payload({"AllAccounts": True}), index
    )
    assert accounts_of(account_payload({"ByOrgUnits": ["r-root"]}), index) == accounts_of(
        account_payload({"AllAccounts": True}), index
    )


def test_names_and_tags_are_case_insensitive(index: AccountIndex) -> None:
    assert accounts_of(account_payload({"ByNames": ["SANDBOX-alice", "Sandbox-Carol"]}), index) == {
        "100000000011",
        "100000000013",
    }
    web_team = accounts_of(account_payload({"ByTags": [{"Name": "team", "Value": "WEB"}]}), index)
    assert web_team == {"100000000001", "100000000002", "100000000007", "100000000008"}


def test_exclusions_subtract_from_inclusions(index: AccountIndex) -> None:
    payload = account_payload(
        {"ByOrgUnits": ["Production"]},
        ExcludeAccounts={"ByTags": [{"Name": "Team", "Value": "data"}], "ByNames": ["prod-shared"]},
    )
    assert accounts_of(payload, index) == PRODUCTION - {"100000000004", "100000000018", "100000000006"}


def test_selectors_are_a_union(index: AccountIndex) -> None:
    payload = account_payload(
        {"ByIds": ["100000000014"], "ByNames": ["log-archive"], "ByOrgUnits": ["ou-root-devweb01"]}
    )
    assert accounts_of(payload, index) == {"100000000014", "100000000015"} | DEV_WEB


def test_suspended_accounts_only_with_include_inactive() -> None:
    everything = AccountIndex.from_dict(sample_organisation(), include_inactive=True)
    assert SUSPENDED in accounts_of(account_payload({"ByNames": ["old-project"]}), everything)
    assert (
        accounts_of(account_payload({"ByNames": ["old-project"]}), AccountIndex.from_dict(sample_organisation()))
        == set()
    )


def test_account_region_pairs_exist_only_where_enabled(index: AccountIndex) -> None:
    payload = region_payload({"ByNames": ["prod-data-2", "dev-web-2"]}, ["us-east-1", "eu-west-1", "us-west-2"])
    assert resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION) == [
        Target("100000000005", "eu-west-1"),
        Target("100000000005", "us-east-1"),
        Target("100000000008", "us-east-1"),
    ]


def test_all_regions_minus_excluded_and_opt_in_regions(index: AccountIndex) -> None:
    payload = region_payload({"AllAccounts": True}, ["ALL"], ExcludeRegions=["us-east-2"])
    targets = resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION)
    assert all(t.region != "us-east-2" for t in targets)
    assert {t.account_id for t in targets if t.region == "af-south-1"} == {"100000000003", "100000000016"}
    expected = sum(
        len((index.regions_of(a) & supported_regions()) - {"us-east-2"}) for a in resolve_accounts(payload, index)
    )
    assert len(targets) == expected


def test_scope_to_regions_caps_the_regions(index: AccountIndex) -> None:
    payload = region_payload({"ByOrgUnits": ["Sandbox"]}, ["ALL"])
    targets = resolve_targets(
        payload, index, FanOutStrategy.ACCOUNT_REGION, scope_to_regions=["us-west-2", "eu-west-1"]
    )
    assert targets == [
        Target("100000000011", "eu-west-1"),
        Target("100000000011", "us-west-2"),
        Target("100000000012", "us-west-2"),
        Target("100000000013", "eu-west-1"),
        Target("100000000013", "us-west-2"),
    ]


def test_targets_are_sorted_and_deterministic(index: AccountIndex) -> None:
    payload = region_payload({"AllAccounts": True}, list(DEFAULT_REGIONS))
    first = resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION)
    assert first == sorted(first)
    assert first == resolve_targets(payload, index, FanOutStrategy.ACCOUNT_REGION)


def test_single_invocation_has_one_target(index: AccountIndex) -> None:
    assert resolve_targets({}, index, FanOutStrategy.SINGLE_INVOCATION) == [Target(None, None)]


def test_unknown_ids_are_dropped_and_reported(index: AccountIndex) -> None:
    payload = account_payload({"ByIds": ["999999999999", "100000000001"], "ByNames": ["nobody"]})
    assert accounts_of(payload, index) == {"100000000001"}
    notes = unmatched_selectors(payload, index)
    assert any("999999999999" in note for note in notes)
    assert any("'nobody'" in note for note in notes)
