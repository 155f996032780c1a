"""Reviewed runs for real: the IamRoleWorkerShip's DAG under ``dag.test()``, moto's IAM in ten accounts,
answered through Airflow's REST API (or left to time out, swept as the scheduler does).

The organisation has ten accounts, each already holding the role as the template wants it; three drift
(a description, a tag, an inline policy). The reviewed run must find exactly those three in its dry run,
ask, and then apply exactly those three, recording who approved, when and why; a rejected or timed-out
review must change nothing and fail the run. IAM is read back with the tests' own sessions, never
through the ship.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.aws.sessions import assume_role_session
from starfleet_airflow.devtools.synthetic_org import PRODUCTION, account_entry
from tests.airflow_fixtures import Deployment, RunResult
from tests.hitl import Api, Responder, airflow_users, answering, awaiting_task, timing_out  # noqa: F401

pytestmark = pytest.mark.usefixtures("airflow_db", "airflow_users")

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "starfleet_iam_role_worker_ship"
WORKER_ROLE = "starfleet-worker-role"
ROLE = "starfleet-reviewed-audit"
ACCOUNTS = [f"2000000000{i:02d}" for i in range(1, 11)]
NAMES = {account: f"review-{i:02d}" for i, account in enumerate(ACCOUNTS, start=1)}
DRIFTED = [ACCOUNTS[1], ACCOUNTS[4], ACCOUNTS[8]]  # review-02, review-05, review-09

READ_LOGS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["logs:GetLogEvents"], "Resource": "*"}],
}
TEMPLATE: dict[str, Any] = {
    "TemplateName": "ReviewedAuditRole",
    "TemplateDescription": "The audit role, reviewed before it changes",
    "IncludeAccounts": {"AllAccounts": True},
    "RoleName": ROLE,
    "Description": "Read-only audit role",
    "AssumeRolePolicyDocument": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::200000000099:root"}, "Action": "sts:AssumeRole"}
        ],
    },
    "InlinePolicies": {"ReadLogs": READ_LOGS},
    "Tags": {"Owner": "security", "Account": "${AccountId}"},
}


def index() -> dict[str, Any]:
    return {
        "accounts": {
            account: account_entry(account, NAMES[account], [PRODUCTION], ["us-east-1"], {}) for account in ACCOUNTS
        },
        "generated": "2026-11-01T00:00:00Z",
    }


def iam_in(account: str) -> Any:
    """An IAM client acting in ``account`` (moto routes by the assumed role's credentials)."""
    base = boto3.Session(region_name="us-east-1")
    return assume_role_session(base, account, WORKER_ROLE, region="us-east-1", session_name="test").client("iam")


def role_state(account: str) -> dict[str, Any]:
    iam = iam_in(account)
    role = iam.get_role(RoleName=ROLE)["Role"]
    return {
        "Description": role.get("Description", ""),
        "Tags": {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=ROLE)["Tags"]},
        "Inline": {
            name: iam.get_role_policy(RoleName=ROLE, PolicyName=name)["PolicyDocument"]
            for name in iam.list_role_policies(RoleName=ROLE)["PolicyNames"]
        },
    }


def create_roles_as_the_template_wants() -> None:
    for account in ACCOUNTS:
        iam = iam_in(account)
        iam.create_role(
            RoleName=ROLE,
            AssumeRolePolicyDocument=json.dumps(TEMPLATE["AssumeRolePolicyDocument"]),
            Description=TEMPLATE["Description"],
            Tags=[{"Key": "Owner", "Value": "security"}, {"Key": "Account", "Value": account}],
        )
        iam.put_role_policy(RoleName=ROLE, PolicyName="ReadLogs", PolicyDocument=json.dumps(READ_LOGS))


def drift() -> None:
    """Three accounts drift, each differently."""
    iam_in(DRIFTED[0]).update_role(RoleName=ROLE, Description="edited by hand")
    iam_in(DRIFTED[1]).tag_role(RoleName=ROLE, Tags=[{"Key": "Owner", "Value": "someone-else"}])
    wider = copy.deepcopy(READ_LOGS)
    wider["Statement"][0]["Action"].append("logs:DeleteLogGroup")
    iam_in(DRIFTED[2]).put_role_policy(RoleName=ROLE, PolicyName="ReadLogs", PolicyDocument=json.dumps(wider))


