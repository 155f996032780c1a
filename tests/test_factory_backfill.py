"""Backfills: one run per schedule interval, each fanning out normally, ships seeing the run's interval."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import Deployment, run_existing_dag_run, sync_dags_to_db

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_ID = "starfleet_account_recorder_ship"
DAY = timedelta(days=1)
FROM = datetime(2025, 3, 1, tzinfo=timezone.utc)
TO = datetime(2025, 3, 3, tzinfo=timezone.utc)


def test_backfill_creates_one_run_per_interval_and_each_fans_out(deployment: Deployment) -> None:
    from airflow.models.backfill import ReprocessBehavior, _create_backfill, _do_dry_run
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    organisation = sample_organisation()
    index = AccountIndex.from_dict(organisation)
    deployment.write_index(organisation)
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "InvocationSources": ["EVENTBRIDGE_TIMED_EVENT"],
        "EventBridgeTimedFrequency": "DAILY",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.add_template(
        "AccountRecorderShip/web.yaml",
        {"TemplateName": "Web", "TemplateDescription": "web accounts", "IncludeAccounts": {"ByOrgUnits": ["Web"]}},
    )
    deployment.write()
    sync_dags_to_db()

    # What `airflow backfill create --dag-id ... --from-date 2025-03-01 --to-date 2025-03-03 --dry-run` prints.
    with create_session() as session:
        planned = list(
            _do_dry_run(
                dag_id=DAG_ID,
                from_date=FROM,
                to_date=TO,
                reverse=False,
                reprocess_behavior=ReprocessBehavior.NONE,
                session=session,
            )
        )
    assert [info.logical_date for info in planned] == [FROM, FROM + DAY, TO]
    assert all(info.data_interval.end - info.data_interval.start == DAY for info in planned)

    backfill = _create_backfill(
        dag_id=DAG_ID,
        from_date=FROM,
        to_date=TO,
        max_active_runs=3,
        reverse=False,
        dag_run_conf=None,
        triggering_user_name="test",
    )
    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.backfill_id == backfill.id).order_by(DagRun.logical_date))
        run_ids = [(run.run_id, run.run_type) for run in runs]
    assert len(run_ids) == 3 and all(run_type == "backfill" for _, run_type in run_ids)

    web = sorted(index.by_org_unit("Web"))
    for (run_id, _), day in zip(run_ids, [FROM, FROM + DAY, TO], strict=True):
        result = run_existing_dag_run(DAG_ID, run_id)
        assert result.state == "success"
        assert len([i for i in result.rendered_map_indexes if i >= 0]) == len(web), "one unit per account"
        rows = result.report["rows"]
        assert sorted(row["account_id"] for row in rows) == web
        for row in rows:
            assert row["detail"]["dag_run_id"] == run_id
            assert row["detail"]["logical_date"] == day.isoformat()
            assert row["detail"]["data_interval_start"] == day.isoformat()
            assert row["detail"]["data_interval_end"] == (day + DAY).isoformat()
