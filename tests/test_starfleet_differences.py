"""Every intended difference from Starfleet, one test each, named as the README's "Differences from Starfleet" table.

The account selection cases run our resolver on small hand-made indexes whose shape provokes the case. Where
Starfleet's behaviour is the reference (the ``r-`` shortcut, ``ou-`` id lengths), the expectation is what
Starfleet's own index and resolvers return for the same input (checked against Starfleet's code at 0bedfd2).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from starfleet_airflow.core.account_index import AccountIndex, AccountIndexError
from starfleet_airflow.core.resolve import resolve_accounts, unmatched_selectors
from starfleet_airflow.core.schemas import BaseAccountPayloadTemplate, BaseAccountRegionPayloadTemplate

README = Path(__file__).resolve().parent.parent / "README.md"
ROOT_ID = "r-ab12"
MGMT = "100000000000"


def account(
    account_id: str, name: str, ous: list[tuple[str, str]], *, status: str = "ACTIVE", mgmt: str = MGMT
) -> dict[str, Any]:
    """One index entry: ``ous`` from the nearest OU up; the organisation root is added last, as the generator does."""
    parents = [{"Id": ou_id, "Type": "ORGANIZATIONAL_UNIT", "Name": ou_name} for ou_id, ou_name in ous]
    parents.append({"Id": ROOT_ID, "Type": "ROOT", "Name": "ROOT"})
    return {
        "Id": account_id,
        "Name": name,
        "Status": status,
        "Arn": f"arn:aws:organizations::{mgmt}:account/o-ab12cd34ef/{account_id}",
        "Parents": parents,
        "Regions": ["us-east-1", "eu-west-1"],
        "Tags": {"team": name.split("-")[0]},
    }


def organisation(*accounts: dict[str, Any]) -> AccountIndex:
    return AccountIndex.from_dict({"accounts": {a["Id"]: a for a in accounts}}, source="test-index")


ORG = organisation(
    account(MGMT, "management", []),
    account("100000000001", "rnd-1", [("ou-ab12-rnd00001", "r-and-d")]),
    account("100000000002", "prod-1", [("ou-ab12-prod0001", "Production")]),
    account("100000000003", "prod-2", [("ou-ab12-prod0001", "Production")]),
)
EVERYONE_BUT_ROOT = {"100000000001", "100000000002", "100000000003"}


def selected(include: dict[str, Any], exclude: dict[str, Any] | None = None, index: AccountIndex = ORG) -> set[str]:
    template = {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": include}
    if exclude is not None:
        template["ExcludeAccounts"] = exclude
    return resolve_accounts(BaseAccountPayloadTemplate().load(template), index)


# -- the r- shortcut: only this organisation's root ids (and the name ROOT) mean "every account" ----------------


def test_difference_root_shortcut_an_ou_named_r_is_an_ou() -> None:
    assert selected({"ByOrgUnits": ["r-and-d"]}) == {"100000000001"}
    assert selected({"ByOrgUnits": ["R-AND-D"]}) == {"100000000001"}  # names are case-insensitive


def test_difference_root_shortcut_own_root_id_and_name_root_select_everyone() -> None:
    assert selected({"ByOrgUnits": [ROOT_ID]}) == EVERYONE_BUT_ROOT  # the org root account only with OperateInOrgRoot
    assert selected({"ByOrgUnits": ["R-AB12"]}) == EVERYONE_BUT_ROOT
    assert selected({"ByOrgUnits": ["ROOT"]}) == EVERYONE_BUT_ROOT
    assert selected({"ByOrgUnits": ["Root"]}) == EVERYONE_BUT_ROOT


def test_difference_root_shortcut_unknown_root_id_selects_nothing_and_warns() -> None:
    assert selected({"ByOrgUnits": ["r-zzzz"]}) == set()
    assert selected({"ByOrgUnits": ["r-zzzz", "Production"]}) == {"100000000002", "100000000003"}
    payload = BaseAccountPayloadTemplate().load(
        {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": {"ByOrgUnits": ["r-zzzz"]}}
    )
    assert unmatched_selectors(payload, ORG) == ["IncludeAccounts.ByOrgUnits 'r-zzzz' matches no account"]


def test_difference_root_shortcut_in_exclude_accounts() -> None:
    everyone = {"AllAccounts": True}
    assert selected(everyone, {"ByOrgUnits": ["r-zzzz"]}) == EVERYONE_BUT_ROOT  # excludes nothing
    assert selected(everyone, {"ByOrgUnits": ["r-and-d"]}) == {"100000000002", "100000000003"}
    assert selected(everyone, {"ByOrgUnits": [ROOT_ID]}) == set()


def test_difference_root_shortcut_name_root_without_root_parents() -> None:
    """An index written by hand without the ROOT parent entries: ``ROOT`` still means every account (ours)."""
    bare = {"Id": "100000000009", "Name": "bare", "Status": "ACTIVE", "Arn": "", "Parents": [], "Regions": []}
    index = AccountIndex.from_dict({"accounts": {"100000000009": bare}}, source="bare")
    assert selected({"ByOrgUnits": ["ROOT"]}, index=index) == {"100000000009"}  # Starfleet: nothing
    assert selected({"ByOrgUnits": [ROOT_ID]}, index=index) == set()  # not this organisation's root


# -- OU ids: Starfleet's length rule, adopted ----------------------------------------------------------------


def test_ou_id_length_follows_starfleet() -> None:
    ou_68 = "ou-" + "a" * 32 + "-" + "b" * 32
    assert len(ou_68) == 68
    BaseAccountPayloadTemplate().load(
        {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": {"ByOrgUnits": [ou_68]}}
    )
    with pytest.raises(ValidationError, match="an OU id is at most 68 characters, got 69"):
        BaseAccountPayloadTemplate().load(
            {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": {"ByOrgUnits": [ou_68 + "c"]}}
        )
    with pytest.raises(ValidationError, match="an OU name is at most 128 characters"):
        BaseAccountPayloadTemplate().load(
            {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": {"ByOrgUnits": ["n" * 129]}}
        )


# -- account selection: fixes of Starfleet's index -----------------------------------------------------------------


def test_difference_inactive_accounts_are_skipped() -> None:
    index = organisation(account("100000000001", "live", []), account("100000000002", "closed", [], status="SUSPENDED"))
    assert selected({"AllAccounts": True}, index=index) == {"100000000001"}  # Starfleet: both
    raw = {"accounts": {a["Id"]: a for a in (account("100000000002", "closed", [], status="SUSPENDED"),)}}
    assert AccountIndex.from_dict(raw, source="x", include_inactive=True).all_ids() == {"100000000002"}


def test_difference_two_ous_sharing_a_name_both_match() -> None:
    index = organisation(
        account("100000000001", "a", [("ou-ab12-dev00001", "Dev")]),
        account("100000000002", "b", [("ou-ab12-dev00002", "Dev")]),
    )
    assert selected({"ByOrgUnits": ["Dev"]}, index=index) == {"100000000001", "100000000002"}  # Starfleet: the last


def test_difference_duplicate_account_names_all_match() -> None:
    index = organisation(account("100000000001", "twin", []), account("100000000002", "twin", []))
    assert selected({"ByNames": ["TWIN"]}, index=index) == {"100000000001", "100000000002"}  # Starfleet: the last


def test_difference_org_roots_are_read_from_every_arn() -> None:
    index = organisation(account("100000000001", "a", []), account("100000000002", "b", [], mgmt="999999999999"))
    assert index.org_root_ids() == {MGMT, "999999999999"}  # Starfleet: the first account's only
    index_with_roots = organisation(
        account(MGMT, "management", []), account("999999999999", "other-root", [], mgmt="999999999999")
    )
    assert selected({"AllAccounts": True}, index=index_with_roots) == set()


def test_difference_by_ids_must_be_twelve_digits() -> None:
    with pytest.raises(ValidationError, match=r"expected a 12-digit AWS account id, got '12'"):
        selected({"ByIds": ["12"]})  # Starfleet: accepted, selects nothing


def test_difference_index_id_must_match_its_key() -> None:
    entry = account("100000000001", "a", [])
    with pytest.raises(AccountIndexError, match=r"accounts\.444444444444\.Id: '100000000001' does not match the key"):
        AccountIndex.from_dict({"accounts": {"444444444444": entry}}, source="idx")  # Starfleet: the key wins


# -- templates and configuration as loaded ---------------------------------------------------------------------------


def test_difference_loaded_exclusions_are_always_complete() -> None:
    loaded = BaseAccountRegionPayloadTemplate().load(
        {
            "TemplateName": "t",
            "TemplateDescription": "d",
            "IncludeAccounts": {"AllAccounts": True},
            "IncludeRegions": ["us-east-1"],
        }
    )
    assert loaded["exclude_accounts"] == {
        "by_names": [],
        "by_ids": [],
        "by_org_units": [],
        "by_tags": [],
    }  # Starfleet: {}
    assert loaded["exclude_regions"] == set()  # Starfleet: [] when empty, a set otherwise


def test_difference_configuration_is_more_permissive_and_checks_more() -> None:
    from starfleet_airflow.core.schemas import StarfleetSchema, WorkerShipBaseConfigurationTemplate

    section = {"Enabled": True, "TemplatePrefix": "x/", "InvocationQueueUrl": "http://localhost:5000/1/q"}
    assert WorkerShipBaseConfigurationTemplate().load(section)["invocation_queue_url"].startswith("http://")
    inline = {"Enabled": True, "TemplatePrefix": "x/", "Airflow": {"DeliveryMode": "INLINE"}}  # no queue, no sources
    assert WorkerShipBaseConfigurationTemplate().load(inline)["invocation_sources"] == []
    starfleet = {"DeploymentRegion": "us-east-1", "TemplateLocation": "templates", "AwsConnId": "aws_other"}
    assert StarfleetSchema().load(starfleet)["aws_conn_id"] == "aws_other"  # Starfleet refuses keys it does not know
    timed = {**section, "InvocationSources": ["EVENTBRIDGE_TIMED_EVENT"]}
    assert "EventBridgeTimedFrequency" in WorkerShipBaseConfigurationTemplate().validate(timed)  # Starfleet: load only


# -- logging and alerts -----------------------------------------------------------------------------------------------


def test_difference_logger_propagates_and_defaults_to_info() -> None:
    from starfleet_airflow.core.log_levels import wanted_levels
    from starfleet_airflow.starfleet_compat.starfleet_logging import LOGGER

    assert LOGGER.name == "starfleet" and LOGGER.propagate is True and LOGGER.handlers == []
    assert wanted_levels({})["starfleet"] == logging.INFO  # Starfleet: DEBUG unless LogLevel says otherwise


def test_difference_slack_client_posts_never_raise(clean_starfleet_state: None) -> None:
    from starfleet_airflow.core.config import Configuration
    from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
    from starfleet_airflow.starfleet_compat.slack import SLACK_CLIENT

    configuration = Configuration(
        Path("."), raw={"STARFLEET": {"SlackEnabled": True}}, starfleet={"slack_enabled": True}
    )
    with STARFLEET_CONFIGURATION.serving(configuration):
        assert SLACK_CLIENT.post_problem("C1", "title", "body") is False  # no secret at all; Starfleet: SlackError


def test_difference_worker_lambda_reads_configuration_at_the_first_call_and_passes_the_result_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_starfleet_state: None
) -> None:
    from starfleet_airflow.core.schemas import WorkerShipPayloadBaseTemplate
    from starfleet_airflow.core.ship import StarfleetWorkerShip
    from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
    from starfleet_airflow.starfleet_compat.configuration import BadConfigurationError
    from starfleet_airflow.starfleet_compat.lambda_utils import worker_lambda

    class EchoShip(StarfleetWorkerShip):
        payload_template_class = WorkerShipPayloadBaseTemplate

    @worker_lambda(EchoShip)
    def lambda_handler(event: dict[str, Any], context: object, worker: EchoShip, commit: bool) -> Any:
        return {
            "commit": commit,
            "alert": worker.alert_priority.name,
            "section": worker.configuration["template_prefix"],
        }

    config = tmp_path / "config"
    config.mkdir()
    (config / "starfleet.yaml").write_text(
        "STARFLEET: {DeploymentRegion: us-east-1, TemplateLocation: t, AccountIndexLocation: i.json}\n"
    )
    monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(config))
    monkeypatch.setenv("STARFLEET_COMMIT", "TRUE")
    previous = STARFLEET_CONFIGURATION.current
    STARFLEET_CONFIGURATION.reset()
    try:
        assert STARFLEET_CONFIGURATION.current is None, "decorating read nothing"
        with pytest.raises(BadConfigurationError, match="No configuration found for the worker EchoShip"):
            lambda_handler({}, None)
        (config / "echo.yaml").write_text(
            "EchoShip: {Enabled: true, TemplatePrefix: echo/, Airflow: {DeliveryMode: INLINE},"
            " AlertConfiguration: {ChannelId: C1, AlertPriority: SUCCESS}}\n"
        )
        STARFLEET_CONFIGURATION.reset()
        assert lambda_handler({}, None) == {"commit": True, "alert": "SUCCESS", "section": "echo/"}  # Starfleet: None
        (config / "echo.yaml").write_text(
            "EchoShip: {Enabled: true, TemplatePrefix: echo/, Airflow: {DeliveryMode: INLINE},"
            " AlertConfiguration: {ChannelId: C1}}\n"
        )
        STARFLEET_CONFIGURATION.reset()
        with pytest.raises(BadConfigurationError, match=r"invalid configuration: AlertConfiguration\.AlertPriority"):
            lambda_handler({}, None)
    finally:
        STARFLEET_CONFIGURATION.reset()
        if previous is not None:
            STARFLEET_CONFIGURATION.use(previous)


# -- the README's table names a test for every difference -----------------------------------------------------------


def _difference_rows() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Differences from Starfleet", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] and not set(cells[0]) <= {"-"} and cells[0] != "#":
            rows.append((cells[1], cells[-1]))
    return rows


def test_every_difference_in_the_readme_names_a_test_that_exists() -> None:
    import importlib

    rows = _difference_rows()
    assert len(rows) >= 20
    for what, test in rows:
        found = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", test)
        assert found, f"the README row {what!r} names no test"
        for path, name in found:
            module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
            assert callable(getattr(module, name, None)), f"{path}::{name} (README row {what!r}) does not exist"
