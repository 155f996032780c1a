"""Bad inputs and faults in real DAG runs (``dag.test()``, Airflow on SQLite): each stays where it belongs.

A bad template fails alone, a hung target times out alone, a lost snapshot still leaves a report that
accounts for every target; the run says why in its report.
"""

from __future__ import annotations

from typing import Any

import pytest

from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import Deployment, run_dag
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
    deployment.add_template("OnceRecorderShip/bomb.yaml", alias_bomb(5))
    deployment.add_template("OnceRecorderShip/good.yaml", {"TemplateName": "Good", "TemplateDescription": "fine"})
    deployment.write()

    result = run_dag("starfleet_once_recorder_ship")

    rows = {row["template"]: row for row in result.report["rows"]}
    assert rows["OnceRecorderShip/good.yaml"]["outcome"] == "succeeded"
    assert rows["OnceRecorderShip/bomb.yaml"]["outcome"] == "invalid template"
    assert "expands to about" in rows["OnceRecorderShip/bomb.yaml"]["error"]
    assert sorted(result.rendered_map_indexes.values()) == ["Good"], "the bomb never reached a deliver task"
