"""What a run leaves in XCom: at most two rows per task instance, each deliver task's result in one row.

Every XCom row costs a database write (~19 ms in-process here) and a row in the UI's XCom tab. A
``-> dict`` return annotation makes Airflow infer ``multiple_outputs`` and push one more row per key;
the factory's tasks turn that off, and the plan hands the snapshot location inside each unit descriptor
instead of a third row.
"""

from __future__ import annotations

from collections import Counter

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import Deployment, RunResult, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

TEMPLATE = {
    "TemplateName": "Everywhere",
    "TemplateDescription": "every account, two regions",
    "IncludeAccounts": {"AllAccounts": True},
    "IncludeRegions": ["us-east-1", "eu-west-1"],
}


def xcom_rows(result: RunResult) -> Counter[tuple[str, int, str]]:
    """(task_id, map_index, key) of every XCom row the run wrote."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=result.run_id, dag_ids=result.dag_id)).all()
        return Counter((row.task_id, row.map_index, row.key) for row in rows)


@pytest.mark.parametrize("mode", ["SQS", "INLINE"])
def test_each_task_writes_at_most_two_xcom_rows(deployment: Deployment, mode: str) -> None:
    with mock_aws():
        queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="xcom-rows")["QueueUrl"]
        deployment.write_index(sample_organisation())
        deployment.ships["RegionRecorderShip"] = {
            "Enabled": True,
            "TemplatePrefix": "RegionRecorderShip/",
            "InvocationQueueUrl": queue_url,
            # small units, so that several deliver tasks are mapped
            "Airflow": {"DeliveryMode": mode, "TargetsPerUnit": 8},
        }
        deployment.add_template("RegionRecorderShip/everywhere.yaml", TEMPLATE)
        deployment.write()
        result = run_dag("starfleet_region_recorder_ship")

    assert result.state == "success"
    rows = xcom_rows(result)
    per_task = Counter((task_id, map_index) for task_id, map_index, _ in rows)
    assert all(count <= 2 for count in per_task.values()), per_task
    assert {key for task_id, _, key in rows if task_id == "plan"} == {"return_value", "summary"}
    delivers = sorted(map_index for task_id, map_index in per_task if task_id == "deliver")
    assert len(delivers) > 1 and delivers == list(range(len(delivers)))
    assert all(rows[("deliver", i, "return_value")] == 1 and per_task[("deliver", i)] == 1 for i in delivers)
    # The report's value, and its verdict for the run's note (run_notes copies it when the run ends).
    assert {key for task_id, _, key in rows if task_id == "report"} == {"return_value", "run_note"}
    # the descriptors carry the snapshot location; the deliver results carry their counts in one row
    units = result.xcom("plan")
    assert len(units) == len(delivers)
    assert {unit["snapshot"] for unit in units} == {result.xcom("plan", key="summary")["snapshot"]}
    assert sum(result.xcom("deliver", map_index=i)["succeeded"] for i in delivers) == result.report["targets"]
