"""Runs started through the REST API: a narrowing conf, a widening conf, a backfill."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from itertools import product
from typing import Any

from starfleet_airflow.devtools.stack.api import AirflowApi, StackEnv
from tests.e2e.conftest import active_account_ids, drain_queue, expected_targets

AWS_CONFIG = "starfleet_aws_config_worker_ship"
AWS_CONFIG_QUEUE = "starfleet-aws-config-worker"
IAM_ROLE = "starfleet_iam_role_worker_ship"
IAM_ROLE_QUEUE = "starfleet-iam-role-worker"
IAM_ROLE_TEMPLATE = "IamRoleWorkerShip/SecurityAuditRole.yaml"


def test_a_narrowing_conf_delivers_exactly_the_narrowed_targets(
    stack: StackEnv, api: AirflowApi, index: dict[str, Any], unpaused, run_id: str
) -> None:
    first, second = active_account_ids(index)[:2]
    second_name = index["accounts"][second]["Name"]
    regions = ["us-east-1", "eu-west-1"]  # enabled in every account (not opt-in regions)
    drain_queue(stack, AWS_CONFIG_QUEUE)
    unpaused(AWS_CONFIG)

    api.trigger(AWS_CONFIG, run_id, {"accounts": [first, second_name], "regions": regions})
    run = api.wait_for_run(AWS_CONFIG, run_id, timeout=300)

    assert run["state"] == "success"
    bodies = drain_queue(stack, AWS_CONFIG_QUEUE).get(run_id, [])
    delivered = sorted((body["StarbaseAssignedAccount"], body["StarbaseAssignedRegion"]) for body in bodies)
    assert delivered == sorted(product([first, second], regions))
    assert {body["TemplateName"] for body in bodies} == {"AwsConfigEnablement"}


def test_a_widening_conf_fails_the_run_and_the_api_says_why(
    stack: StackEnv, api: AirflowApi, index: dict[str, Any], unpaused, run_id: str
) -> None:
    outsider = "999999999999"
    assert outsider not in index["accounts"]
    unpaused(AWS_CONFIG)

    api.trigger(AWS_CONFIG, run_id, {"accounts": [outsider]})
    run = api.wait_for_run(AWS_CONFIG, run_id, timeout=300)

    assert run["state"] == "failed"
    plan = next(ti for ti in api.task_instances(AWS_CONFIG, run_id) if ti["task_id"] == "plan")
    assert plan["state"] == "failed"
    assert plan["try_number"] == 1, "a refusal is not retried"
    # The reason, from the task instance itself: no log is opened.
    assert plan["rendered_map_index"].startswith("refused: ")
    assert outsider in plan["rendered_map_index"]
    assert run_id not in drain_queue(stack, AWS_CONFIG_QUEUE), "a refused run sends nothing"


def test_a_backfill_created_through_the_api_makes_one_run_per_interval(
    stack: StackEnv, api: AirflowApi, index: dict[str, Any], unpaused
) -> None:
    # Days no earlier run of this stack is likely to have (a backfill skips days that already have a run).
    start = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=random.randrange(600))
    days = [start + timedelta(days=n) for n in range(2)]
    # One backfill per DAG at a time: one left unfinished by an interrupted earlier session would refuse ours.
    for earlier in api.call("GET", "/api/v2/backfills", params={"dag_id": IAM_ROLE})["backfills"]:
        if earlier["completed_at"] is None:
            api.call("PUT", f"/api/v2/backfills/{earlier['id']}/cancel")
    drain_queue(stack, IAM_ROLE_QUEUE)
    unpaused(IAM_ROLE)

    backfill = api.create_backfill(IAM_ROLE, days[0].isoformat(), days[-1].isoformat())

    assert backfill["dag_id"] == IAM_ROLE
    wanted = {day.isoformat() for day in days}
    runs = [
        r
        for r in api.dag_runs(IAM_ROLE, run_type="backfill")
        if datetime.fromisoformat(r["logical_date"]).isoformat() in wanted
    ]
    assert sorted(datetime.fromisoformat(r["logical_date"]) for r in runs) == days
    finished = {r["dag_run_id"]: api.wait_for_run(IAM_ROLE, r["dag_run_id"], timeout=400) for r in runs}
    members = [account for account, _ in expected_targets(index, "IamRoleWorkerShip", IAM_ROLE_TEMPLATE)]
    assert 0 < len(members) < len(active_account_ids(index)), "every member account, not the management account"
    sent = drain_queue(stack, IAM_ROLE_QUEUE)
    for run_id, run in finished.items():
        assert run["state"] == "success", run_id
        day = datetime.fromisoformat(run["logical_date"])
        # The run's own interval: DAILY, so [logical date, +1 day).
        assert datetime.fromisoformat(run["data_interval_start"]) == day
        assert datetime.fromisoformat(run["data_interval_end"]) == day + timedelta(days=1)
        # Each run fanned out on its own, every message naming its run.
        accounts = sorted(body["StarbaseAssignedAccount"] for body in sent.get(run_id, []))
        assert accounts == sorted(members), run_id
