"""The S3 invocation source: the shared asset and its SQS watcher, and an asset-triggered run.

The run test goes through Airflow's own machinery: the asset event is registered by Airflow's
``AssetManager`` with the payload the SQS trigger produces, the run is created the way the scheduler
creates asset-triggered runs (consuming that event), and its tasks run in process.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from starfleet_airflow.airflow.template_events import ASSET_NAME
from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.resolve import resolve_targets
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import Deployment, run_existing_dag_run, sync_dags_to_db
from tests.fixtures.factory_ships.recorders import RegionPayload

pytestmark = pytest.mark.usefixtures("airflow_db")

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/starfleet-template-events"
BUCKET = "starfleet-templates"
ORG = sample_organisation()
WEB = {
    "TemplateName": "Web",
    "TemplateDescription": "web accounts",
    "IncludeAccounts": {"ByOrgUnits": ["Web"]},
    "IncludeRegions": ["us-east-1"],
}
DATA = {**WEB, "TemplateName": "Data", "IncludeAccounts": {"ByOrgUnits": ["Data"]}}


def s3_deployment(deployment: Deployment, sources: dict[str, list[str]], queue: str | None = QUEUE_URL) -> None:
    deployment.write_index(ORG)
    deployment.starfleet.update({"TemplateLocation": f"s3://{BUCKET}/templates/"})
    if queue:
        deployment.starfleet["TemplateEventsQueueUrl"] = queue
    for ship, ship_sources in sources.items():
        deployment.ships[ship] = {
            "Enabled": True,
            "TemplatePrefix": f"{ship}/",
            "InvocationSources": ship_sources,
            "EventBridgeTimedFrequency": "DAILY",
            "Airflow": {"DeliveryMode": "INLINE"},
        }
    deployment.write()


def test_ships_listing_s3_share_one_watched_asset(deployment: Deployment) -> None:
    from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger
    from airflow.sdk import Asset, AssetOrTimeSchedule

    from starfleet_airflow.airflow.dags import build_dags

    s3_deployment(
        deployment,
        {
            "RegionRecorderShip": ["S3"],
            "AccountRecorderShip": ["S3", "EVENTBRIDGE_TIMED_EVENT"],
            "OnceRecorderShip": ["EVENTBRIDGE_TIMED_EVENT"],
        },
    )
    dags = build_dags()
    only_s3 = dags["starfleet_region_recorder_ship"]
    both = dags["starfleet_account_recorder_ship"]
    timed = dags["starfleet_once_recorder_ship"]

    asset = only_s3.timetable.asset_condition
    assert isinstance(asset, Asset)
    assert asset.name == ASSET_NAME
    assert asset.uri == f"s3://{BUCKET}/templates"  # Airflow drops the trailing slash
    [watcher] = asset.watchers
    assert isinstance(watcher.trigger, SqsSensorTrigger)
    assert watcher.trigger.sqs_queue == QUEUE_URL
    assert watcher.trigger.max_messages == 10

    assert isinstance(both.timetable, AssetOrTimeSchedule)
    assert both.timetable.asset_condition == asset  # one watcher for everyone: no competing consumers
    assert "DAILY" in both.doc_md and "S3: a template" in both.doc_md
    from airflow.sdk import CronDataIntervalTimetable

    assert isinstance(timed.timetable, CronDataIntervalTimetable)  # timed only: no asset


def test_s3_without_a_queue_is_documented_not_scheduled(deployment: Deployment) -> None:
    from starfleet_airflow.airflow.dags import build_dags

    s3_deployment(deployment, {"RegionRecorderShip": ["S3"]}, queue=None)
    dag = build_dags()["starfleet_region_recorder_ship"]
    assert dag.schedule is None  # manual only
    assert "TemplateEventsQueueUrl is not set" in dag.doc_md


def s3_event(*keys: str, bucket: str = BUCKET) -> str:
    return json.dumps(
        {
            "Records": [
                {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
                for key in keys
            ]
        }
    )


def asset_triggered_run(dag_id: str, message_bodies: list[str]) -> str:
    """Register the trigger's asset event and create the run as the scheduler does; returns the run id."""
    from airflow.assets.manager import AssetManager
    from airflow.models.asset import AssetModel
    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.sdk import timezone
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import select

    payload: dict[str, Any] = {
        "status": "success",
        "message_batch": [{"MessageId": f"m{i}", "Body": body} for i, body in enumerate(message_bodies)],
    }
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.name == ASSET_NAME))
        event = AssetManager.register_asset_change(
            asset=asset, extra={"from_trigger": True, "payload": payload}, session=session
        )
        dag = SerializedDagModel.get_dag(dag_id, session=session)
        now = timezone.utcnow()
        dag_run = dag.create_dagrun(
            run_id=DagRun.generate_run_id(run_type=DagRunType.ASSET_TRIGGERED, logical_date=None, run_after=now),
            logical_date=None,
            data_interval=None,
            run_after=now,
            run_type=DagRunType.ASSET_TRIGGERED,
            triggered_by=DagRunTriggeredByType.ASSET,
            state=DagRunState.QUEUED,
            session=session,
        )
        dag_run.consumed_asset_events.append(event)
        session.commit()
        return dag_run.run_id


def test_an_asset_triggered_run_renders_only_the_templates_the_events_name(deployment: Deployment) -> None:
    dag_id = "starfleet_region_recorder_ship"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for name, template in (("web", WEB), ("data", DATA)):
            s3.put_object(Bucket=BUCKET, Key=f"templates/RegionRecorderShip/{name}.yaml", Body=yaml.safe_dump(template))
        s3_deployment(deployment, {"RegionRecorderShip": ["S3"], "AccountRecorderShip": ["S3"]})
        sync_dags_to_db()

        bodies = [
            s3_event("templates/RegionRecorderShip/web.yaml"),
            s3_event("templates/AccountRecorderShip/other.yaml"),  # another ship's template: ignored here
            s3_event("templates/RegionRecorderShip/data.yaml", bucket="someone-elses-bucket"),  # ignored
        ]
        result = run_existing_dag_run(dag_id, asset_triggered_run(dag_id, bodies))

    expected = resolve_targets(RegionPayload().load(WEB), AccountIndex.from_dict(ORG), FanOutStrategy.ACCOUNT_REGION)
    assert result.state == "success"
    assert {row["template"] for row in result.report["rows"]} == {"RegionRecorderShip/web.yaml"}
    assert sorted((row["account_id"], row["region"]) for row in result.report["rows"]) == sorted(expected)
