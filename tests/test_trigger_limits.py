"""A trigger's conf is input too: refusals stay short however long the lists, and narrowing stays linear."""

from __future__ import annotations

from typing import Any

import pytest

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.enums import DeliveryMode
from starfleet_airflow.core.plan import Narrowing, PlanRefused, plan_run
from starfleet_airflow.core.templates import LoadedTemplate
from starfleet_airflow.devtools.synthetic_org import build_index
from tests.fixtures.factory_ships.recorders import AccountRecorderShip

INDEX = build_index(30_000, seed=7)
FIRST = sorted(INDEX["accounts"])[0]
ONE = LoadedTemplate(
    "AccountRecorderShip/one.yaml",
    {"TemplateName": "One", "TemplateDescription": "one account", "IncludeAccounts": {"ByIds": [FIRST]}},
    None,
    Location(None, "one.yaml"),
)


def refusal(params: dict[str, Any]) -> str:
    with pytest.raises(PlanRefused) as refused:
        plan_run(
            AccountRecorderShip,
            index_data=INDEX,
            index_source="big",
            templates=[ONE],
            template_prefix="AccountRecorderShip/",
            delivery_mode=DeliveryMode.SQS,
            max_units=1024,
            narrowing=Narrowing.from_params(params),
        )
    return str(refused.value)


def test_20000_unknown_accounts_make_a_short_refusal_that_says_how_many_were_cut() -> None:
    unknown = [f"{900000000000 + i}" for i in range(20_000)]
    message = refusal({"accounts": unknown})
    assert len(message) < 1_000
    assert message.startswith("accounts '900000000000', '900000000001', ")
    assert "... and 19,990 more (20,000 in all) are not in the account index; give 12-digit ids" in message
    assert message.endswith("(index: big)")


def test_20000_accounts_outside_the_templates_make_a_short_refusal() -> None:
    outside = sorted(INDEX["accounts"])[1:20_001]
    message = refusal({"accounts": outside})
    assert len(message) < 1_500
    assert "... and 19,990 more (20,000 in all) are not selected by the templates of this run" in message


def test_a_bad_item_is_named_briefly() -> None:
    message = refusal({"accounts": [["x" * 100_000]]})
    assert len(message) < 300 and message.startswith("param 'accounts': expected strings, got a list ")


def test_50000_ids_are_deduplicated_in_order() -> None:
    ids = [f"{100000000000 + i % 25_000}" for i in range(50_000)]
    narrowing = Narrowing.from_params({"accounts": ids, "regions": "us-east-1, us-east-1\neu-west-1"})
    assert narrowing.accounts == tuple(ids[:25_000])
    assert narrowing.regions == ("us-east-1", "eu-west-1")


def test_20000_unknown_regions_make_a_short_refusal() -> None:
    from starfleet_airflow.core.schemas import check_regions

    [message] = check_regions([f"mars-{i}" for i in range(20_000)])
    assert len(message) < 300 and "... and 19,990 more" in message
