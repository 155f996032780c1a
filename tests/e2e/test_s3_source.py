"""The S3 invocation source for real: a template put into the template bucket reaches the triggerer's asset
watcher through the bucket's event notification (S3 -> SQS, set up by the stand-in) and starts a run of the
S3-sourced ship that renders only that template."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any

import yaml

from starfleet_airflow.devtools.stack.api import AirflowApi, StackEnv
from starfleet_airflow.devtools.stack.settings import REPO
from tests.e2e.conftest import active_account_ids, drain_queue

IAM_ROLE = "starfleet_iam_role_worker_ship"
IAM_ROLE_QUEUE = "starfleet-iam-role-worker"
TEMPLATE_BUCKET = "starfleet-templates"


def _asset_runs_since(api: AirflowApi, since: datetime) -> list[dict[str, Any]]:
    runs = api.dag_runs(IAM_ROLE, run_type="asset_triggered")
    return [r for r in runs if datetime.fromisoformat(r["queued_at"]) >= since]


def test_a_template_put_into_the_bucket_starts_a_run_of_only_that_template(
    stack: StackEnv, api: AirflowApi, index: dict[str, Any], unpaused
) -> None:
    chosen = active_account_ids(index)[2:4]
    name = f"E2eRole{uuid.uuid4().hex[:6]}"
    template = yaml.safe_load((REPO / "templates/IamRoleWorkerShip/SecurityAuditRole.yaml").read_text())
    template.update({"TemplateName": name, "IncludeAccounts": {"ByIds": chosen}, "RoleName": name.lower()})
    key = f"IamRoleWorkerShip/e2e/{name}.yaml"
    unpaused(IAM_ROLE)
    # Whatever the unpaused DAG's own scheduled run does, this test reads only the asset-triggered run.
    drain_queue(stack, IAM_ROLE_QUEUE)
    put_at = datetime.now(timezone.utc)

    stack.aws_client("s3").put_object(Bucket=TEMPLATE_BUCKET, Key=key, Body=yaml.safe_dump(template).encode())
    deadline = time.monotonic() + 180
    while not (runs := _asset_runs_since(api, put_at)):
        assert time.monotonic() < deadline, "no asset-triggered run within 180 s of the put"
        time.sleep(2)

    assert len(runs) == 1
    run = api.wait_for_run(IAM_ROLE, runs[0]["dag_run_id"], timeout=300)
    assert run["state"] == "success"
    summary = api.xcom(IAM_ROLE, run["dag_run_id"], "plan", key="summary")
    assert [t["key"] if isinstance(t, dict) else t for t in summary["templates"]] == [key]
    bodies = drain_queue(stack, IAM_ROLE_QUEUE).get(run["dag_run_id"], [])
    assert sorted(body["StarbaseAssignedAccount"] for body in bodies) == sorted(chosen)
    assert {body["TemplateName"] for body in bodies} == {name}
