"""Bad inputs and faults in real DAG runs (``dag.test()``, Airflow on SQLite): each stays where it belongs.

A bad template fails alone, a hung target times out alone, a lost snapshot still leaves a report that
accounts for every target; the run says why in its report.
"""

from __future__ import annotations

from typing import Any

import pytest

from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import Deployment, run_dag
from tests.test_timeouts import released  # noqa: F401 - the fixture releasing hung threads
from tests.test_yaml_bounds import alias_bomb

pytestmark = pytest.mark.usefixtures("airflow_db")

ORG = sample_organisation()


def once_ship(deployment: Deployment, **airflow: Any) -> None:
    deployment.write_index(ORG)
    deployment.ships["OnceRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "OnceRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE", **airflow},
    }


def test_an_alias_bomb_template_fails_alone_and_the_other_templates_run(deployment: Deployment) -> None:
    once_ship(deployment)
    deployment.add_template("OnceRecorderShip/bomb.yaml", alias_bomb(4))
    deployment.add_template("OnceRecorderShip/good.yaml", {"TemplateName": "Good", "TemplateDescription": "fine"})
    deployment.write()

    result = run_dag("starfleet_once_recorder_ship")

    rows = {row["template"]: row for row in result.report["rows"]}
    assert rows["OnceRecorderShip/good.yaml"]["outcome"] == "succeeded"
    assert rows["OnceRecorderShip/bomb.yaml"]["outcome"] == "invalid template"
    assert "expands to about" in rows["OnceRecorderShip/bomb.yaml"]["error"]
    assert sorted(result.rendered_map_indexes.values()) == ["Good"], "the bomb never reached a deliver task"


@pytest.mark.usefixtures("released")
def test_a_hung_inline_target_is_reported_timed_out_and_the_run_finishes(deployment: Deployment) -> None:
    deployment.write_index(ORG)
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE", "TargetTimeoutSeconds": 1, "FailureTolerance": 1},
    }
    hung = "100000000002"
    template = {
        "TemplateName": "Web",
        "TemplateDescription": "web accounts, one hangs",
        "IncludeAccounts": {"ByOrgUnits": ["Web"]},
        "HangFor": [hung],
    }
    deployment.add_template("AccountRecorderShip/web.yaml", template)
    deployment.write()

    result = run_dag("starfleet_account_recorder_ship")

    rows = {row["account_id"]: row for row in result.report["rows"]}
    assert rows[hung]["outcome"] == "timed out"
    assert rows[hung]["error"].startswith("timed out after 1 s (Airflow.TargetTimeoutSeconds)")
    assert len(rows) > 1 and all(row["outcome"] == "succeeded" for a, row in rows.items() if a != hung)
    assert set(result.task_states.values()) == {"success"}, "every deliver task finished, the hung one too"
    assert result.state == "success" and result.report["failed"] == 1, "one failure, within the tolerance of 1"
    assert result.report["timed_out"] == 1 and "1 failed (1 timed out)" in result.report["verdict"]