@pytest.fixture
def reviewed(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """The real ships/ with a reviewed, inline IamRoleWorkerShip; moto with the roles, three drifted."""
    monkeypatch.setenv("STARFLEET_SHIPS_DIR", str(REPO / "ships"))
    deployment.write_index(index())
    deployment.ships["IamRoleWorkerShip"] = {
        "Enabled": True,
        "TemplatePrefix": "IamRoleWorkerShip/",
        "WorkerRoleToAssume": WORKER_ROLE,
        "Airflow": {
            "DeliveryMode": "INLINE",
            "Review": True,
            "Reviewers": ["alice"],
            "DefaultCommit": True,
            "Retries": 0,
        },
    }
    deployment.add_template("IamRoleWorkerShip/audit.yaml", TEMPLATE)
    deployment.write()
    with mock_aws():
        create_roles_as_the_template_wants()
        drift()
        yield deployment


def run(conf: dict[str, Any] | None = None) -> RunResult:
    from tests.airflow_fixtures import run_dag

    return run_dag(DAG_ID, conf=conf)


def labels(result: RunResult, task_id: str) -> list[str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=result.run_id, task_id=task_id).all()
        return sorted(ti.rendered_map_index or "" for ti in tis)


def states(result: RunResult, task_id: str) -> list[str]:
    return sorted(state for (task, _), state in result.task_states.items() if task == task_id)


def check_no_error(responder: Responder) -> None:
    if responder.error is not None:
        raise AssertionError(f"the responder failed: {responder.error!r}") from responder.error


def drifted_states() -> dict[str, dict[str, Any]]:
    return {account: role_state(account) for account in DRIFTED}


def test_approved_review_applies_exactly_the_three_drifted_accounts(reviewed: Deployment) -> None:
    before = {account: role_state(account) for account in ACCOUNTS}

    def approve(api: Api) -> list[tuple[str, int, Any]]:
        # Asked while waiting: the request lists exactly the drifted accounts, with their diffs.
        run_id, task_id, _ = awaiting_task(DAG_ID)
        detail = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails")
        answers = [("request", 200, detail)]
        answers.append(("bob", *api.answer(DAG_ID, "bob", "Approve", "me too")))  # not a reviewer
        answers.append(("alice", *api.answer(DAG_ID, "alice", "Approve", "drift fixed back, ticket SEC-42")))
        return answers

    with answering(DAG_ID, approve) as responder:
        result = run()
    check_no_error(responder)

    request = responder.answers[0][2]
    assert request["subject"] == "IamRoleWorkerShip: apply the changes to 3 of 10 targets?"
    assert request["options"] == ["Approve", "Reject"] and request["defaults"] == ["Reject"]
    body = request["body"]
    for account in DRIFTED:
        assert f"{NAMES[account]} ({account})" in body
    for account in set(ACCOUNTS) - set(DRIFTED):
        assert account not in body
    assert "update_description Description: 'edited by hand' -> 'Read-only audit role'" in body
    assert "tag_role Owner: 'someone-else' -> 'security'" in body
    assert '\n-        "logs:DeleteLogGroup"\n' in body and '\n+        "logs:GetLogEvents"\n' in body
    assert responder.answers[1][:2] == ("bob", 403)
    assert responder.answers[2][:2] == ("alice", 200)

    assert result.state == "success", result.task_states
    assert states(result, "dry_run") == ["success"] * 10
    assert (result.state_of("review"), result.state_of("approve")) == ("success", "success")
    assert states(result, "apply") == ["success"] * 3
    assert labels(result, "apply") == sorted(f"ReviewedAuditRole: {NAMES[a]} ({a})" for a in DRIFTED)
    assert labels(result, "dry_run") == sorted(f"ReviewedAuditRole: {NAMES[a]} ({a})" for a in ACCOUNTS)

    after = {account: role_state(account) for account in ACCOUNTS}
    for account in ACCOUNTS:
        expected = {
            "Description": "Read-only audit role",
            "Tags": {"Owner": "security", "Account": account},
            "Inline": {"ReadLogs": READ_LOGS},
        }
        assert after[account] == expected, account
        if account not in DRIFTED:
            assert before[account] == expected

    report = result.report
    review = report["review"]
    assert review["outcome"] == "approved"
    assert review["by"] == {"id": "alice", "name": "alice"}
    assert review["comment"] == "drift fixed back, ticket SEC-42"
    assert review["at"].startswith("20")
    assert sorted(entry["account_id"] for entry in review["applied"]) == sorted(DRIFTED)
    assert {entry["account_name"] for entry in review["applied"]} == {NAMES[a] for a in DRIFTED}
    outcomes = {row["account_id"]: row["outcome"] for row in report["rows"]}
    assert outcomes == {account: "applied" if account in DRIFTED else "unchanged" for account in ACCOUNTS}
    assert report["ok"] and report["verdict"].startswith("IamRoleWorkerShip: OK, applied after review, approved by")

    # Airflow's own record: the human-in-the-loop detail and the audit log name the approver.
    from airflow.models.hitl import HITLDetail
    from airflow.models.log import Log
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        keys = {
            (row.task_id, row.key) for row in session.query(XComModel).filter_by(dag_id=DAG_ID, run_id=result.run_id)
        }
        assert {key for task, key in keys if task in ("dry_run", "apply", "report")} == {"return_value"}
        assert {key for task, key in keys if task == "approve"} == {"decision", "return_value"}
        ti = session.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=result.run_id, task_id="approve").one()
        hitl = session.get(HITLDetail, ti.id)
        assert hitl.responded_by == {"id": "alice", "name": "alice"} and hitl.chosen_options == ["Approve"]
        events = (
            session.query(Log)
            .filter_by(dag_id=DAG_ID, run_id=result.run_id, event="update_hitl_detail")
            .order_by(Log.dttm)
            .all()
        )
        # Every attempt is in the audit log, the refused one too.
        assert [event.owner for event in events] == ["bob", "alice"]
        assert "Approve" in events[1].extra and "SEC-42" in events[1].extra


