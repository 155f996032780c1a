"""An account index that cannot be right is never silently used: bad ids refused, empty fails, stale warns."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.account_index import AccountIndex, AccountIndexError
from starfleet_airflow.core.enums import DeliveryMode
from starfleet_airflow.core.plan import PlanError, plan_run
from starfleet_airflow.core.templates import LoadedTemplate
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import Deployment, run_dag
from tests.fixtures.factory_ships.recorders import AccountRecorderShip, OnceRecorderShip

ORG = sample_organisation()  # generated 2026-11-01T00:00:00Z
GENERATED = datetime(2026, 11, 1, tzinfo=timezone.utc)
TEMPLATE = LoadedTemplate(
    "AccountRecorderShip/all.yaml",
    {"TemplateName": "All", "TemplateDescription": "every account", "IncludeAccounts": {"AllAccounts": True}},
    None,
    Location(None, "all.yaml"),
)


def plan(index: dict[str, Any], ship: Any = AccountRecorderShip, **kwargs: Any) -> Any:
    return plan_run(
        ship,
        index_data=index,
        index_source="s3://index/accountIndex.json",
        templates=[TEMPLATE] if ship is AccountRecorderShip else [],
        template_prefix="AccountRecorderShip/",
        delivery_mode=DeliveryMode.INLINE,
        max_units=1024,
        **kwargs,
    )


def test_index_keys_that_are_not_account_ids_are_refused_at_load() -> None:
    accounts = dict(ORG["accounts"])
    accounts["not-an-id"] = {**accounts["100000000001"], "Id": "not-an-id"}
    with pytest.raises(AccountIndexError) as refused:
        AccountIndex.from_dict({"accounts": accounts}, source="idx.json")
    assert str(refused.value) == "idx.json: accounts.not-an-id: expected a 12-digit AWS account id as the key"


def test_an_empty_index_fails_the_plan() -> None:
    with pytest.raises(PlanError) as refused:
        plan({"accounts": {}, "generated": "2026-11-01T00:00:00Z"})
    assert str(refused.value) == (
        "account index s3://index/accountIndex.json lists no accounts; expected the organisation's accounts"
        " (has the AccountIndexGeneratorShip run?)"
    )
    suspended = {k: {**v, "Status": "SUSPENDED"} for k, v in ORG["accounts"].items()}
    with pytest.raises(PlanError, match=r"lists no ACTIVE account \(20 are not ACTIVE"):
        plan({"accounts": suspended})
    assert plan({"accounts": {}}, ship=OnceRecorderShip).templates == [], "SINGLE_INVOCATION needs no index"


def test_a_stale_index_is_noted_in_the_plan() -> None:
    later = GENERATED + timedelta(hours=100)
    notes = plan(ORG, now=later, index_max_age_hours=72).notes
    assert (
        "account index s3://index/accountIndex.json was generated 2026-11-01T00:00:00Z, 100 hours ago: older than"
        " STARFLEET.AccountIndexMaxAgeHours (72); is the AccountIndexGeneratorShip running?"
    ) in notes
    assert not [n for n in plan(ORG, now=later, index_max_age_hours=0).notes if "generated" in n], "0: no check"
    assert not [n for n in plan(ORG, now=GENERATED + timedelta(hours=1)).notes if "generated" in n]
    undated = {"accounts": ORG["accounts"]}
    assert any("has no 'generated' time" in n for n in plan(undated, now=later).notes)


@pytest.mark.usefixtures("airflow_db")
def test_the_report_shows_the_stale_index_and_an_empty_index_fails_the_run(deployment: Deployment) -> None:
    deployment.write_index(ORG)
    deployment.starfleet["AccountIndexMaxAgeHours"] = 1
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.add_template(
        "AccountRecorderShip/one.yaml", {**TEMPLATE.raw, "IncludeAccounts": {"ByIds": ["100000000001"]}}
    )
    deployment.write()

    stale = run_dag("starfleet_account_recorder_ship")
    assert stale.state == "success"
    assert any("older than STARFLEET.AccountIndexMaxAgeHours (1)" in note for note in stale.report["notes"])

    deployment.write_index({"accounts": {}, "generated": "2026-11-01T00:00:00Z"})
    empty = run_dag("starfleet_account_recorder_ship")
    assert empty.state == "failed" and empty.state_of("plan") == "failed"
