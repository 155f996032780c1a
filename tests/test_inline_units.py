"""Inline units: one account per task up to 32 accounts of a template, then groups of whole accounts.

Each task instance costs Airflow ~0.4 s, so 500 accounts in 500 tasks took 184 s; in 32 tasks the run
stays within the 20 s target while every account still has its row in the report and its name in a label.
"""

from __future__ import annotations

import json

import pytest

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.plan import unit_targets
from starfleet_airflow.core.plan.units import INLINE_UNITS_PER_TEMPLATE
from starfleet_airflow.devtools.synthetic_org import build_index
from tests.airflow_fixtures import Deployment, run_dag
from tests.fixtures.factory_ships.recorders import AccountRecorderShip
from tests.test_plan import loaded, plan

ALL = {"TemplateName": "All", "TemplateDescription": "every account", "IncludeAccounts": {"AllAccounts": True}}


@pytest.mark.parametrize(("accounts", "units"), [(20, 19), (33, 32), (501, 32)])
def test_whole_accounts_per_unit_and_labels_naming_them(accounts: int, units: int) -> None:
    organisation = build_index(accounts, 3)
    index = AccountIndex.from_dict(organisation)
    result = plan(AccountRecorderShip, [loaded("A/all.yaml", ALL)], index_data=organisation)
    assert len(result.units) == units <= INLINE_UNITS_PER_TEMPLATE
    seen: list[str] = []
    for unit in result.units:
        ids = [t.account_id for t in unit_targets(result.view, unit)]
        seen.extend(ids)
        first, last = f"{index.name_of(ids[0])} ({ids[0]})", f"{index.name_of(ids[-1])} ({ids[-1]})"
        if len(ids) == 1:
            assert unit.label == f"All: {first}"
        else:
            assert unit.label == f"All: {first} .. {last}, {len(ids)} accounts"
    # Every account once; one-account rows read by account name, groups are id ranges (see core/plan/units.py).
    assert sorted(seen) == sorted(index.all_ids() - index.org_root_ids()) and len(seen) == len(set(seen))


def test_grouped_inline_run_reports_every_account(deployment: Deployment) -> None:
    organisation = build_index(41, 2)
    deployment.write_index(organisation)
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.add_template("AccountRecorderShip/all.yaml", ALL)
    deployment.write()
    result = run_dag("starfleet_account_recorder_ship")

    index = AccountIndex.from_bytes(json.dumps(organisation).encode(), source="index")
    expected = sorted(index.all_ids() - index.org_root_ids())
    assert result.state == "success"
    assert len(result.rendered_map_indexes) == 20  # 40 accounts, 2 per task
    assert all(" .. " in label and label.endswith(", 2 accounts") for label in result.rendered_map_indexes.values())
    rows = result.report["rows"]
    assert sorted(row["account_id"] for row in rows) == expected
    assert {row["outcome"] for row in rows} == {"succeeded"}
    assert all(row["account_name"] == index.name_of(row["account_id"]) for row in rows)


pytestmark = pytest.mark.usefixtures("airflow_db")