def test_rejected_review_changes_nothing_and_fails_the_run(reviewed: Deployment) -> None:
    before = drifted_states()

    def reject(api: Api) -> list[tuple[str, int, Any]]:
        return [("alice", *api.answer(DAG_ID, "alice", "Reject", "not during the freeze"))]

    with answering(DAG_ID, reject) as responder:
        result = run()
    check_no_error(responder)
    assert responder.answers[0][:2] == ("alice", 200)

    assert result.state == "failed"
    assert result.state_of("approve") == "success"
    assert states(result, "apply") == ["skipped"]  # never expanded: nothing ran
    assert result.state_of("report") == "failed"
    assert drifted_states() == before
    report = result.report
    assert report["review"]["outcome"] == "rejected" and report["review"]["by"]["id"] == "alice"
    assert report["review"]["comment"] == "not during the freeze" and report["review"]["applied"] == []
    assert report["verdict"].startswith("IamRoleWorkerShip: REJECTED, nothing was changed: rejected by alice at ")
    assert sorted(row["outcome"] for row in report["rows"]) == ["not applied"] * 3 + ["unchanged"] * 7


def test_timed_out_review_changes_nothing_and_fails_the_run(
    reviewed: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviewed.ships["IamRoleWorkerShip"]["Airflow"]["ReviewTimeoutSeconds"] = 1
    reviewed.write()
    before = drifted_states()

    with timing_out(DAG_ID) as sweeper:
        result = run()
    check_no_error(sweeper)
    assert sweeper.waited

    assert result.state == "failed"
    assert states(result, "apply") == ["skipped"]
    assert drifted_states() == before
    review = result.report["review"]
    assert (review["outcome"], review["by"], review["applied"]) == ("timed out", None, [])
    assert result.report["verdict"].startswith("IamRoleWorkerShip: REVIEW TIMED OUT, nothing was changed: timed out")


def test_a_target_that_changed_after_the_dry_run_is_not_applied(reviewed: Deployment) -> None:
    """Between the dry run and the approval one drifted account drifts further: only the other two apply."""
    moved = DRIFTED[0]

    def drift_then_approve(api: Api) -> list[tuple[str, int, Any]]:
        iam_in(moved).update_role(RoleName=ROLE, Description="edited again, after the review")
        return [("alice", *api.answer(DAG_ID, "alice", "Approve", None))]

    with answering(DAG_ID, drift_then_approve) as responder:
        result = run()
    check_no_error(responder)

    assert result.state == "failed"  # one reviewed target could not be applied: tolerance 0
    assert role_state(moved)["Description"] == "edited again, after the review"
    for account in DRIFTED[1:]:
        assert role_state(account)["Tags"]["Owner"] == "security"
        assert role_state(account)["Inline"] == {"ReadLogs": READ_LOGS}
    rows = {row["account_id"]: row for row in result.report["rows"]}
    assert rows[moved]["outcome"] == "failed"
    assert "changed since the review" in rows[moved]["error"] and "nothing applied" in rows[moved]["error"]
    assert [rows[a]["outcome"] for a in DRIFTED[1:]] == ["applied", "applied"]
    assert result.report["review"]["comment"] is None


@pytest.mark.parametrize("commit", [True, False], ids=["nothing-to-change", "commit-false"])
def test_no_approval_is_asked_when_there_is_nothing_to_apply(reviewed: Deployment, commit: bool) -> None:
    if commit:  # put the drifted accounts back first: nothing would change
        for account in DRIFTED:
            iam_in(account).delete_role_policy(RoleName=ROLE, PolicyName="ReadLogs")
            iam_in(account).delete_role(RoleName=ROLE)
        for account in DRIFTED:
            iam = iam_in(account)
            iam.create_role(
                RoleName=ROLE,
                AssumeRolePolicyDocument=json.dumps(TEMPLATE["AssumeRolePolicyDocument"]),
                Description=TEMPLATE["Description"],
                Tags=[{"Key": "Owner", "Value": "security"}, {"Key": "Account", "Value": account}],
            )
            iam.put_role_policy(RoleName=ROLE, PolicyName="ReadLogs", PolicyDocument=json.dumps(READ_LOGS))
    before = drifted_states()

    with answering(DAG_ID, lambda api: [("unexpected", 0, None)]) as responder:
        result = run({"commit": commit})
    assert not responder.waited and responder.answers == []

    assert result.state == "success"
    assert (result.state_of("approve"), states(result, "apply")) == ("skipped", ["skipped"])
    assert drifted_states() == before
    review = result.report["review"]
    if commit:
        assert review["outcome"] == "nothing to change" and review["would_change"] == 0
    else:
        assert review["outcome"] == "dry run only" and review["would_change"] == 3
        assert sorted(row["outcome"] for row in result.report["rows"]).count("not applied") == 3
